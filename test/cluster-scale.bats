#!/usr/bin/env bats
# Scale to zero on a real cluster (docs/scale-to-zero.md): the controller
# manager and the activator run as the pods of kubeless.yaml
# (hack/cluster-up.sh). A function with a short idle window goes to zero;
# calls through the API server's service proxy, by cluster DNS from a pod
# and from a cron trigger's job wake it; calls that come while it starts are
# held and answered; a start that fails answers why and shows it in ls and
# describe; an autoscaler from 0 to 3 on cpu scales a function woken from
# zero up under a load that burns cpu (metrics-server, hack/cluster-metrics.sh,
# which setup_file runs, serves the metrics API) and it comes back to zero
# when idle; a NATS message for a function at zero wakes it and is delivered.
#
# Every wait is on the cluster's state (replicas, the Ready condition, the
# EndpointSlice, the activator's held-calls gauge), never on elapsed time.
#
# Run: CLUSTER_BATS=test/cluster-scale.bats hack/e2e-cluster.sh
# The wake latency and the activator's memory: bench/cluster-wake.sh (the
# last test runs it with KUBELESS_BENCH_WAKES wakes, 3 by default).

bats_require_minimum_version 1.5.0

load lib/libtest
load lib/cluster

FUNCTIONS=(zero-python zero-warm zero-bad zero-hpa zero-cpu zero-nats)

setup_file() {
  cluster_setup_file
  [[ -z $CLUSTER_SKIP ]] || return 0
  kubectl -n kubeless rollout status deployment/kubeless-activator --timeout=120s >/dev/null
  kubectl -n kubeless rollout status deployment/kubeless-controller-manager --timeout=120s >/dev/null
  # the metrics API, for the autoscaler on cpu
  "$REPO_ROOT/hack/cluster-metrics.sh" >&2
  delete_functions "${FUNCTIONS[@]}"
}


teardown_file() {
  local p
  for p in cpu-load nats receiver; do
    if [[ -f $BATS_FILE_TMPDIR/$p.pid ]]; then
      kill $(cat "$BATS_FILE_TMPDIR/$p.pid") 2>/dev/null || true
    fi
  done
  [[ -z $CLUSTER_SKIP ]] || return 0
  kubectl delete natstrigger zero-nats-t --ignore-not-found >/dev/null 2>&1 || true
  if [[ -f $BATS_FILE_TMPDIR/nats.pid ]]; then
    kubectl -n kubeless patch configmap kubeless-config --type json \
      -p '[{"op": "remove", "path": "/data/nats-url"}]' >/dev/null 2>&1 || true
    restart_controller || true
  fi
  kubectl uncordon "$(kubectl get node -o jsonpath='{.items[0].metadata.name}')" >/dev/null 2>&1 || true
  "$KUBELESS" trigger cronjob delete zero-cron >/dev/null 2>&1 || true
  kubectl delete job zero-cron-now --ignore-not-found >/dev/null 2>&1 || true
  delete_functions "${FUNCTIONS[@]}"
}

restart_controller() {
  # every fd above 2 closed: bats waits for every process that holds one of
  # its pipes, and the controller runs until the cluster stops
  (export KUBELESS_CLUSTER_STATE=$CLUSTER_STATE && with_std_fds_only "$REPO_ROOT/hack/cluster-up.sh" --restart-controller >&2)
}

# replicas FUNCTION: its Deployment's spec.replicas.
replicas() { kubectl get deployment "$1" -o jsonpath='{.spec.replicas}'; }

