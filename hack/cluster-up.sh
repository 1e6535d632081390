#!/usr/bin/env bash
# Starts a real single-node Kubernetes cluster on this machine, as host
# processes (no systemd, no registry), with Kubeless installed on it:
#
#   hack/cluster-up.sh [--no-kubeless]
#   hack/cluster-up.sh --restart-controller   # after a code change: the new controller image
#   source /tmp/kubeless-cluster/env      # KUBECONFIG, KUBELESS_ENGINE=kubernetes
#   bin/kubeless function deploy ...      # real pods
#   hack/cluster-down.sh                  # stops it and cleans up
#
# What runs: etcd, kube-apiserver (port 6443 of every address: pods reach it
# at the kubernetes Service, 10.0.0.1:443; Node,RBAC), kube-controller-
# manager, kube-scheduler, CoreDNS (the cluster DNS on the node IP's port
# 53: cluster.local from the API, NXDOMAIN for anything else), containerd
# (its own socket; images kept in the cache), a CNI bridge kc0 with
# 10.88.0.0/24 and no masquerading (pods reach nothing off the machine),
# kubelet, kube-proxy (iptables mode), and, unless
# --no-kubeless, Kubeless as users install it: kubeless.yaml applied
# unchanged by hack/cluster-kubeless.sh, so the controller manager and the
# activator run as pods from the image built from docker/controller, with
# kubeless.yaml's RBAC (only kubeless-config's provision image and pull
# policy are set for a node without a registry).
# The CLI calls functions through the API server's service proxy, which
# dials the pods' IPs; pods (the cron triggers' jobs) call them by their
# cluster.local names.
#
# Needs: root; hack/build-k8s.sh cluster (binaries); make build (bin/); the
# Debian packages containerd runc containernetworking-plugins iptables
# conntrack busybox-static debootstrap buildah (installed here when missing).
# Images come from hack/cluster-images.sh: the Dockerfiles of docker/ built
# with buildah on a Debian 12 base (long the first time, seconds afterwards).
#
# Env: KUBELESS_CLUSTER_STATE (default /tmp/kubeless-cluster: pids, logs,
# certificates, etcd data, kubelet's root), KUBELESS_CLUSTER_CACHE (default
# ~/.cache/kubeless/cluster: images, containerd's store), AUTHZ (default
# Node,RBAC; AlwaysAllow turns authorization off), NODEIP (default: the
# address of the default route's interface).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
state=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster}
cache=${KUBELESS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/cluster}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
kbin=${KUBELESS_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/k8s}/bin-$K8S_VERSION
authz=${AUTHZ:-Node,RBAC}
export PATH=/usr/local/go/bin:/usr/sbin:/sbin:$PATH

with_kubeless=true restart_controller=false
case ${1:-} in
"") ;;
--no-kubeless) with_kubeless=false ;;
--restart-controller) restart_controller=true ;;
*) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

t0=$SECONDS
log() { printf '[cluster-up %3ds] %s\n' $((SECONDS - t0)) "$*" >&2; }
die() { printf '[cluster-up] ERROR: %s\n' "$*" >&2; exit 1; }

# alive PID: the process runs (a zombie does not count: this machine's init
# reaps the orphans late).
alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $st && $st != Z* ]]
}

# waitfor SECONDS NAME CMD...: runs CMD until it succeeds; fails when NAME's
# process (pid file) dies or the time is up.
waitfor() {
  local limit=$1 name=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$name" ] && ! alive "$(cat "$state/$name.pid")"; then
      tail -20 "$state/$name.log" >&2 || true
      die "$name exited; see $state/$name.log"
    fi
    ((SECONDS < end)) || die "timed out after ${limit}s waiting for: $*"
    sleep 0.3
  done
}

# start NAME CMD...: runs CMD in the background in a session of its own
# (so a terminal's Ctrl-C does not reach it), output in NAME.log, pid in NAME.pid.
start() {
  local name=$1
  shift
  setsid "$@" > "$state/$name.log" 2>&1 < /dev/null &
  echo $! > "$state/$name.pid"
}

if $restart_controller; then
  [ -f "$state/apiserver.pid" ] && alive "$(cat "$state/apiserver.pid")" || die "no cluster in $state: start it first"
  KUBECONFIG=$state/admin.kubeconfig KUBELESS_CLUSTER_STATE=$state "$here/cluster-kubeless.sh" --restart
  log "kubeless controller and activator restarted"
  exit 0
fi

