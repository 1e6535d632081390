#!/usr/bin/env bash
# Installs Kubeless on the test cluster of hack/cluster-up.sh as users do:
# kubeless.yaml applied byte for byte (kubectl apply), so the controller
# manager and the activator run as pods of its Deployments, from the image
# kubeless/controller-manager:dev that hack/cluster-images.sh built from
# docker/controller/Dockerfile and imported under that very name, with the
# ServiceAccounts and RBAC of kubeless.yaml.
#
# The one change is an image setting, made the way docs/kubernetes.md tells
# users: kubeless-config's provision-image (the node has Debian's busybox,
# imported as localhost/busybox:local, not busybox:1.37) and image-pull-policy
# Never (the node reaches no registry, so a missing image fails at once as
# ErrImageNeverPull instead of after a pull attempt), patched into the
# ConfigMap right after the apply.
#
#   hack/cluster-kubeless.sh            # install and wait for both Deployments
#   hack/cluster-kubeless.sh --restart  # after a code change: rebuild and
#                                       # re-import the image, restart the pods
#
# Env: KUBECONFIG (the cluster's admin), KUBELESS_CLUSTER_STATE.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
state=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster}
kubectl=$(command -v kubectl || true)
[ -n "$kubectl" ] || kubectl=${KUBELESS_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/k8s}/bin-${K8S_VERSION:-v1.37.2}/kubectl
export KUBECONFIG=${KUBECONFIG:-$state/admin.kubeconfig}
deployments=(deployment/kubeless-controller-manager deployment/kubeless-activator)

# ready: both Deployments rolled out (their pods ready: /readyz answers).
# The controller reconciles once it holds the Lease (at once on a fresh
# cluster; up to the lease's 15 s after a restart, when its predecessor
# did not release it).
ready() {
  local d
  for d in "${deployments[@]}"; do
    if ! "$kubectl" -n kubeless rollout status "$d" --timeout=180s >&2; then
      "$kubectl" -n kubeless describe "$d" >&2 || true
      "$kubectl" -n kubeless logs "$d" --tail=30 >&2 || true
      echo "cluster-kubeless: $d did not roll out" >&2
      exit 1
    fi
  done
}

case ${1:-} in
--restart)
  KUBELESS_CLUSTER_STATE=$state "$here/cluster-images.sh"
  "$kubectl" -n kubeless rollout restart "${deployments[@]}" >/dev/null
  ready
  exit 0
  ;;
"") ;;
*) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

"$kubectl" apply --server-side -f "$repo/kubeless.yaml" >/dev/null
"$kubectl" -n kubeless patch configmap kubeless-config --type merge \
  -p '{"data":{"provision-image":"localhost/busybox:local","image-pull-policy":"Never"}}' >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s crd/functions.kubeless.io crd/httptriggers.kubeless.io crd/cronjobtriggers.kubeless.io >/dev/null
ready