# reason FUNCTION: the reason of its Ready condition.
reason() { kubectl get function "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}'; }

# wait_zero FUNCTION: it idles to 0 replicas, its Ready reason is Idle, and
# its last pod is gone (so that the next call is a start from nothing).
wait_zero() {
  wait_for 180 "$1 scaled to zero" bash -c "[ \"\$(kubectl get deployment $1 -o jsonpath='{.spec.replicas}')\" = 0 ]"
  wait_for 60 "$1 Ready reason Idle" bash -c "kubectl get function $1 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx Idle"
  kubectl wait --for=delete pod -l "function=$1" --timeout=120s
}

# activator_ips: the ready activator pods' addresses, sorted, space-separated.
activator_ips() {
  kubectl -n kubeless get pods -l app=kubeless-activator -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort | xargs
}

# slice FUNCTION: "<port> <addresses...>" of its EndpointSlice, addresses sorted.
slice() {
  local s
  s=$(kubectl get endpointslice "$1" -o jsonpath='{.ports[0].port} {.endpoints[*].addresses[*]}')
  echo "${s%% *} $(tr ' ' '\n' <<<"${s#* }" | sort | xargs)"
}

# activator_metric NAME_AND_LABELS: the sum of the samples of the activator
# pods' /metrics (through the API server's pod proxy) whose name and labels
# start with NAME_AND_LABELS, e.g. 'kubeless_activator_calls_total{outcome="forwarded"'.
activator_metric() {
  local p sum=0 v
  for p in $(kubectl -n kubeless get pods -l app=kubeless-activator -o jsonpath='{.items[*].metadata.name}'); do
    v=$(kubectl get --raw "/api/v1/namespaces/kubeless/pods/$p:8080/proxy/metrics" |
      awk -v m="$1" 'index($0, m) == 1 { n += $NF } END { printf "%d\n", n }')
    sum=$((sum + v))
  done
  echo "$sum"
}

# probe_pod NAME URL...: a pod (the restricted profile's settings) that
# fetches each URL with busybox wget and prints the bodies.
probe_pod() {
  local name=$1 cmd
  shift
  cmd=$(printf 'wget -qO- %s; echo; ' "$@")
  kubectl run "$name" --rm -i --restart=Never --image=localhost/busybox:local --quiet \
    --overrides='{"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":1000,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"'"$name"'","image":"localhost/busybox:local","command":["sh","-c","'"$cmd"'"],"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}'
}

@test "a function with --scale-to-zero --idle-window 5s goes to zero: Service without selector, EndpointSlice on the activator, describe says why" {
  run --separate-stderr "$KUBELESS" function deploy zero-python --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py" --scale-to-zero --idle-window 5s
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  wait_zero zero-python
  [ -z "$(kubectl get service zero-python -o jsonpath='{.spec.selector}')" ]
  local port
  port=$(kubectl get service zero-python -o jsonpath='{.metadata.annotations.kubeless\.io/activator-port}')
  [[ $port =~ ^2[0-9]{4}$ ]]
  wait_for 30 "the EndpointSlice of zero-python to name the activator on $port" \
    bash -c "[ \"\$(kubectl get endpointslice zero-python -o jsonpath='{.ports[0].port}')\" = $port ]"
  [ "$(slice zero-python)" = "$port $(activator_ips)" ]
  run --separate-stderr "$KUBELESS" function ls zero-python
  [[ $output == *"zero-python "*"0/0"* ]]
  run --separate-stderr "$KUBELESS" function describe zero-python
  echo "$output"
  [[ $output == *"idle after 5s"* ]]
  [[ $output == *"idle for 5s"* ]]
  [ "$(kubectl get events --field-selector involvedObject.kind=Function,involvedObject.name=zero-python,reason=ScaledToZero -o name | wc -l)" -ge 1 ]
}

@test "a function at zero answers kubeless function call (through the activator pod: the service proxy refuses other namespaces' pods), then its EndpointSlice names its pod and the service proxy reaches it" {
  wait_zero zero-python
  run --separate-stderr "$KUBELESS" function call zero-python
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  [ "$output" = "hello world" ]
  [ "$(replicas zero-python)" = 1 ]
  local ip
  ip=$(kubectl get pods -l function=zero-python --field-selector=status.phase=Running -o jsonpath='{.items[0].status.podIP}')
  [[ -n $ip ]]
  wait_for 60 "the EndpointSlice of zero-python to name its pod $ip" \
    bash -c "[ \"\$(kubectl get endpointslice zero-python -o jsonpath='{.endpoints[*].addresses[*]}')\" = $ip ]"
  [ "$(slice zero-python)" = "8080 $ip" ]
}

@test "a warm function that scales to zero answers through the API server's service proxy itself (its EndpointSlice's endpoints name their pods)" {
  run --separate-stderr "$KUBELESS" function deploy zero-warm --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py" --scale-to-zero --idle-window 30m
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  [ -z "$(kubectl get service zero-warm -o jsonpath='{.spec.selector}')" ]
  local pod
  pod=$(kubectl get pods -l function=zero-warm --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')
  wait_for 60 "the EndpointSlice of zero-warm to name pod $pod" \
    bash -c "[ \"\$(kubectl get endpointslice zero-warm -o jsonpath='{.endpoints[*].targetRef.name}')\" = $pod ]"
  run --separate-stderr kubectl get --raw /api/v1/namespaces/default/services/zero-warm:http-function-port/proxy/
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  [ "$output" = "hello world" ]
  "$KUBELESS" function delete zero-warm
}

@test "a function at zero answers by its cluster DNS name from a pod" {
  wait_zero zero-python
  run --separate-stderr probe_pod zero-dns-probe http://zero-python.default.svc.cluster.local:8080/
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  [[ $output == *"hello world"* ]]
  [ "$(replicas zero-python)" = 1 ]
}

@test "calls that come while a function at zero starts are held by the activator and all answered" {
  wait_zero zero-python
  local node ip before i
  node=$(kubectl get node -o jsonpath='{.items[0].metadata.name}')
  ip=$(kubectl get service zero-python -o jsonpath='{.spec.clusterIP}')
  before=$(activator_metric 'kubeless_activator_calls_total{outcome="forwarded"')
  # no new pod can be scheduled: the start cannot end before every call is held
  kubectl cordon "$node"
  for i in 1 2 3 4 5; do
    # fd 3 closed: bats waits for every process that holds it
    curl -s -o "$BATS_TEST_TMPDIR/body.$i" -w '%{http_code}' --max-time 170 "http://$ip:8080/" \
      >"$BATS_TEST_TMPDIR/code.$i" 2>&1 3>&- &
  done
  wait_for 60 "the activator to hold 5 calls of zero-python" \
    bash -c "[ \"\$(kubectl get --raw /api/v1/namespaces/kubeless/pods/\$(kubectl -n kubeless get pods -l app=kubeless-activator -o jsonpath='{.items[0].metadata.name}'):8080/proxy/metrics | awk 'index(\$0, \"kubeless_activator_held_calls{\") == 1 && /function=\"zero-python\"/ { print \$NF }')\" = 5 ]"
  # held while its one pod waits for a node
  [ "$(replicas zero-python)" = 1 ]
  [ "$(kubectl get pods -l function=zero-python -o jsonpath='{.items[*].status.phase}')" = Pending ]
  kubectl uncordon "$node"
  wait
  for i in 1 2 3 4 5; do
    [ "$(cat "$BATS_TEST_TMPDIR/code.$i")" = 200 ]
    [ "$(cat "$BATS_TEST_TMPDIR/body.$i")" = "hello world" ]
  done
  [ "$(activator_metric 'kubeless_activator_calls_total{outcome="forwarded"')" = $((before + 5)) ]
  [ "$(activator_metric 'kubeless_activator_held_calls{function="zero-python",namespace="default"')" = 0 ]
}

@test "a cron trigger's job wakes a function at zero on Kubernetes" {
  wait_zero zero-python
  run --separate-stderr "$KUBELESS" trigger cronjob create zero-cron --function zero-python --schedule '0 0 1 1 *'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  wait_for 60 "the controller to make CronJob zero-cron" kubectl get cronjob zero-cron
  [ "$(replicas zero-python)" = 0 ]
  # a job now rather than at the schedule
  kubectl create job --from=cronjob/zero-cron zero-cron-now
  kubectl wait --for=condition=complete job/zero-cron-now --timeout=180s
  run --separate-stderr kubectl logs job/zero-cron-now
  [ "$output" = "hello world" ]
  [ "$(replicas zero-python)" = 1 ]
  run --separate-stderr "$KUBELESS" trigger cronjob delete zero-cron
  [ "$status" -eq 0 ]
  # its Jobs go with the CronJob (owner references)
  kubectl delete job zero-cron-now --ignore-not-found --wait=true
}

@test "a function at zero that cannot start: the call answers 503 with the reason, ls and describe show it" {
  run --separate-stderr "$KUBELESS" function deploy zero-bad --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py" --scale-to-zero --idle-window 5s
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  wait_zero zero-bad
  # its next start needs images the node does not have (pull policy Never)
  kubectl patch function zero-bad --type merge -p '{"spec":{"runtime":"python3.12"}}'
  wait_for 60 "the Deployment of zero-bad to run kubeless/python:3.12" \
    bash -c "kubectl get deployment zero-bad -o jsonpath='{.spec.template.spec.containers[0].image}' | grep -qx kubeless/python:3.12"
  [ "$(replicas zero-bad)" = 0 ]
  [ "$(reason zero-bad)" = Idle ]
  run --separate-stderr "$KUBELESS" function call zero-bad
  echo "call: $output / $stderr"
  [ "$status" -ne 0 ]
  [[ "$output$stderr" == *'function "zero-bad" could not start: pod zero-bad-'* ]]
  [[ "$output$stderr" == *ErrImageNeverPull* ]]
  wait_for 60 "the Ready reason of zero-bad to be ImageMissing" bash -c "kubectl get function zero-bad -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx ImageMissing"
  run --separate-stderr "$KUBELESS" function ls zero-bad
  echo "$output"
  [[ $output == *"zero-bad "*"NOT READY"* ]]
  run --separate-stderr "$KUBELESS" function describe zero-bad
  echo "$output"
  [[ $output == *"ImageMissing"* ]]
  [[ $output == *"kubeless/python"*"3.12"* ]]
  "$KUBELESS" function delete zero-bad
}

@test "an autoscaler of 1 to 3 on cpu reads the metrics API; with min 0 the function goes to zero, wakes, and 3 pods go back to zero when idle" {
  # (a cpu request, which the autoscaler's utilization is relative to)
  run --separate-stderr "$KUBELESS" function deploy zero-hpa --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py" --cpu 100m
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  run --separate-stderr "$KUBELESS" autoscale create zero-hpa --min 1 --max 3 --metric cpu --value 50
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  wait_for 60 "the HorizontalPodAutoscaler zero-hpa" kubectl get hpa zero-hpa
  # metrics-server (setup_file) serves the metrics API: the autoscaler reads cpu
  kubectl wait --for=jsonpath='{.status.conditions[?(@.type=="ScalingActive")].reason}'=ValidMetricFound hpa/zero-hpa --timeout=180s
  # min 0: the autoscaler keeps 1 to 3 (the API server refuses 0), the
  # function goes to zero when idle and a call wakes it
  run --separate-stderr "$KUBELESS" function update zero-hpa --idle-window 5s
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  [ "$(kubectl get function zero-hpa -o jsonpath='{.spec.horizontalPodAutoscaler.spec.minReplicas}')" = 0 ]
  wait_zero zero-hpa
  [ "$(kubectl get hpa zero-hpa -o jsonpath='{.spec.minReplicas} {.spec.maxReplicas}')" = "1 3" ]
  run --separate-stderr "$KUBELESS" function call zero-hpa
  [ "$output" = "hello world" ]
  # scaled to 3 as the autoscaler would under load: idle, all three stop
  wait_zero zero-hpa
  kubectl scale deployment zero-hpa --replicas=3
  wait_zero zero-hpa
  run --separate-stderr "$KUBELESS" function describe zero-hpa
  echo "$output"
  [[ $output == *"3 -> 0  idle for 5s"* ]]
}

@test "min 0, max 3 on cpu: a function at zero woken by a load that burns cpu is scaled up by the autoscaler (metrics-server), and goes back to zero when the load stops" {
  cat >"$BATS_TEST_TMPDIR/spin.py" <<'PY'
import time

def spin(event, context):
    # burns cpu for a second of wall time
    end = time.time() + 1
    n = 0
    while time.time() < end:
        n += 1
    return "spun"
PY
  run --separate-stderr "$KUBELESS" function deploy zero-cpu --runtime python3.11 --handler spin.spin \
    --from-file "$BATS_TEST_TMPDIR/spin.py" --cpu 100m
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  run --separate-stderr "$KUBELESS" autoscale create zero-cpu --min 0 --max 3 --metric cpu --value 20 --idle-window 10s
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  [ "$(kubectl get function zero-cpu -o jsonpath='{.spec.horizontalPodAutoscaler.spec.minReplicas}')" = 0 ]
  wait_for 60 "the HorizontalPodAutoscaler zero-cpu" kubectl get hpa zero-cpu
  wait_zero zero-cpu
  # the load: 4 callers in a loop until the stop file exists; the first
  # calls wake it (fd 3 closed: bats waits for every process that holds it)
  local i pids=()
  for i in 1 2 3 4; do
    (while [ ! -e "$BATS_TEST_TMPDIR/stop" ]; do "$KUBELESS" function call zero-cpu >/dev/null 2>&1 || true; done) 3>&- &
    pids+=($!)
  done
  echo "${pids[*]}" >"$BATS_FILE_TMPDIR/cpu-load.pid"
  kubectl wait --for=jsonpath='{.spec.replicas}'=1 deployment/zero-cpu --timeout=180s
  # the autoscaler reads cpu from the metrics API and scales to its max
  kubectl wait --for=jsonpath='{.status.conditions[?(@.type=="ScalingActive")].status}'=True hpa/zero-cpu --timeout=300s
  kubectl wait --for=jsonpath='{.spec.replicas}'=3 deployment/zero-cpu --timeout=600s
  kubectl get hpa zero-cpu -o wide >&3
  kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods | grep -q '"zero-cpu-'
  touch "$BATS_TEST_TMPDIR/stop"
  wait "${pids[@]}"
  rm -f "$BATS_FILE_TMPDIR/cpu-load.pid"
  # idle: all three stop after the idle window, whatever the autoscaler's
  # downscale stabilization (the controller scales the Deployment to zero)
  wait_zero zero-cpu
  run --separate-stderr "$KUBELESS" function describe zero-cpu
  echo "$output"
  [[ $output == *"3 -> 0  idle for 10s"* ]]
  "$KUBELESS" function delete zero-cpu
}

@test "a NATS trigger's message for a function at zero wakes it (the controller's consumer calls its Service, which routes to the activator) and is delivered" {
  NODE_IP=$(kubectl get node -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
  [[ -n $NODE_IP ]]
  export NODE_IP
  local bin=$BATS_FILE_TMPDIR/bin
  mkdir -p "$bin"
  (cd "$REPO_ROOT" && go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2) >&2
  start_nats "$bin/nats-server"
  start_receiver
  kubectl -n kubeless patch configmap kubeless-config --type merge -p "{\"data\": {\"nats-url\": \"$NATS_URL\"}}" >&2
  restart_controller
  write_sink "$BATS_FILE_TMPDIR/sink"
  deploy_sink zero-nats --scale-to-zero --idle-window 5s
  wait_zero zero-nats
  run --separate-stderr "$KUBELESS" trigger nats create zero-nats-t --trigger-topic zero-n --function-name zero-nats
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  wait_ready natstrigger zero-nats-t
  [ "$(replicas zero-nats)" = 0 ]
  "$KUBELESS" trigger nats publish --url "$NATS_URL" --topic zero-n --message '{"n": 1}' >&2
  wait_for 240 "zero-nats to get message 1 of zero-n" has_got zero-nats zero-n 1
  [ "$(calls zero-nats zero-n 1)" = 1 ]
  [ "$(replicas zero-nats)" = 1 ]
  [ "$(kubectl get events --field-selector involvedObject.kind=Function,involvedObject.name=zero-nats,reason=ScaledToZero -o name | wc -l)" -ge 1 ]
  "$KUBELESS" trigger nats delete zero-nats-t
  "$KUBELESS" function delete zero-nats
}

@test "bench/cluster-wake.sh: first-call latency of a function at zero and the activator's memory" {
  run --separate-stderr "$REPO_ROOT/bench/cluster-wake.sh" -n "${KUBELESS_BENCH_WAKES:-3}"
  echo "$output"
  echo "$stderr" >&2
  [ "$status" -eq 0 ]
  [[ $output == *"wakes: ${KUBELESS_BENCH_WAKES:-3}, "*"p50 "*" ms, p99 "*" ms"* ]]
  [[ $output =~ activator\ idle\ RSS:\ [0-9]+\ MiB ]]
  printf '# %s\n' "${lines[@]}" >&3
}