# ---- checks --------------------------------------------------------------------
((EUID == 0)) || die "run as root (containerd, kubelet, iptables)"
case $state in
/tmp/?* | /var/tmp/?* | /root/?* | /home/?*) ;;
*) die "KUBELESS_CLUSTER_STATE=$state: want a folder under /tmp, /var/tmp, /root or /home (it is emptied)" ;;
esac
for b in kube-apiserver etcd kube-controller-manager kube-scheduler kubelet kube-proxy coredns; do
  [ -x "$kbin/$b" ] || die "no $kbin/$b: run hack/build-k8s.sh cluster (about 5 min after the envtest binaries)"
done
if $with_kubeless; then
  [ -x "$repo/bin/kubeless" ] || die "no bin/kubeless: run make build"
fi
if [ -f "$state/apiserver.pid" ] && alive "$(cat "$state/apiserver.pid")"; then
  die "a cluster already runs from $state: hack/cluster-down.sh first"
fi

pkgs=()
for pair in containerd:containerd runc:runc ctr:containerd iptables:iptables conntrack:conntrack debootstrap:debootstrap buildah:buildah; do
  command -v "${pair%%:*}" >/dev/null || pkgs+=("${pair#*:}")
done
[ -x /usr/lib/cni/bridge ] || pkgs+=(containernetworking-plugins)
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
  pkgs+=(busybox-static) # the static one: ldd fails on it
