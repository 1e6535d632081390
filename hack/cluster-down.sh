#!/usr/bin/env bash
# Stops the cluster of hack/cluster-up.sh and puts the machine back: every
# process it started (by pid file, CoreDNS included), the pods' containers and shims, mounts
# under its folders, the pods' network namespaces, the kc0 bridge, the
# KUBE-* iptables chains, the sysctls it changed and the host folders the
# components created. It keeps the logs (*.log in the state folder) and the
# cache (images, containerd's store). Safe to run twice, or with no cluster.
#
# It touches only a state folder that cluster-up.sh made: one holding its
# marker file .kubeless-cluster (kept, with the logs).
#
# Env: KUBELESS_CLUSTER_STATE (default /tmp/kubeless-cluster).
set -uo pipefail

state=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster}
marker=.kubeless-cluster
sock=$state/containerd/containerd.sock
export PATH=/usr/sbin:/sbin:$PATH
[ -d "$state" ] || { echo "cluster-down: nothing in $state"; exit 0; }
if [ ! -f "$state/$marker" ]; then
  echo "cluster-down: $state has no $marker file, so hack/cluster-up.sh did not make it: left alone (nothing stopped or removed); check KUBELESS_CLUSTER_STATE" >&2
  exit 1
fi

# alive PID: the process runs (a zombie does not count: this machine's init
# reaps the orphans late).
alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $st && $st != Z* ]]
}

# stop [-9] NAME...: SIGTERM (SIGKILL with -9) to the pids in the NAME.pid
# files, at once, then SIGKILL to those still running after 5 s.
stop() {
  local name pids=() pid sig=TERM
  if [ "$1" = -9 ]; then
    sig=KILL
    shift
  fi
  for name in "$@"; do
    [ -f "$state/$name.pid" ] || continue
    pid=$(cat "$state/$name.pid")
    rm -f "$state/$name.pid"
    kill -s $sig "$pid" 2>/dev/null && pids+=("$pid")
  done
  local alive
  for _ in $(seq 50); do
    alive=false
    for pid in "${pids[@]}"; do
      alive "$pid" && alive=true
    done
    $alive || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null
  done
}

# The logs of Kubeless's pods (the controller manager, the activator), kept
# as kubeless-<pod>-<container>.log with the components' logs.
for d in "$state"/pod-logs/kubeless_*; do
  [ -d "$d" ] || continue
  pod=$(basename "$d" | cut -d_ -f2)
  for c in "$d"/*/; do
    [ -d "$c" ] && cat "$c"*.log > "$state/kubeless-$pod-$(basename "$c").log" 2>/dev/null
  done
done
# controller: the host process of earlier versions of cluster-up.sh
stop controller kubelet proxy
# Pod containers outlive containerd (their shims keep them): remove them
# through containerd while it runs.
if [ -S "$sock" ] && [ -f "$state/containerd.pid" ] && alive "$(cat "$state/containerd.pid")"; then
  ctr_() { ctr --address "$sock" -n k8s.io "$@"; }
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 0.5
  for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$t" >/dev/null 2>&1; done
  for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$c" >/dev/null 2>&1; done
fi
stop containerd
# Shims of this containerd that are left (they name its socket in their
# arguments), killed by pid.
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $sock" 2>/dev/null); do
  kill -9 "$pid" 2>/dev/null
done
stop scheduler kcm coredns
# Their data is thrown away, and a graceful stop of the two together takes
# seconds (each waits for the other).
stop -9 apiserver etcd

# kube-proxy's and kubelet's iptables chains (KUBE-*), in every table, for
# IPv4 and IPv6: first the jumps to them from the built-in chains, then the
# chains.
for ipt in iptables ip6tables; do
  command -v $ipt >/dev/null || continue
  for table in filter nat mangle raw; do
    rules=$($ipt -t $table -S 2>/dev/null) || continue
    echo "$rules" | awk '$1 == "-A" && $2 !~ /^KUBE-/ && / -j KUBE-/' | while read -r rule; do
      # the rule as iptables -S prints it, quotes included: split it as the shell would
      eval "set -- $rule"
      $ipt -t $table -D "${@:2}" 2>/dev/null
    done
    for chain in $(echo "$rules" | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
      $ipt -t $table -F "$chain" 2>/dev/null
    done
    for chain in $(echo "$rules" | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do
      $ipt -t $table -X "$chain" 2>/dev/null
    done
  done
done

# Mounts under the state folder (kubelet's volumes, containers' rootfs) and
# the pods' network namespaces, deepest first.
awk -v s="$state/" 'index($2, s) == 1 || $2 ~ /^\/(var\/)?run\/netns\/cni-/ {print $2}' /proc/mounts | sort -r |
  while read -r m; do umount -l "$m" 2>/dev/null; done
for n in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do ip netns del "$n" 2>/dev/null; done
ip link del kc0 2>/dev/null

if [ -f "$state/sysctl.saved" ]; then
  while read -r key value; do
    echo "$value" > "/proc/sys/$key" 2>/dev/null
  done < "$state/sysctl.saved"
  rm -f "$state/sysctl.saved"
fi
if [ -f "$state/created-paths" ]; then
  while read -r d; do
    case $d in /var/lib/kubelet | /var/log/containers | /var/lib/cni | /run/containerd | /run/netns | /var/run/netns | /etc/kubernetes | /var/lib/containerd | /opt/containerd)
      rm -rf "$d" ;;
    esac
  done < "$state/created-paths"
  rm -f "$state/created-paths"
fi
# everything but the logs and the marker
find "$state" -mindepth 1 -maxdepth 1 ! -name '*.log' ! -name "$marker" -exec rm -rf {} + 2>/dev/null
echo "cluster-down: stopped; logs kept in $state"
