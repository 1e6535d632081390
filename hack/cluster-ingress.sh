#!/usr/bin/env bash
# Installs Traefik, an ingress controller, on the test cluster of
# hack/cluster-up.sh, so that HTTPTriggers with gateway traefik are served
# (test/cluster-ingress.bats calls it in its setup_file):
#
#   hack/cluster-ingress.sh               # on the running cluster
#   hack/cluster-ingress.sh --build-only  # only the binary and the image (no cluster needed)
#
# What it does: builds traefik from the Go module proxy (hack/build-traefik.sh,
# cached), its image with buildah on the Debian 12 base of hack/build-images.sh -d
# (docker/traefik/Dockerfile; cached by buildah's layers), imports it into the
# cluster's containerd, applies Traefik's own CRDs and RBAC (from its module)
# and runs it as a Deployment in namespace traefik with the Kubernetes
# Ingress provider (ingress class traefik) and the CRD provider (the
# Middlewares Kubeless makes). The pod uses the node's network: its ports
# are the node's, $INGRESS_HTTP_PORT (default 28080) and $INGRESS_HTTPS_PORT
# (default 28443), and it reaches the API server on 127.0.0.1, where the
# test cluster's API server listens. It writes $KUBELESS_CLUSTER_STATE/ingress.env
# (INGRESS_NODE_IP, INGRESS_HTTP_PORT, INGRESS_HTTPS_PORT) for the tests.
#
# Cold: the Traefik build (see docs/kubernetes.md); warm: about 20 s (the
# image import and the pod's start).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
state=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster}
cache=${KUBELESS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/cluster}
images_cache=${KUBELESS_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/images}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
kbin=${KUBELESS_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/k8s}/bin-$K8S_VERSION
export TRAEFIK_VERSION=${TRAEFIK_VERSION:-v3.6.12}
http_port=${INGRESS_HTTP_PORT:-28080}
https_port=${INGRESS_HTTPS_PORT:-28443}
ping_port=${INGRESS_PING_PORT:-28082}
export PATH=/usr/local/go/bin:/usr/sbin:/sbin:$PATH GOFLAGS=-buildvcs=false
image=localhost/traefik:$TRAEFIK_VERSION

t0=$SECONDS
log() { printf '[cluster-ingress %3ds] %s\n' $((SECONDS - t0)) "$*" >&2; }
die() { printf '[cluster-ingress] ERROR: %s\n' "$*" >&2; exit 1; }

build_only=false
case ${1:-} in
"") ;;
--build-only) build_only=true ;;
*) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
sock=$state/containerd/containerd.sock
$build_only || [ -S "$sock" ] || die "no containerd at $sock: start the cluster (hack/cluster-up.sh)"

# ---- binary, image -----------------------------------------------------------------
bin=$("$here/build-traefik.sh")
# shellcheck source=hack/lib-images.sh
. "$here/lib-images.sh"
images_store "$images_cache"
images_on_debian "$image" "$repo/docker/traefik/Dockerfile" "$(dirname "$bin")" || exit 1
log "image $image ready"
$build_only && exit 0

# ---- into the cluster ----------------------------------------------------------------
images_import "$image" "$sock" "$cache/images/imported/traefik-$TRAEFIK_VERSION" || die "the import of $image failed"
log "$image in the cluster's containerd"

kubectl=$(command -v kubectl || true)
[ -n "$kubectl" ] || kubectl=$kbin/kubectl
export KUBECONFIG=${KUBECONFIG:-$state/admin.kubeconfig}
nodeip=$("$kubectl" get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
[ -n "$nodeip" ] || die "the node has no InternalIP"
# (a Traefik of an earlier run holds them: it is updated in place)
"$kubectl" get deployment traefik -n traefik >/dev/null 2>&1 ||
for port in "$http_port" "$https_port" "$ping_port"; do
  if [[ -n $(ss -Hltn "sport = :$port") ]]; then
    die "port $port is in use: set INGRESS_HTTP_PORT, INGRESS_HTTPS_PORT or INGRESS_PING_PORT to free ports"
  fi
done

# Traefik's own CRDs and RBAC, as its documentation installs them, its
# ServiceAccount in namespace traefik rather than default (whose Pod
# Security level the tests change).
mod=$(go mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
manifests=$mod/docs/content/reference/dynamic-configuration
[ -f "$manifests/kubernetes-crd-definition-v1.yml" ] || die "no Traefik CRD manifest in $manifests"
"$kubectl" apply --server-side -f "$manifests/kubernetes-crd-definition-v1.yml" >/dev/null
grep -q '^    namespace: default$' "$manifests/kubernetes-crd-rbac.yml" || die "$manifests/kubernetes-crd-rbac.yml binds no ServiceAccount of namespace default"
sed 's/^    namespace: default$/    namespace: traefik/' "$manifests/kubernetes-crd-rbac.yml" | "$kubectl" apply --server-side -f - >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s crd/middlewares.traefik.io >/dev/null

"$kubectl" apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: traefik
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: traefik-ingress-controller
  namespace: traefik
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: traefik
  namespace: traefik
  labels: {app: traefik}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector:
    matchLabels: {app: traefik}
  template:
    metadata:
      labels: {app: traefik}
    spec:
      serviceAccountName: traefik-ingress-controller
      # the node's ports; the API server listens on the node's 127.0.0.1
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532}
      containers:
      - name: traefik
        image: $image
        imagePullPolicy: Never
        args:
        - --entryPoints.web.address=:$http_port
        - --entryPoints.websecure.address=:$https_port
        - --entryPoints.traefik.address=127.0.0.1:$ping_port
        - --ping=true
        - --providers.kubernetesingress=true
        - --providers.kubernetesingress.ingressclass=traefik
        - --providers.kubernetescrd=true
        - --accesslog=true
        - --log.level=INFO
        env:
        - {name: KUBERNETES_SERVICE_HOST, value: "127.0.0.1"}
        - {name: KUBERNETES_SERVICE_PORT, value: "6443"}
        readinessProbe:
          httpGet: {host: 127.0.0.1, path: /ping, port: $ping_port}
          periodSeconds: 2
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
YAML
"$kubectl" rollout status deployment/traefik -n traefik --timeout=180s >/dev/null ||
  { "$kubectl" logs -n traefik deployment/traefik --tail=30 >&2 || true; die "Traefik did not become ready"; }
cat > "$state/ingress.env" <<ENV
INGRESS_NODE_IP=$nodeip
INGRESS_HTTP_PORT=$http_port
INGRESS_HTTPS_PORT=$https_port
ENV
log "Traefik $TRAEFIK_VERSION ready on $nodeip:$http_port (http) and :$https_port (https)"