fi
if ((${#pkgs[@]})); then
  log "installing ${pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }
fi
kubectl=$(command -v kubectl || true)
[ -n "$kubectl" ] || kubectl=$kbin/kubectl
[ -x "$kubectl" ] || die "no kubectl: hack/build-k8s.sh kubectl"

for port in 2379 2380 6443 10250 10257 10259 10248 10249 10256; do
  if [[ -n $(ss -Hltn "sport = :$port") ]]; then
    die "port $port is in use (another cluster?)"
  fi
done

nodeip=${NODEIP:-}
if [ -z "$nodeip" ]; then
  defif=$(ip -4 route show default 2>/dev/null | awk '{print $5; exit}') || true
  if [ -n "$defif" ]; then
    nodeip=$(ip -4 -o addr show dev "$defif" 2>/dev/null | awk '{print $4; exit}' | cut -d/ -f1) || true
  fi
fi
[ -n "$nodeip" ] || die "no node IP (no default route?): set NODEIP to a non-loopback address of this machine"

# The state folder is emptied, here and by cluster-down.sh: only one that
# this script made, which holds the marker file (an empty folder is taken).
marker=$state/.kubeless-cluster
if [ -L "$state" ] || { [ -e "$state" ] && [ ! -d "$state" ]; }; then
  die "KUBELESS_CLUSTER_STATE=$state is not a folder (a link or a file): choose another path"
elif [ ! -d "$state" ]; then
  mkdir -p "$state"
  echo "made by hack/cluster-up.sh: hack/cluster-up.sh and hack/cluster-down.sh empty this folder" > "$marker"
elif [ ! -f "$marker" ]; then
  [ -z "$(find "$state" -mindepth 1 -maxdepth 1 -print -quit)" ] ||
    die "KUBELESS_CLUSTER_STATE=$state is not empty and has no $marker file, so hack/cluster-up.sh did not make it and will not empty it: remove it yourself or choose another folder"
  echo "made by hack/cluster-up.sh: hack/cluster-up.sh and hack/cluster-down.sh empty this folder" > "$marker"
fi

# Leftovers of a run that was not stopped (a killed script): clean them first.
KUBELESS_CLUSTER_STATE=$state "$here/cluster-down.sh" >/dev/null 2>&1 || true
[ -f "$marker" ] || die "cluster-down.sh removed $marker"
rm -rf "${state:?}"/* # not the marker (a dot file)

node=$(hostname)
if grep -qE "^($nodeip|0\.0\.0\.0|\*|\[::\]):53$" <<<"$(ss -Hlun "sport = :53" | awk '{print $4}')"; then
  die "port 53 of $nodeip is in use (another DNS server?): CoreDNS binds it"
fi

# What cluster-down.sh puts back: the sysctls, and the host folders that the
# components create at fixed paths (removed only if they did not exist).
for s in net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables; do
  [ -f "/proc/sys/$s" ] && echo "$s $(cat "/proc/sys/$s")" >> "$state/sysctl.saved"
done
for d in /var/lib/kubelet /var/log/containers /var/lib/cni /run/containerd /run/netns /var/run/netns /etc/kubernetes /var/lib/containerd /opt/containerd; do
  [ -e "$d" ] || echo "$d" >> "$state/created-paths"
done
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || true

# ---- certificates, tokens, kubeconfigs ----------------------------------------
pki=$state/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 365 -subj /CN=kubeless-cluster-ca 2>/dev/null
cat > "$pki/apiserver.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[ext]
subjectAltName = IP:127.0.0.1,IP:10.0.0.1,IP:$nodeip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
keyUsage = digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
EOF
openssl req -newkey rsa:2048 -nodes -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" -subj /CN=kube-apiserver -config "$pki/apiserver.cnf" 2>/dev/null
openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -out "$pki/apiserver.crt" -days 365 -extfile "$pki/apiserver.cnf" -extensions ext 2>/dev/null
# The aggregation layer's front proxy (APIServices such as metrics-server's,
# hack/cluster-metrics.sh): its own CA and the API server's client certificate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/front-proxy-ca.key" -out "$pki/front-proxy-ca.crt" -days 365 -subj /CN=kubeless-front-proxy-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$pki/front-proxy-client.key" -out "$pki/front-proxy-client.csr" -subj /CN=front-proxy-client 2>/dev/null
openssl x509 -req -in "$pki/front-proxy-client.csr" -CA "$pki/front-proxy-ca.crt" -CAkey "$pki/front-proxy-ca.key" -CAcreateserial \
  -out "$pki/front-proxy-client.crt" -days 365 2>/dev/null
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
# Static token users (token,user,uid,"groups").
tok() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
declare -A token=([admin]=$(tok) [node]=$(tok) [kcm]=$(tok) [scheduler]=$(tok) [proxy]=$(tok))
cat > "$pki/tokens.csv" <<EOF
${token[admin]},admin,admin,"system:masters"
${token[node]},system:node:$node,node,"system:nodes"
${token[kcm]},system:kube-controller-manager,kcm
${token[scheduler]},system:kube-scheduler,scheduler
${token[proxy]},system:kube-proxy,proxy
EOF
chmod 600 "$pki/tokens.csv" "$pki"/*.key
for u in "${!token[@]}"; do
  cat > "$pki/$u.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubeless-cluster
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$pki/ca.crt"}
users:
- name: $u
  user: {token: ${token[$u]}}
contexts:
- name: kubeless-cluster
  context: {cluster: kubeless-cluster, user: $u, namespace: default}
current-context: kubeless-cluster
EOF
  chmod 600 "$pki/$u.kubeconfig"
done
cp "$pki/admin.kubeconfig" "$state/admin.kubeconfig"
cat > "$state/env" <<EOF
export KUBECONFIG=$state/admin.kubeconfig
export KUBELESS_ENGINE=kubernetes
EOF
export KUBECONFIG=$state/admin.kubeconfig

# ---- etcd, kube-apiserver ------------------------------------------------------
start etcd "$kbin/etcd" --name kubeless --data-dir "$state/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster kubeless=http://127.0.0.1:2380 --unsafe-no-fsync --log-level warn
waitfor 30 etcd curl -sf http://127.0.0.1:2379/health
log "etcd ready"

# --advertise-address cannot be loopback (the endpoint reconciler refuses it);
# InternalIP first, because the hostname may resolve to 127.0.0.1. It
# listens on every address: the kubeconfigs use 127.0.0.1, the pods (the
# controller manager, the activator) the advertised node IP behind the
# kubernetes Service.
start apiserver "$kbin/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=0.0.0.0 --secure-port=6443 --advertise-address="$nodeip" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
  --authorization-mode="$authz" --enable-admission-plugins=NodeRestriction \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.0.0.0/24 --kubelet-preferred-address-types=InternalIP \
  --requestheader-client-ca-file="$pki/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- --enable-aggregator-routing=true \
  --proxy-client-cert-file="$pki/front-proxy-client.crt" --proxy-client-key-file="$pki/front-proxy-client.key" \
  --profiling=false --v=1
waitfor 120 apiserver sh -c "curl -sf --cacert '$pki/ca.crt' -H 'Authorization: Bearer ${token[admin]}' https://127.0.0.1:6443/readyz | grep -qx ok"
log "kube-apiserver ready"

# ---- CoreDNS ------------------------------------------------------------------------
# The cluster DNS, a host process on the node IP's port 53 (kubelet's
# clusterDNS): cluster.local and the reverse zones from the API (the admin
# kubeconfig), NXDOMAIN for every other name: nothing is forwarded off the
# machine.
cat > "$state/Corefile" <<EOF
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind $nodeip
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $pki/admin.kubeconfig kubeless-cluster
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
.:53 {
    bind $nodeip
    template ANY ANY {
        rcode NXDOMAIN
    }
}
EOF
start coredns "$kbin/coredns" -conf "$state/Corefile"
waitfor 60 coredns sh -c "busybox nslookup kubernetes.default.svc.cluster.local $nodeip | grep -q 10.0.0.1"
log "CoreDNS ready ($nodeip:53)"

# ---- kube-controller-manager, kube-scheduler -------------------------------------
start kcm "$kbin/kube-controller-manager" --kubeconfig="$pki/kcm.kubeconfig" \
  --authentication-kubeconfig="$pki/kcm.kubeconfig" --authorization-kubeconfig="$pki/kcm.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10257 \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --use-service-account-credentials=true --controllers='*,-node-ipam-controller' \
  --leader-elect=false --v=1
start scheduler "$kbin/kube-scheduler" --kubeconfig="$pki/scheduler.kubeconfig" \
  --authentication-kubeconfig="$pki/scheduler.kubeconfig" --authorization-kubeconfig="$pki/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --v=1

# ---- containerd, CNI ----------------------------------------------------------------
# Its own socket and state; the store (images) in the cache, kept between runs.
# restrict_oom_score_adj: this VM drops CAP_SYS_RESOURCE, so runc cannot give
# the sandbox its oom_score_adj of -998 ("can't get final child's PID from pipe").
ctd=$state/containerd
mkdir -p "$ctd" "$state/cni" "$cache/containerd"
cat > "$state/cni/10-kubeless.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "kubeless-pods", "plugins": [
  {"type": "bridge", "bridge": "kc0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$state/cni-ipam",
            "ranges": [[{"subnet": "10.88.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
EOF
containerd config default | sed \
  -e "s#^root = .*#root = \"$cache/containerd\"#" \
  -e "s#^state = .*#state = \"$ctd/state\"#" \
  -e "/^\[grpc\]/,/^\[/ s#^  address = .*#  address = \"$ctd/containerd.sock\"#" \
  -e "s#path = \"/opt/containerd\"#path = \"$ctd/opt\"#" \
  -e 's#restrict_oom_score_adj = false#restrict_oom_score_adj = true#' \
  -e 's#sandbox_image = .*#sandbox_image = "localhost/pause:local"#' \
  -e 's#bin_dir = "/opt/cni/bin"#bin_dir = "/usr/lib/cni"#' \
  -e "s#conf_dir = \"/etc/cni/net.d\"#conf_dir = \"$state/cni\"#" > "$ctd/config.toml"
grep -q "address = \"$ctd/containerd.sock\"" "$ctd/config.toml" || die "could not set containerd's socket in $ctd/config.toml"
start containerd containerd --config "$ctd/config.toml"
waitfor 30 containerd ctr --address "$ctd/containerd.sock" version
log "containerd ready"

KUBELESS_CLUSTER_STATE=$state KUBELESS_CLUSTER_CACHE=$cache "$here/cluster-images.sh"
log "images imported"

# ---- kubelet, kube-proxy -------------------------------------------------------------
# cgroup v1 here: kubelet >= 1.35 refuses it unless failCgroupV1 is false.
mkdir -p "$state/kubelet"
cat > "$state/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $nodeip
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$ctd/containerd.sock
podLogsDir: $state/pod-logs
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
clusterDNS: [$nodeip]
serializeImagePulls: false
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
makeIPTablesUtilChains: false
podCIDR: 10.88.0.0/24
maxPods: 50
EOF
start kubelet "$kbin/kubelet" --kubeconfig="$pki/node.kubeconfig" --config="$state/kubelet/config.yaml" \
  --root-dir="$state/kubelet/root" --node-ip="$nodeip" --hostname-override="$node" --v=1
cat > "$state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $pki/proxy.kubeconfig}
mode: iptables
clusterCIDR: 10.88.0.0/24
conntrack: {maxPerCore: 0}
nodePortAddresses: [primary]
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOF
start proxy "$kbin/kube-proxy" --config="$state/kube-proxy.yaml" --hostname-override="$node" --v=1
waitfor 120 kubelet "$kubectl" wait --for=condition=Ready "node/$node" --timeout=5s
# no pod can be created before the namespace's default ServiceAccount exists
waitfor 60 kcm "$kubectl" get serviceaccount default -n default
log "node $node Ready ($nodeip)"

# ---- Kubeless -------------------------------------------------------------------------
if $with_kubeless; then
  KUBELESS_CLUSTER_STATE=$state "$here/cluster-kubeless.sh"
  log "kubeless controller manager and activator running as pods"
fi
log "up: source $state/env"
