#!/usr/bin/env bash
# Builds Traefik, the ingress controller of the test cluster
# (hack/cluster-ingress.sh), from the Go module proxy, because no release
# binary or image can be downloaded here. Prints the binary's path.
#
#   hack/build-traefik.sh
#
# Traefik's go.mod has replace and exclude directives, which `go install
# pkg@version` refuses, so a throwaway module requires Traefik and copies
# them. The binary is static (CGO_ENABLED=0) and is cached outside the clone:
# $KUBELESS_TRAEFIK_CACHE (default ~/.cache/kubeless/traefik)/bin-<version>/traefik;
# one that exists is not rebuilt. Cold: see docs/kubernetes.md; warm: nothing.
#
# Env: TRAEFIK_VERSION (default v3.6.12: v3.7 requires a module,
# github.com/traefik/traefik/dynamic/ext, that the module proxy cannot serve).
set -euo pipefail

TRAEFIK_VERSION=${TRAEFIK_VERSION:-v3.6.12}
CACHE=${KUBELESS_TRAEFIK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/traefik}
BIN=$CACHE/bin-$TRAEFIK_VERSION
export GOFLAGS=-buildvcs=false PATH=/usr/local/go/bin:$PATH
log() { printf 'build-traefik: %s\n' "$*" >&2; }

if [ ! -x "$BIN/traefik" ]; then
  mod=$CACHE/mod-$TRAEFIK_VERSION
  mkdir -p "$mod" "$BIN"
  cd "$mod"
  if [ ! -f go.mod ]; then
    upstream=$(go mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    [ -f "$upstream" ] || { log "could not download github.com/traefik/traefik/v3@$TRAEFIK_VERSION's go.mod"; exit 1; }
    {
      printf 'module kubeless.local/traefikbuild\n\ngo %s\n\n' "$(awk '$1 == "go" { print $2; exit }' "$upstream")"
      # the replace and exclude directives, one-line and block forms
      awk '/^(replace|exclude) \($/ { blk = 1 } blk { print; if ($0 == ")") blk = 0; next }
           /^(replace|exclude) / { print }' "$upstream"
    } > go.mod.new
    if grep -q '=> \.' go.mod.new; then
      log "Traefik $TRAEFIK_VERSION replaces a module by a folder of its repository, which its module does not hold: choose another version"
      exit 1
    fi
    mv go.mod.new go.mod
  fi
  go get "github.com/traefik/traefik/v3/cmd/traefik@$TRAEFIK_VERSION"
  log "building traefik $TRAEFIK_VERSION"
  start=$SECONDS
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$BIN/traefik.tmp" github.com/traefik/traefik/v3/cmd/traefik
  mv "$BIN/traefik.tmp" "$BIN/traefik"
  log "traefik built in $((SECONDS - start))s"
fi
echo "$BIN/traefik"
