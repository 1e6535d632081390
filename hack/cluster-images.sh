#!/usr/bin/env bash
# Builds the images the test cluster runs and imports them into its
# containerd (hack/cluster-up.sh calls it; it can run again on a running
# cluster after a code change). Nothing can be pulled here, so every image
# is made locally: the two that are not Kubeless's with hack/mkimage.sh, the
# others from the Dockerfiles of docker/ with hack/build-images.sh:
#
#   localhost/pause:local          the pod sandbox: a static Go program that
#                                  waits for a signal and reaps children
#   localhost/busybox:local        the provision image (init container
#                                  "prepare"): Debian's busybox-static, every
#                                  applet linked (sh, base64, sha256sum, unzip, tar, wget ...)
#   kubeless/...                   the images of docker/ that Debian 12 gives
#                                  a base (python 3.11, nodejs 18, ruby 3.1,
#                                  php 8.2, go 1.26: runtime and
#                                  installation/compilation images; the
#                                  controller), built from their Dockerfiles
#                                  by hack/build-images.sh -d (buildah, on a
#                                  debootstrap of Debian 12), under the names
#                                  of the catalog, so kubeless.yaml's catalog
#                                  runs unchanged.
#
# The first time takes long (the Debian base, the language packages, Go
# builds: see hack/build-images.sh); afterwards buildah's layer cache rebuilds
# only what changed and an image already imported is not imported again.
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

# ---- the Kubeless images ----------------------------------------------------------
# hack/build-images.sh -d: every image of docker/ that Debian 12 gives a base,
# with buildah (cached by content: unchanged Dockerfiles and inputs build
# nothing), each exported as a docker archive and imported into the
# cluster's containerd under its catalog name (kubeless/..., which the
# import completes with the default domain, as kubelet does when it looks
# the catalog's names up), by images_import (hack/lib-images.sh): an image
# whose buildah id was imported before and that containerd still has is not
# exported again, and the image a new one replaces is removed.
import_built() {
  local image
  while IFS= read -r image; do
    images_import "$image" "$sock" "$img/imported/${image//[\/:]/_}" || die "the import of $image failed"
  done
}

start=$SECONDS
build_pause
import "$img/pause.tar"
build_busybox
import "$img/busybox.tar"
images_cache=${KUBELESS_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/images}
# shellcheck source=hack/lib-images.sh
. "$here/lib-images.sh"
images_store "$images_cache"
# the builders' output in a log; here, what was built and how long it took
blog=$img/build-images.log
[ -d "$state" ] && blog=$state/build-images.log
if ! built=$(KUBELESS_IMAGES_CACHE=$images_cache "$here/build-images.sh" -d 2>"$blog"); then
  tail -40 "$blog" >&2
  die "an image did not build; see $blog"
fi
grep -E '^(== .* built in|build-images:)' "$blog" | sed 's/^/cluster-images: /' >&2
$build_only || import_built <<<"$built"
log "images ready in $((SECONDS - start))s"
