#!/usr/bin/env bash
# Scale to zero on a running Kubernetes cluster with Kubeless installed
# (kubeless.yaml: the controller manager and the activator as pods):
#
#   bench/cluster-wake.sh [-n 20] [-r python3.11] [-N default]
#
# deploys a hello-world function (examples/python/helloget.py) with
# --scale-to-zero --idle-window 5s, then N times: waits until it is at zero
# (Deployment at 0 replicas, Ready reason Idle, its last pod gone, the
# EndpointSlice on the activator), calls it once as `kubeless function
# call` does at zero: through the API server's pods proxy to the activator
# pod that the function's EndpointSlice names (the service proxy refuses
# endpoints of another namespace); kubectl proxy on a free local port, timed
# by curl: the first call, a start from nothing. Then once more through the
# service proxy (a warm call, straight to the pod). It prints the p50 and p99 of both over the N wakes (p99 of 20
# samples is the largest), the activator's own wake time (its
# kubeless_activator_wake_seconds histogram: call arrival to ready pod), and,
# with the function back at zero, the RSS of the activator's and the
# controller manager's processes (VmRSS of PID 1 of their containers,
# through kubectl exec). The function is deleted at the end.
#
# Env: KUBECONFIG; KUBELESS (default bin/kubeless of this repository).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
n=20 runtime=python3.11 ns=default fn=wake-bench
kubeless=${KUBELESS:-$repo/bin/kubeless}
while getopts n:r:N: o; do
  case $o in
  n) n=$OPTARG ;;
  r) runtime=$OPTARG ;;
  N) ns=$OPTARG ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "cluster-wake: -n $n: want a number of wakes, 1 or more" >&2; exit 2; }
[ -x "$kubeless" ] || { echo "cluster-wake: no $kubeless: run make build, or set KUBELESS" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "cluster-wake: no kubectl on PATH" >&2; exit 1; }
export KUBELESS_ENGINE=kubernetes

k() { kubectl -n "$ns" "$@"; }
log() { printf 'cluster-wake: %s\n' "$*" >&2; }

