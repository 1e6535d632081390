#!/usr/bin/env python3
"""Build a pure-Python wheel with the standard library only.

    python3 build_wheel.py <project folder> <wheel folder>

The examples install their Python dependency offline, from a folder of
wheels (PIP_NO_INDEX=1, PIP_FIND_LINKS=<folder>). `pip wheel` would need
setuptools and wheel, which a fresh machine may lack and cannot download
here, so this script writes the wheel itself: the project's packages (the
folders named by [tool.setuptools] packages, or every folder of the project
with an __init__.py), a METADATA from [project], WHEEL and RECORD. The
wheel is the same bytes every time (fixed timestamps, sorted entries).
"""

import base64
import hashlib
import os
import re
import sys
import zipfile

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

EPOCH = (1980, 1, 1, 0, 0, 0)


def read_project(folder):
    with open(os.path.join(folder, "pyproject.toml"), "rb") as f:
        raw = f.read()
    if tomllib is not None:
        doc = tomllib.loads(raw.decode())
        project = doc.get("project", {})
        packages = doc.get("tool", {}).get("setuptools", {}).get("packages")
        return project, packages
    # A small reader for the simple `key = "value"` lines of [project].
    project, section = {}, None
    for line in raw.decode().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        m = re.match(r'^([A-Za-z-]+)\s*=\s*"([^"]*)"', line)
        if m and section == "project":
            project[m.group(1)] = m.group(2)
    return project, None


def normalize(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: build_wheel.py <project folder> <wheel folder>\n")
        return 2
    folder, out = argv[1], argv[2]
    project, packages = read_project(folder)
    name, version = project.get("name"), project.get("version")
    if not name or not version:
        sys.stderr.write("%s/pyproject.toml: [project] needs name and version\n" % folder)
        return 1
    if packages is None:
        packages = sorted(
            d for d in os.listdir(folder)
            if os.path.isfile(os.path.join(folder, d, "__init__.py"))
        )
    files = []  # (name in the wheel, bytes)
    for pkg in packages:
        root = os.path.join(folder, *pkg.split("."))
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for fn in sorted(filenames):
                if fn.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(dirpath, fn)
                arc = os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, "rb") as f:
                    files.append((arc, f.read()))
    if not files:
        sys.stderr.write("%s: no package to put in the wheel\n" % folder)
        return 1

    dist = normalize(name)
    info = "%s-%s.dist-info" % (dist, version)
    meta = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    if project.get("description"):
        meta.append("Summary: " + project["description"])
    if project.get("requires-python"):
        meta.append("Requires-Python: " + project["requires-python"])
    files.append((info + "/METADATA", ("\n".join(meta) + "\n").encode()))
    files.append((info + "/WHEEL", (
        "Wheel-Version: 1.0\n"
        "Generator: kubeless-examples build_wheel.py\n"
        "Root-Is-Purelib: true\n"
        "Tag: py3-none-any\n").encode()))
    record = []
    for arc, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
    record.append(info + "/RECORD,,")
    files.append((info + "/RECORD", ("\n".join(record) + "\n").encode()))

    os.makedirs(out, exist_ok=True)
    wheel = os.path.join(out, "%s-%s-py3-none-any.whl" % (dist, version))
    tmp = wheel + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            zi = zipfile.ZipInfo(arc, EPOCH)
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    os.replace(tmp, wheel)
    print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
