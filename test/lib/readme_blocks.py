#!/usr/bin/env python3
"""The shell examples of a markdown file, for test/readme.bats.

    readme_blocks.py FILE list          one line per ```sh block: its index, "run" or
                                        "skip: <why>", and the heading it is under
    readme_blocks.py FILE block N       the text of block N
    readme_blocks.py FILE expect N OUT  checks that the output file OUT holds, in order,
                                        every "# → <text>" expectation of block N ("…" in
                                        a text matches anything); exit 1 naming the first
                                        one missing

A block is skipped when the line before its fence is
"<!-- readme-test: skip: <why> -->".
"""
import re
import sys

SKIP = re.compile(r"<!--\s*readme-test:\s*skip:\s*(.*?)\s*-->")


def blocks(path):
    out, heading, prev, cur = [], "", "", None
    for line in open(path, encoding="utf-8").read().split("\n"):
        if cur is not None:
            if line.strip() == "```":
                out.append(cur)
                cur = None
            else:
                cur["text"].append(line)
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.strip() in ("```sh", "```bash", "```shell"):
            m = SKIP.search(prev)
            cur = {"heading": heading, "skip": m.group(1) if m else "", "text": []}
        if line.strip():
            prev = line
    if cur is not None:
        sys.exit(f"{path}: a ```sh block under {cur['heading']!r} is not closed")
    return out


def expectations(text):
    return [m.group(1).strip() for m in re.finditer(r"#\s*→\s*(.+)$", "\n".join(text), re.M)]


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    bs = blocks(path)
    if cmd == "list":
        for i, b in enumerate(bs):
            print(f"{i}\t{'skip: ' + b['skip'] if b['skip'] else 'run'}\t{b['heading']}")
        return 0
    b = bs[int(sys.argv[3])]
    if cmd == "block":
        print("\n".join(b["text"]))
        return 0
    if cmd == "expect":
        out = open(sys.argv[4], encoding="utf-8", errors="replace").read()
        pos = 0
        for want in expectations(b["text"]):
            for part in [p.strip() for p in want.split("…") if p.strip()]:
                i = out.find(part, pos)
                if i < 0:
                    print(f"expected {want!r} (the part {part!r}) in the output, after what the previous expectations matched", file=sys.stderr)
                    return 1
                pos = i + len(part)
        return 0
    sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
