#!/usr/bin/env bash
# Builds metrics-server, the resource metrics API (metrics.k8s.io) of the
# test cluster (hack/cluster-metrics.sh), from the Go module proxy, because
# no release binary or image can be downloaded here. Prints the binary's path.
#
#   hack/build-metrics-server.sh
#
# Its module has no replace or exclude directive, so `go install pkg@version`
# builds it. The binary is static (CGO_ENABLED=0) and is cached outside the
# clone: $KUBELESS_METRICS_SERVER_CACHE (default ~/.cache/kubeless/metrics-server)
# /bin-<version>/metrics-server; one that exists is not rebuilt.
#
# Env: METRICS_SERVER_VERSION (default v0.9.0: v0.9.1 requires go 1.26.10).
set -euo pipefail

METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-v0.9.0}
CACHE=${KUBELESS_METRICS_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/metrics-server}
BIN=$CACHE/bin-$METRICS_SERVER_VERSION
export GOFLAGS=-buildvcs=false PATH=/usr/local/go/bin:$PATH
log() { printf 'build-metrics-server: %s\n' "$*" >&2; }

if [ ! -x "$BIN/metrics-server" ]; then
  mkdir -p "$BIN"
  log "building metrics-server $METRICS_SERVER_VERSION"
  start=$SECONDS
  tmp=$(mktemp -d "$CACHE/gobin.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN=$tmp CGO_ENABLED=0 go install -trimpath -ldflags="-s -w" \
    "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
  mv "$tmp/metrics-server" "$BIN/metrics-server"
  log "metrics-server built in $((SECONDS - start))s"
fi
echo "$BIN/metrics-server"