tmp=$(mktemp -d)
proxy_pid=
cleanup() {
  [ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null || true
  "$kubeless" function delete "$fn" -n "$ns" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# activator_metric PREFIX: the sum of the activator pods' samples whose
# name and labels start with PREFIX.
activator_metric() {
  local p sum=0 v
  for p in $(kubectl -n kubeless get pods -l app=kubeless-activator -o jsonpath='{.items[*].metadata.name}'); do
    v=$(kubectl get --raw "/api/v1/namespaces/kubeless/pods/$p:8080/proxy/metrics" |
      awk -v m="$1" 'index($0, m) == 1 { n += $NF } END { printf "%.6f\n", n }')
    sum=$(awk -v a="$sum" -v b="$v" 'BEGIN { printf "%.6f\n", a + b }')
  done
  echo "$sum"
}

# at_zero: the function is at zero and its Service routes to the activator.
at_zero() {
  [ "$(k get deployment "$fn" -o jsonpath='{.spec.replicas}')" = 0 ] &&
    [ "$(k get function "$fn" -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = Idle ] &&
    [ -z "$(k get pods -l "function=$fn" -o name)" ] &&
    [ "$(k get endpointslice "$fn" -o jsonpath='{.ports[0].port}')" = "$(k get service "$fn" -o jsonpath='{.metadata.annotations.kubeless\.io/activator-port}')" ]
}

# wait_zero: at_zero, watched (each kubectl wait returns on a change),
# bounded by 5 minutes.
wait_zero() {
  local end=$((SECONDS + 300))
  until at_zero; do
    ((SECONDS < end)) || { log "$fn did not go to zero within 5 minutes"; exit 1; }
    k wait --for=jsonpath='{.spec.replicas}'=0 "deployment/$fn" --timeout=60s >/dev/null 2>&1 || true
    k wait --for=delete pod -l "function=$fn" --timeout=60s >/dev/null 2>&1 || true
    k wait --for=jsonpath='{.status.conditions[?(@.type=="Ready")].reason}'=Idle "function/$fn" --timeout=10s >/dev/null 2>&1 || true
  done
}

# pct P FILE: the P-th percentile (nearest rank) of the numbers in FILE.
pct() { sort -n "$2" | awk -v p="$1" '{ a[NR] = $1 } END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; print a[r] }'; }

# rss DEPLOYMENT: VmRSS of PID 1 of the Deployment's first pod, in MiB.
rss() {
  local pod
  pod=$(kubectl -n kubeless get pods -l "$1" -o jsonpath='{.items[0].metadata.name}')
  kubectl -n kubeless exec "$pod" -- cat /proc/1/status | awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }'
}

log "deploying $fn ($runtime) with --scale-to-zero --idle-window 5s"
"$kubeless" function delete "$fn" -n "$ns" >/dev/null 2>&1 || true
"$kubeless" function deploy "$fn" -n "$ns" --runtime "$runtime" --handler helloget.foo \
  --from-file "$repo/examples/python/helloget.py" --scale-to-zero --idle-window 5s >/dev/null

kubectl proxy --port=0 >"$tmp/proxy.out" 2>&1 &
proxy_pid=$!
end=$((SECONDS + 30))
until port=$(sed -n 's/^Starting to serve on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/proxy.out") && [ -n "$port" ]; do
  ((SECONDS < end)) || { cat "$tmp/proxy.out" >&2; log "kubectl proxy did not start"; exit 1; }
  sleep 0.2
done
api=http://127.0.0.1:$port/api/v1
url=$api/namespaces/$ns/services/$fn:http-function-port/proxy/

wake_sum0=$(activator_metric kubeless_activator_wake_seconds_sum)
wake_count0=$(activator_metric kubeless_activator_wake_seconds_count)
for i in $(seq "$n"); do
  wait_zero
  read -r ans apod aport < <(k get endpointslice "$fn" -o jsonpath='{.endpoints[0].targetRef.namespace} {.endpoints[0].targetRef.name} {.ports[0].port}{"\n"}')
  out=$(curl -s -o "$tmp/body" -w '%{http_code} %{time_total}' --max-time 120 "$api/namespaces/$ans/pods/$apod:$aport/proxy/") || true
  [ "${out%% *}" = 200 ] && [ "$(cat "$tmp/body")" = "hello world" ] ||
    { log "wake $i: $out $(cat "$tmp/body")"; exit 1; }
  awk -v t="${out#* }" 'BEGIN { printf "%.1f\n", t * 1000 }' >>"$tmp/cold"
  # warm: once the controller has pointed the EndpointSlice at the pod (the
  # activator forwards the first call as soon as the pod is ready, a moment
  # earlier), through the service proxy; a sample is kept only if the
  # function was still warm (its 5 s window may have ended meanwhile on a
  # loaded machine)
  warm=-
  if k wait --for=jsonpath='{.endpoints[0].targetRef.namespace}'="$ns" "endpointslice/$fn" --timeout=60s >/dev/null; then
    out=$(curl -s -o "$tmp/body" -w '%{http_code} %{time_total}' --max-time 60 "$url") || true
    if [ "${out%% *}" = 200 ]; then
      warm=$(awk -v t="${out#* }" 'BEGIN { printf "%.1f\n", t * 1000 }')
      echo "$warm" >>"$tmp/warm"
    fi
  fi
  log "wake $i: $(tail -1 "$tmp/cold") ms (warm: $warm ms)"
done
wake_sum=$(activator_metric kubeless_activator_wake_seconds_sum)
wake_count=$(activator_metric kubeless_activator_wake_seconds_count)
wait_zero

echo "wakes: $n, first call through the activator (API server's pods proxy): p50 $(pct 50 "$tmp/cold") ms, p99 $(pct 99 "$tmp/cold") ms (min $(pct 0 "$tmp/cold") ms)"
if [ -s "$tmp/warm" ]; then
  echo "warm call through the service proxy: p50 $(pct 50 "$tmp/warm") ms, p99 $(pct 99 "$tmp/warm") ms ($(wc -l <"$tmp/warm") samples)"
fi
awk -v s0="$wake_sum0" -v s="$wake_sum" -v c0="$wake_count0" -v c="$wake_count" \
  'BEGIN { if (c > c0) printf "activator wake (call arrival to ready pod): mean %.0f ms over %d calls\n", (s - s0) * 1000 / (c - c0), c - c0 }'
echo "activator idle RSS: $(rss app=kubeless-activator | cut -d. -f1) MiB ($(rss app=kubeless-activator) MiB; 1 function at zero)"
echo "controller manager RSS: $(rss kubeless=controller) MiB"
