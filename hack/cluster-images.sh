#!/usr/bin/env bash
# Builds the images the test cluster runs and imports them into its
# containerd (hack/cluster-up.sh calls it; it can run again on a running
# cluster after a code change). Nothing can be pulled here, so every image
# is made locally with hack/mkimage.sh:
#
#   localhost/pause:local          the pod sandbox: a static Go program that
#                                  waits for a signal and reaps children
#   localhost/busybox:local        the provision image (init container
#                                  "prepare"): Debian's busybox-static, every
#                                  applet linked (sh, base64, sha256sum, unzip, tar, wget ...)
#   localhost/kubeless-python:3.11 the python3.11 runtime, as
#                                  docker/runtime/python/Dockerfile.3.11 makes
#                                  it: kubeless-host + runtimes/python/kubeless.py,
#                                  FUNC_PROCESS, UID 1000, /kubeless; on a
#                                  Debian 12 rootfs (debootstrap, python3 +
#                                  python3-pip) with the examples' wheel folder
#                                  in /wheels for offline pip installs. It is
#                                  the installation image too: cluster-up.sh
#                                  points the catalog and the controller's
#                                  --runtime-image at it.
#   localhost/kubeless-nodejs:18   the nodejs18 runtime, as
#                                  docker/runtime/nodejs/Dockerfile.18 makes
#                                  it: kubeless-host + runtimes/nodejs
#                                  (kubeless.js, lib/), FUNC_PROCESS, UID 1000,
#                                  /kubeless; on a Debian 12 rootfs with its
#                                  nodejs (18.x). No installation image (npm):
#                                  pods reach no registry.
#
# Each Debian rootfs (the slow part: about 1 min each the first time) is
# cached as a layer tar in $KUBELESS_CLUSTER_CACHE (default
# ~/.cache/kubeless/cluster); the top layers (host binary, worker, wheel)
# are rebuilt every run (seconds).
# The Debian mirror is the one apt uses, read from /etc/apt at run time.
#
# --build-only builds the archives without importing them (no cluster needed).
#
# Env: KUBELESS_CLUSTER_STATE (default /tmp/kubeless-cluster), the running
# cluster's folder, for containerd's socket.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${KUBELESS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/cluster}
state=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster}
sock=$state/containerd/containerd.sock
img=$cache/images
export PATH=/usr/local/go/bin:/usr/sbin:/sbin:$PATH GOFLAGS=-buildvcs=false
mkdir -p "$img"

