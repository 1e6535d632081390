#!/usr/bin/env bash
# Installs metrics-server, the resource metrics API (metrics.k8s.io), on the
# test cluster of hack/cluster-up.sh, so that HorizontalPodAutoscalers on cpu
# or memory can scale (test/cluster-scale.bats calls it in its setup_file):
#
#   hack/cluster-metrics.sh               # on the running cluster
#   hack/cluster-metrics.sh --build-only  # only the binary and the image (no cluster needed)
#
# What it does: builds metrics-server from the Go module proxy
# (hack/build-metrics-server.sh, cached), its image with buildah on the Debian
# 12 base of hack/build-images.sh -d (docker/metrics-server/Dockerfile; cached
# by buildah's layers), imports it into the cluster's containerd and runs it
# as a Deployment in kube-system behind the APIService v1beta1.metrics.k8s.io,
# with its RBAC. It scrapes the kubelet by the node's InternalIP without
# verifying the kubelet's self-signed certificate (--kubelet-insecure-tls),
# as test clusters do; the API server reaches it through the aggregation
# layer that hack/cluster-up.sh configures (front proxy certificates).
#
# Cold: the metrics-server build (see docs/kubernetes.md); warm: the image
# import and the pod's start.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
state=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster}
cache=${KUBELESS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/cluster}
images_cache=${KUBELESS_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/images}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
kbin=${KUBELESS_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/k8s}/bin-$K8S_VERSION
export METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-v0.9.0}
export PATH=/usr/local/go/bin:/usr/sbin:/sbin:$PATH GOFLAGS=-buildvcs=false
image=localhost/metrics-server:$METRICS_SERVER_VERSION

t0=$SECONDS
log() { printf '[cluster-metrics %3ds] %s\n' $((SECONDS - t0)) "$*" >&2; }
die() { printf '[cluster-metrics] ERROR: %s\n' "$*" >&2; exit 1; }

build_only=false
case ${1:-} in
"") ;;
--build-only) build_only=true ;;
*) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
sock=$state/containerd/containerd.sock
$build_only || [ -S "$sock" ] || die "no containerd at $sock: start the cluster (hack/cluster-up.sh)"

# ---- binary, image -----------------------------------------------------------------
bin=$("$here/build-metrics-server.sh")
# shellcheck source=hack/lib-images.sh
. "$here/lib-images.sh"
images_store "$images_cache"
images_on_debian "$image" "$repo/docker/metrics-server/Dockerfile" "$(dirname "$bin")" || exit 1
log "image $image ready"
$build_only && exit 0

# ---- into the cluster ----------------------------------------------------------------
images_import "$image" "$sock" "$cache/images/imported/metrics-server-$METRICS_SERVER_VERSION" || die "the import of $image failed"
log "$image in the cluster's containerd"

kubectl=$(command -v kubectl || true)
[ -n "$kubectl" ] || kubectl=$kbin/kubectl
export KUBECONFIG=${KUBECONFIG:-$state/admin.kubeconfig}
[[ $("$kubectl" get configmap extension-apiserver-authentication -n kube-system -o jsonpath='{.data.requestheader-client-ca-file}') == *'BEGIN CERTIFICATE'* ]] ||
  die "the API server has no aggregation layer (--requestheader-client-ca-file): restart the cluster with this clone's hack/cluster-up.sh"

"$kubectl" apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata:
  name: metrics-server
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:aggregated-metrics-reader
  labels:
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-view: "true"
rules:
- apiGroups: [metrics.k8s.io]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:metrics-server
rules:
- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]
- apiGroups: [""]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: metrics-server-auth-reader
  namespace: kube-system
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader}
subjects:
- {kind: ServiceAccount, name: metrics-server, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: metrics-server:system:auth-delegator
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator}
subjects:
- {kind: ServiceAccount, name: metrics-server, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:metrics-server
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:metrics-server}
subjects:
- {kind: ServiceAccount, name: metrics-server, namespace: kube-system}
---
apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: kube-system
  labels: {k8s-app: metrics-server}
spec:
  selector: {k8s-app: metrics-server}
  ports:
  - {name: https, port: 443, protocol: TCP, targetPort: https}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: metrics-server
  namespace: kube-system
  labels: {k8s-app: metrics-server}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector:
    matchLabels: {k8s-app: metrics-server}
  template:
    metadata:
      labels: {k8s-app: metrics-server}
    spec:
      serviceAccountName: metrics-server
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: metrics-server
        image: $image
        imagePullPolicy: Never
        args:
        - --cert-dir=/tmp
        - --secure-port=10250
        - --kubelet-preferred-address-types=InternalIP
        - --kubelet-use-node-status-port
        - --kubelet-insecure-tls
        - --metric-resolution=15s
        ports:
        - {name: https, containerPort: 10250, protocol: TCP}
        readinessProbe:
          httpGet: {path: /readyz, port: https, scheme: HTTPS}
          periodSeconds: 5
          failureThreshold: 3
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts:
        - {name: tmp, mountPath: /tmp}
      volumes:
      - {name: tmp, emptyDir: {}}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
  labels: {k8s-app: metrics-server}
spec:
  service: {name: metrics-server, namespace: kube-system}
  group: metrics.k8s.io
  version: v1beta1
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
YAML
"$kubectl" rollout status deployment/metrics-server -n kube-system --timeout=180s >/dev/null ||
  { "$kubectl" logs -n kube-system deployment/metrics-server --tail=30 >&2 || true; die "metrics-server did not become ready"; }
"$kubectl" wait --for=condition=Available apiservice/v1beta1.metrics.k8s.io --timeout=120s >/dev/null ||
  { "$kubectl" get apiservice v1beta1.metrics.k8s.io -o yaml >&2 || true; die "the APIService v1beta1.metrics.k8s.io is not available"; }
log "metrics-server $METRICS_SERVER_VERSION ready"
