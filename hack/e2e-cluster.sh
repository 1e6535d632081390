#!/usr/bin/env bash
# make test-cluster: the Kubernetes engine end to end on a real single-node
# cluster. Builds what is missing (the Kubernetes binaries, cached in
# ~/.cache/kubeless/k8s; the images, cached in ~/.cache/kubeless/images),
# starts the cluster with Kubeless (hack/cluster-up.sh), runs
# test/cluster.bats, and stops the cluster (hack/cluster-down.sh) whatever
# the result.
#
#   hack/e2e-cluster.sh                 # everything
#   KEEP_CLUSTER=1 hack/e2e-cluster.sh  # leave the cluster running afterwards
#   hack/e2e-cluster.sh -f update       # bats options (here: only matching tests)
#   CLUSTER_BATS=test/cluster-events.bats hack/e2e-cluster.sh   # only these files
#
# One cluster runs on a machine at a time: the script holds an exclusive lock
# ($KUBELESS_CLUSTER_LOCK, default /tmp/kubeless-cluster.lock) from start to
# stop, so a second run waits for the first instead of breaking it.
#
# Cold: about 5 min for the cluster binaries on top of the envtest ones and
# 3-5 min for CoreDNS (hack/build-k8s.sh; 25 min with those on a fresh
# machine), then the images of docker/ (hack/build-images.sh -d, through
# hack/cluster-images.sh: see the figures in docs/kubernetes.md), then the
# run. Warm, the images are cached by content and nothing is rebuilt.
# Needs root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
state=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster}
export GOFLAGS=-buildvcs=false
t0=$SECONDS
times=()
step() { times+=("$(printf '%-28s %4ds' "$1" "$2")"); }

((EUID == 0)) || { echo "e2e-cluster: run as root (the cluster runs containerd and kubelet)" >&2; exit 1; }
cd "$repo"

lock=${KUBELESS_CLUSTER_LOCK:-/tmp/kubeless-cluster.lock}
exec 9>"$lock"
if ! flock -n 9; then
  echo "e2e-cluster: another cluster run holds $lock; waiting for it" >&2
  flock 9
fi

s=$SECONDS
make -s build
"$here/build-k8s.sh" cluster >/dev/null
step "build (bin/, k8s binaries)" $((SECONDS - s))

down() {
  local rc=$?
  if [[ -n ${KEEP_CLUSTER:-} ]]; then
    echo "e2e-cluster: the cluster keeps running (KEEP_CLUSTER): source $state/env; hack/cluster-down.sh stops it" >&2
  else
    s=$SECONDS
    KUBELESS_CLUSTER_STATE=$state "$here/cluster-down.sh" >&2
    step "cluster down" $((SECONDS - s))
  fi
  step "total" $((SECONDS - t0))
  printf 'e2e-cluster: %s\n' "${times[@]}" >&2
  ((rc == 0)) || echo "e2e-cluster: failed; the components' logs are in $state/*.log" >&2
  exit $rc
}
trap down EXIT

s=$SECONDS
KUBELESS_CLUSTER_STATE=$state "$here/cluster-up.sh"
step "cluster up (with images)" $((SECONDS - s))

# shellcheck disable=SC1091
source "$state/env"
s=$SECONDS
# shellcheck disable=SC2206
files=(${CLUSTER_BATS:-test/cluster*.bats})
KUBELESS=$repo/bin/kubeless bats --timing "$@" "${files[@]}"
step "${files[*]}" $((SECONDS - s))