log() { printf 'cluster-images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
ctr_() { ctr --address "$sock" -n k8s.io "$@"; }

build_only=false
[ "${1:-}" = --build-only ] && build_only=true
$build_only || [ -S "$sock" ] || die "no containerd at $sock: start the cluster (hack/cluster-up.sh)"

# import ARCHIVE [EXTRA_NAME...]: imports, then tags the image with the extra names.
import() {
  local archive=$1 name
  shift
  $build_only && return 0
  name=$(ctr_ images import "$archive" 2>&1 | awk '/^unpacking/ {print $2; exit}')
  [ -n "$name" ] || die "import of $archive failed"
  for extra in "$@"; do
    ctr_ images tag --force "$name" "$extra" >/dev/null
  done
  log "imported $name${*:+ (also $*)}"
}

# ---- pause -------------------------------------------------------------------
build_pause() {
  local src=$img/pause-src root=$img/pause-root
  mkdir -p "$src" "$root"
  printf 'module kubeless.local/pause\n\ngo 1.22\n' > "$src/go.mod"
  cat > "$src/main.go" <<'EOF'
// pause holds a pod's namespaces: it waits for SIGTERM or SIGINT and reaps
// the children it inherits as PID 1.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
EOF
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$root/pause" .)
  "$here/mkimage.sh" -c /pause localhost/pause:local "$img/pause.tar" "$root"
}

# ---- busybox -----------------------------------------------------------------
build_busybox() {
  local bb=/bin/busybox root=$img/busybox-root
  # ldd fails on a static binary
  if [ ! -x $bb ] || ldd $bb >/dev/null 2>&1; then
    die "$bb is not Debian's busybox-static (apt-get install busybox-static)"
  fi
  rm -rf "$root"
  mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp $bb "$root/bin/busybox"
  local a
  for a in $("$root/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nkubeless:x:1000:1000::/tmp:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\nkubeless:x:1000:\n' > "$root/etc/group"
  "$here/mkimage.sh" -c sh localhost/busybox:local "$img/busybox.tar" "$root"
}

# ---- python3.11 ----------------------------------------------------------------
# debian_mirror: the first URI apt uses for bookworm (deb822 .sources files,
# then the one-line format).
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      /^[[:space:]]*$/ { if (uri != "" && suites ~ /(^| )bookworm( |$)/) { print uri; exit } uri = ""; suites = ""; next }
      $1 == "URIs:" { uri = $2 }
      $1 == "Suites:" { $1 = ""; suites = $0 " " }
      END { if (uri != "" && suites ~ /(^| )bookworm( |$)/) print uri }' "$f"
  done | head -1 | grep . && return 0
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' | grep .
}

# debian_base NAME PACKAGES: a Debian 12 rootfs (debootstrap minbase) with
# the comma-separated PACKAGES, as a layer tar cached as NAME-bookworm-base.tar.
debian_base() {
  local name=$1 packages=$2
  local base=$img/$name-bookworm-base.tar
  [ -f "$base" ] && { echo "$base"; return; }
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  local mirror root=$img/$name-rootfs
  mirror=$(debian_mirror) || die "cannot find a bookworm mirror in /etc/apt"
  rm -rf "$root"
  log "debootstrap of Debian 12 with $packages (about 1 min)"
  local start=$SECONDS
  # debootstrap mounts proc and sys in the target while it runs: never leave them behind
  trap 'umount -l "'"$root"'/proc" "'"$root"'/sys" 2>/dev/null || true' EXIT
  debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" > "$img/debootstrap-$name.log" 2>&1 ||
    die "debootstrap failed; see $img/debootstrap-$name.log"
  umount -l "$root/proc" "$root/sys" 2>/dev/null || true
  trap - EXIT
  log "debootstrap took $((SECONDS - start))s"
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*
  tar --sort=name --numeric-owner --mtime='2000-01-01' \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' \
    -C "$root" -cf "$base.tmp" .
  mv "$base.tmp" "$base"
  rm -rf "$root"
  echo "$base"
}

build_python() {
  local base top=$img/python-top
  base=$(debian_base python3.11 python3,python3-pip)
  rm -rf "$top"
  mkdir -p "$top/usr/local/bin" "$top/kubeless-runtime/python" "$top/kubeless" "$top/home/kubeless" "$top/wheels" "$top/etc"
  (cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$top/usr/local/bin/kubeless-host" ./cmd/kubeless-host)
  cp "$repo/runtimes/python/kubeless.py" "$top/kubeless-runtime/python/kubeless.py"
  python3 "$repo/examples/python/deps-src/build_wheel.py" "$repo/examples/python/deps-src/kubeless-greeting" "$top/wheels" >/dev/null
  # the base's passwd and group, plus the runtime's user (as useradd --uid 1000 kubeless)
  tar -xOf "$base" ./etc/passwd > "$top/etc/passwd"
  tar -xOf "$base" ./etc/group > "$top/etc/group"
  echo 'kubeless:x:1000:1000::/home/kubeless:/bin/sh' >> "$top/etc/passwd"
  echo 'kubeless:x:1000:' >> "$top/etc/group"
  chown 1000:1000 "$top/kubeless" "$top/home/kubeless"
  "$here/mkimage.sh" \
    -e 'FUNC_PROCESS=python3.11 /kubeless-runtime/python/kubeless.py' \
    -e KUBELESS_WORKERS=1 -e KUBELESS_WORKER_CONCURRENCY=16 -e PYTHONUNBUFFERED=1 \
    -e PIP_IGNORE_INSTALLED=1 -e PIP_BREAK_SYSTEM_PACKAGES=1 \
    -u 1000 -w /kubeless -c /usr/local/bin/kubeless-host \
    localhost/kubeless-python:3.11 "$img/kubeless-python.tar" "$base" "$top"
}

# ---- nodejs18 --------------------------------------------------------------------
# As docker/runtime/nodejs/Dockerfile.18 makes it, on Debian 12's nodejs
# (18.x): kubeless-host + runtimes/nodejs (kubeless.js and lib/), UID 1000.
# No npm: pods reach no registry, so functions with dependencies are not
# tested here.
build_nodejs() {
  local base top=$img/nodejs-top
  base=$(debian_base nodejs18 nodejs)
  rm -rf "$top"
  mkdir -p "$top/usr/local/bin" "$top/kubeless-runtime" "$top/kubeless" "$top/home/node" "$top/etc"
  (cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$top/usr/local/bin/kubeless-host" ./cmd/kubeless-host)
  mkdir -p "$top/kubeless-runtime/nodejs"
  cp -r "$repo/runtimes/nodejs/kubeless.js" "$repo/runtimes/nodejs/lib" "$top/kubeless-runtime/nodejs/"
  tar -xOf "$base" ./etc/passwd > "$top/etc/passwd"
  tar -xOf "$base" ./etc/group > "$top/etc/group"
  echo 'node:x:1000:1000::/home/node:/bin/sh' >> "$top/etc/passwd"
  echo 'node:x:1000:' >> "$top/etc/group"
  chown 1000:1000 "$top/kubeless" "$top/home/node"
  "$here/mkimage.sh" \
    -e 'FUNC_PROCESS=node /kubeless-runtime/nodejs/kubeless.js' \
    -e KUBELESS_WORKERS=1 -e KUBELESS_WORKER_CONCURRENCY=256 \
    -u 1000 -w /kubeless -c /usr/local/bin/kubeless-host \
    localhost/kubeless-nodejs:18 "$img/kubeless-nodejs.tar" "$base" "$top"
}

start=$SECONDS
build_pause
import "$img/pause.tar"
build_busybox
import "$img/busybox.tar"
build_python
import "$img/kubeless-python.tar"
# containerd has it now; the cached base layer is what saves time
$build_only || rm -f "$img/kubeless-python.tar"
build_nodejs
import "$img/kubeless-nodejs.tar"
$build_only || rm -f "$img/kubeless-nodejs.tar"
log "images ready in $((SECONDS - start))s"
