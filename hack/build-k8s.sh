#!/usr/bin/env bash
# Builds the binaries the envtest suite needs (kube-apiserver and etcd) from
# the Go module proxy, because no release binary can be downloaded here.
#
#   hack/build-k8s.sh            # kube-apiserver and etcd: builds what is missing, prints the folder
#   hack/build-k8s.sh kubectl    # also kubectl (install-deps.sh asks for it when none is on PATH)
#   hack/build-k8s.sh cluster    # everything the single-node cluster of
#                                # hack/cluster-up.sh runs: kube-apiserver, etcd,
#                                # kube-controller-manager, kube-scheduler, kubelet, kube-proxy,
#                                # coredns (its cluster DNS)
#
# Components: kube-apiserver kube-controller-manager kube-scheduler kubelet
# kube-proxy kubectl (from k8s.io/kubernetes), etcd and coredns; "cluster"
# stands for the seven the cluster runs. Unknown names are an error.
#
# kube-apiserver comes from k8s.io/kubernetes, which cannot be built as a
# dependency as is: its go.mod points every k8s.io/* staging module at
# ./staging. A throwaway module requires it and replaces each of those with
# the published v0.X.Y release. etcd's server module has relative replaces
# too, so it gets a throwaway module of its own.
#
# Output goes outside the clone so later runs on the same machine reuse it:
# $KUBELESS_K8S_CACHE (default ~/.cache/kubeless/k8s)/bin-<k8s version>.
# A binary that exists is not rebuilt. Cold: about 15 min for kube-apiserver
# and 1-2 min for etcd on 2 cores, then about 5 min more for the other four
# cluster binaries (they share most packages with kube-apiserver:
# kube-controller-manager 3 min, kube-scheduler, kubelet and kube-proxy under
# a minute each), about 5 min for CoreDNS (go install as is, static);
# warm: nothing.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
STAGING_VERSION=v0.${K8S_VERSION#v1.}
CACHE=${KUBELESS_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/k8s}
BIN=$CACHE/bin-$K8S_VERSION
export GOFLAGS=-buildvcs=false
mkdir -p "$BIN"

log() { printf 'build-k8s: %s\n' "$*" >&2; }

k8s_all="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
want=" "
(($#)) || set -- kube-apiserver etcd
for c in "$@"; do
  case " $k8s_all etcd coredns cluster " in
  *" $c "*) ;;
  *) log "unknown component $c (want: $k8s_all etcd coredns cluster)"; exit 2;;
  esac
  [ "$c" = cluster ] && c="kube-apiserver etcd kube-controller-manager kube-scheduler kubelet kube-proxy coredns"
  want+="$c "
done
k8s_cmds=()
for c in $k8s_all; do
  if [[ $want == *" $c "* && ! -x $BIN/$c ]]; then
    k8s_cmds+=("$c")
  fi
done

if ((${#k8s_cmds[@]})); then
  mod=$CACHE/mod-kubernetes-$K8S_VERSION
  mkdir -p "$mod"
  cd "$mod"
  if [ ! -f go.mod ]; then
    upstream=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    [ -f "$upstream" ] || { log "could not download k8s.io/kubernetes@$K8S_VERSION's go.mod"; exit 1; }
    {
      printf 'module kubeless.local/k8sbuild\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
        "$(awk '$1 == "go" { print $2; exit }' "$upstream")" "$K8S_VERSION"
      # every "k8s.io/x => ./staging/src/k8s.io/x" becomes the published module
      awk -v v="$STAGING_VERSION" '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "\t%s => %s %s\n", $1, $1, v }' "$upstream"
      printf ')\n'
    } > go.mod.new
    mv go.mod.new go.mod
  fi
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  for c in "${k8s_cmds[@]}"; do
    go get "k8s.io/kubernetes/cmd/$c@$K8S_VERSION"
    log "building $c $K8S_VERSION (cold: about 15 min for the first one)"
    start=$SECONDS
    go build -trimpath -ldflags="$ldflags" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
    mv "$BIN/$c.tmp" "$BIN/$c"
    log "$c built in $((SECONDS - start))s"
  done
fi

if [[ $want == *" etcd "* && ! -x $BIN/etcd ]]; then
  mod=$CACHE/mod-etcd-$ETCD_VERSION
  mkdir -p "$mod"
  cd "$mod"
  [ -f go.mod ] || printf 'module kubeless.local/etcdbuild\n\ngo 1.26.0\n' > go.mod
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  log "building etcd $ETCD_VERSION"
  start=$SECONDS
  go build -trimpath -ldflags="-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN/etcd.tmp" "$BIN/etcd"
  log "etcd built in $((SECONDS - start))s"
fi

# CoreDNS builds as is (no replace directives in its go.mod), statically.
if [[ $want == *" coredns "* && ! -x $BIN/coredns ]]; then
  log "building coredns $COREDNS_VERSION (cold: about 5 min)"
  start=$SECONDS
  tmp=$(mktemp -d "$CACHE/coredns-gobin.XXXXXX")
  (cd "$CACHE" && CGO_ENABLED=0 GOBIN=$tmp go install -trimpath -ldflags="-s -w" "github.com/coredns/coredns@$COREDNS_VERSION")
  mv "$tmp/coredns" "$BIN/coredns"
  rm -rf "$tmp"
  log "coredns built in $((SECONDS - start))s"
fi

echo "$BIN"
