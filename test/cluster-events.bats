#!/usr/bin/env bats
# End-to-end tests of the Kafka and NATS triggers on the Kubernetes engine
# (docs/events.md), on the real single-node cluster of hack/cluster-up.sh:
# the controller consumes, functions run in pods and are called through
# their Services. The brokers are started here, on the node's address, which
# the controller and the pods both reach: a Kafka-protocol broker
# (hack/kfake, franz-go's fake Kafka) and nats-server, built from go.mod's
# modules. The controller gets them as the Deployment of kubeless.yaml gets
# them: kafka-brokers and nats-url in kubeless-config, then a restart.
#
# Each function hands every event it gets to a receiver of this file (on the
# node's address) before it answers, one line per call, so an assertion
# reads what the pod really got, headers included.
#
# The last test deploys a service with the serverless framework (v3) and its
# Kubeless plugin, installed from npm into ~/.cache/kubeless/serverless.
#
# Run: CLUSTER_BATS=test/cluster-events.bats hack/e2e-cluster.sh, or on a
# cluster of hack/cluster-up.sh:
#   source /tmp/kubeless-cluster/env && bats --timing test/cluster-events.bats
# Without a reachable cluster every test is skipped (fails under CI).

bats_require_minimum_version 1.5.0

load lib/libtest
load lib/cluster

FUNCTIONS=(ev-sink ev-fail ev-late sls-sink)
KAFKA_TRIGGERS=(ev-kafka orig-kafka ev-fail-k ev-dead-k gone-k mark-k badsel-k down-k sls-sink-sls-k lead-k)
NATS_TRIGGERS=(ev-nats orig-nats ev-fail-n ev-dead-n gone-n mark-n late-n)
SERVERLESS_VERSION=3.40.0
# The newest serverless-kubeless that npm serves here. It knows one event
# kind for messages, `trigger: <topic>`, a KafkaTrigger; the plugin's later
# `trigger: {queue: nats, topic: ...}` (a NATSTrigger of the same shape) is
# not published on this registry.
PLUGIN_VERSION=0.4.4

# Bats 1.8 cannot skip from setup_file: it says why in CLUSTER_SKIP, and
# setup skips each test (fails it under CI).
setup_file() {
  cluster_setup_file
  [[ -z $CLUSTER_SKIP ]] || return 0
  cleanup_objects
  # the node's address: the pods and the controller reach it
  NODE_IP=$(kubectl get node -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
  [[ -n $NODE_IP ]]
  export NODE_IP
  local bin=$BATS_FILE_TMPDIR/bin
  mkdir -p "$bin"
  (cd "$REPO_ROOT" && go build -o "$bin/kfake" ./hack/kfake && go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2) >&2
  # fd 3 closed: bats waits for every process that holds it
  "$bin/kfake" -host "$NODE_IP" -addr-file "$BATS_FILE_TMPDIR/kafka.addr" >"$BATS_FILE_TMPDIR/kfake.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/kfake.pid"
  start_nats "$bin/nats-server"
  wait_for 60 "kfake to write its address" test -s "$BATS_FILE_TMPDIR/kafka.addr"
  KAFKA=$(cat "$BATS_FILE_TMPDIR/kafka.addr")
  export KAFKA
  start_receiver

  # The controller's brokers, from kubeless-config, as in kubeless.yaml.
  kubectl -n kubeless patch configmap kubeless-config --type merge \
    -p "{\"data\": {\"kafka-brokers\": \"$KAFKA\", \"nats-url\": \"$NATS_URL\"}}" >&2
  restart_controller

  write_sink "$BATS_FILE_TMPDIR/sink"
  deploy_sink ev-sink --label topic=ev
  deploy_sink ev-fail --env FAIL=1
  wait_function ev-sink
  wait_function ev-fail
}

teardown_file() {
  local p
  for p in kfake kfake-late nats receiver; do
    if [[ -f $BATS_FILE_TMPDIR/$p.pid ]]; then
      kill "$(cat "$BATS_FILE_TMPDIR/$p.pid")" 2>/dev/null || true
    fi
  done
  if [[ -n $CLUSTER_SKIP ]]; then
    return 0
  fi
  cleanup_objects
  # (the leader test's second replica, should it have stopped midway)
  kubectl -n kubeless scale deployment kubeless-controller-manager --replicas=1 >/dev/null 2>&1 || true
  kubectl -n kubeless patch configmap kubeless-config --type json \
    -p '[{"op": "remove", "path": "/data/kafka-brokers"}, {"op": "remove", "path": "/data/nats-url"}]' >/dev/null 2>&1 || true
  restart_controller || true
}


# A failed test shows the triggers' conditions and the controller's last
# event log lines.
teardown() {
  if [[ -n ${BATS_TEST_COMPLETED:-} || -n $CLUSTER_SKIP ]]; then
    return 0
  fi
  kubectl get kafkatriggers,natstriggers -o custom-columns='KIND:.kind,NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].reason,MESSAGE:.status.conditions[?(@.type=="Ready")].message' || true
  kubectl get pods -o wide || true
  if [[ -f $CLUSTER_STATE/controller.log ]]; then
    grep -i 'event\|trigger' "$CLUSTER_STATE/controller.log" | tail -40 || true
  else
    kubectl -n kubeless logs deployment/kubeless-controller-manager --tail=200 | grep -i 'event\|trigger' | tail -40 || true
  fi
}

# cleanup_objects: this file's triggers and functions, deleted.
cleanup_objects() {
  local t fn
  for t in "${KAFKA_TRIGGERS[@]}"; do kubectl delete kafkatrigger "$t" --ignore-not-found >/dev/null 2>&1 || true; done
  for t in "${NATS_TRIGGERS[@]}"; do kubectl delete natstrigger "$t" --ignore-not-found >/dev/null 2>&1 || true; done
  delete_functions "${FUNCTIONS[@]}"
}

# restart_controller: the controller starts again and reads kubeless-config
# (hack/cluster-up.sh knows how the controller runs).
restart_controller() {
  # every fd above 2 closed: bats waits for every process that holds one of
  # its pipes (setup_file and teardown_file have more than fd 3), and the
  # controller runs until the cluster stops, after bats
  (export KUBELESS_CLUSTER_STATE=$CLUSTER_STATE && with_std_fds_only "$REPO_ROOT/hack/cluster-up.sh" --restart-controller >&2)
}

publish_kafka() {
  "$KUBELESS" topic publish --brokers "$KAFKA" --topic "$1" --data "$2" >&2
}

publish_nats() {
  "$KUBELESS" trigger nats publish --url "$NATS_URL" --topic "$1" --message "$2" >&2
}

@test "kafka and nats triggers created with the CLI deliver to a function on a pod, with the original's event headers; the brokers come from kubeless-config" {
  "$KUBELESS" topic create ev-k --brokers "$KAFKA" >&2
  run --separate-stderr "$KUBELESS" trigger kafka create ev-kafka --trigger-topic ev-k --function-selector topic=ev
  [ "$status" -eq 0 ]
  run --separate-stderr "$KUBELESS" trigger nats create ev-nats --trigger-topic ev-n --function-selector topic=ev
  [ "$status" -eq 0 ]
  wait_ready kafkatrigger ev-kafka
  wait_ready natstrigger ev-nats
  # no brokers in the triggers: the controller's, from kubeless-config
  [ -z "$(kubectl get kafkatrigger ev-kafka -o jsonpath='{.spec.brokers}')" ]
  [[ $(condition kafkatrigger ev-kafka message) == "delivers ev-k from $KAFKA to ev-sink" ]]
  [[ $(condition natstrigger ev-nats message) == "delivers ev-n from $NATS_URL to ev-sink" ]]
  run --separate-stderr "$KUBELESS" trigger kafka list
  [[ $output =~ ev-kafka\ +default\ +ev-k\ +topic=ev\ +True ]]

  publish_kafka ev-k '{"n": 1}'
  publish_nats ev-n '{"n": 2}'
  wait_for 60 "ev-sink to get message 1 from ev-k" has_got ev-sink ev-k 1
  wait_for 60 "ev-sink to get message 2 from ev-n" has_got ev-sink ev-n 2
  run got ev-sink ev-k
  [[ $output =~ ^1\ ev-k/[0-9]+/0\ kafkatriggers\.kubeless\.io\ application/json\ ev-k\ [0-9-]+\ [0-9:.]+\ \+0000\ UTC$ ]]
  run got ev-sink ev-n
  [[ $output =~ ^2\ [^\ ]+\ natstriggers\.kubeless\.io\ application/json\ ev-n\ [0-9-]+\ [0-9:.]+\ \+0000\ UTC$ ]]
}

@test "a KafkaTrigger and a NATSTrigger in the original's format (its keys, no broker) apply unchanged and deliver" {
  "$KUBELESS" topic create orig-k --brokers "$KAFKA" >&2
  kubectl apply -f - <<'EOF'
apiVersion: kubeless.io/v1beta1
kind: KafkaTrigger
metadata:
  name: orig-kafka
  labels:
    created-by: kubeless
spec:
  functionSelector:
    matchLabels:
      topic: ev
  topic: orig-k
---
apiVersion: kubeless.io/v1beta1
kind: NATSTrigger
metadata:
  name: orig-nats
  labels:
    created-by: kubeless
spec:
  functionSelector:
    matchLabels:
      topic: ev
  topic: orig-n
EOF
  wait_ready kafkatrigger orig-kafka
  wait_ready natstrigger orig-nats
  publish_kafka orig-k '{"n": 3}'
  publish_nats orig-n '{"n": 4}'
  wait_for 60 "ev-sink to get message 3 from orig-k" has_got ev-sink orig-k 3
  wait_for 60 "ev-sink to get message 4 from orig-n" has_got ev-sink orig-n 4
  [[ $(got ev-sink orig-k) == "3 orig-k/"*" kafkatriggers.kubeless.io application/json orig-k "* ]]
  [[ $(got ev-sink orig-n) == "4 "*" natstriggers.kubeless.io application/json orig-n "* ]]
}

@test "a function that fails is called 1 + maxRetries times with the same event-id, then the message goes to the dead-letter topic (Kafka) and subject (NATS)" {
  local t
  for t in fail-k fail-k-dead; do "$KUBELESS" topic create "$t" --brokers "$KAFKA" >&2; done
  # the failing triggers, and triggers on their dead letters to ev-sink:
  # what ev-sink gets from fail-k-dead came through the dead-letter topic
  "$KUBELESS" trigger kafka create ev-fail-k --trigger-topic fail-k --function-name ev-fail \
    --max-retries 2 --retry-backoff 100ms --dead-letter-topic fail-k-dead >&2
  "$KUBELESS" trigger kafka create ev-dead-k --trigger-topic fail-k-dead --function-name ev-sink >&2
  "$KUBELESS" trigger nats create ev-fail-n --trigger-topic fail-n --function-name ev-fail \
    --max-retries 2 --retry-backoff 100ms --dead-letter-topic fail-n-dead >&2
  "$KUBELESS" trigger nats create ev-dead-n --trigger-topic fail-n-dead --function-name ev-sink >&2
  for t in ev-fail-k ev-dead-k; do wait_ready kafkatrigger "$t"; done
  for t in ev-fail-n ev-dead-n; do wait_ready natstrigger "$t"; done

  publish_kafka fail-k '{"n": 5}'
  publish_nats fail-n '{"n": 6}'
  wait_for 120 "ev-sink to get message 5 from the dead-letter topic fail-k-dead" has_got ev-sink fail-k-dead 5
  wait_for 120 "ev-sink to get message 6 from the dead-letter subject fail-n-dead" has_got ev-sink fail-n-dead 6
  # the last failed call came before the dead letter
  got ev-fail fail-k
  [ "$(calls ev-fail fail-k 5)" -eq 3 ]
  [[ $(got ev-fail fail-k | awk '{ print $2 }' | sort -u) =~ ^fail-k/[0-9]+/0$ ]]
  got ev-fail fail-n
  [ "$(calls ev-fail fail-n 6)" -eq 3 ]
  [ "$(got ev-fail fail-n | awk '{ print $2 }' | sort -u | grep -c .)" -eq 1 ]
}

# Proof that a deleted trigger delivers nothing more, without waiting a
# while: after the delete, another trigger of the same kind (mark-*) is
# created and Ready. The controller of a kind reconciles one trigger at a
# time in the order of the API's events, so the deleted trigger's consumer
# was stopped before mark-* became Ready. Then a message goes to the
# deleted trigger's topic, and after it a marker to mark-*'s topic: once
# the marker has been delivered, the first message has not been.
@test "deleting a trigger stops its delivery (Kafka and NATS)" {
  local t
  for t in gone-k mark-k; do "$KUBELESS" topic create "$t" --brokers "$KAFKA" >&2; done
  "$KUBELESS" trigger kafka create gone-k --trigger-topic gone-k --function-name ev-sink >&2
  "$KUBELESS" trigger nats create gone-n --trigger-topic gone-n --function-name ev-sink >&2
  wait_ready kafkatrigger gone-k
  wait_ready natstrigger gone-n
  publish_kafka gone-k '{"n": 7}'
  publish_nats gone-n '{"n": 8}'
  wait_for 60 "ev-sink to get message 7 from gone-k" has_got ev-sink gone-k 7
  wait_for 60 "ev-sink to get message 8 from gone-n" has_got ev-sink gone-n 8

  run --separate-stderr "$KUBELESS" trigger kafka delete gone-k
  [ "$status" -eq 0 ]
  run --separate-stderr "$KUBELESS" trigger nats delete gone-n
  [ "$status" -eq 0 ]
  "$KUBELESS" trigger kafka create mark-k --trigger-topic mark-k --function-name ev-sink >&2
  "$KUBELESS" trigger nats create mark-n --trigger-topic mark-n --function-name ev-sink >&2
  wait_ready kafkatrigger mark-k
  wait_ready natstrigger mark-n

  publish_kafka gone-k '{"n": 9}'
  publish_kafka mark-k '{"n": 10}'
  publish_nats gone-n '{"n": 11}'
  publish_nats mark-n '{"n": 12}'
  wait_for 60 "ev-sink to get the marker 10 from mark-k" has_got ev-sink mark-k 10
  wait_for 60 "ev-sink to get the marker 12 from mark-n" has_got ev-sink mark-n 12
  [ "$(calls ev-sink gone-k 9)" -eq 0 ]
  [ "$(calls ev-sink gone-n 11)" -eq 0 ]
  run --separate-stderr "$KUBELESS" trigger kafka list
  [[ $output != *"gone-k "* ]]
}

@test "bad input: an unknown function, a bad selector and a broker down each show a clear Ready=False condition, and each recovers once fixed" {
  # the CLI refuses what it can check
  run --separate-stderr "$KUBELESS" trigger kafka create bad --trigger-topic t --function-name nope
  [ "$status" -eq 1 ]
  assert_error_line 'function "nope" not found in namespace "default"'
  run --separate-stderr "$KUBELESS" trigger kafka create bad --trigger-topic t --function-selector 'topic in (a'
  [ "$status" -eq 1 ]
  assert_error_line 'invalid --function-selector "topic in (a"'

  # a manifest naming a function that does not exist yet
  kubectl apply -f - <<'EOF'
apiVersion: kubeless.io/v1beta1
kind: NATSTrigger
metadata:
  name: late-n
spec:
  function-name: ev-late
  topic: late-n
EOF
  wait_for 60 "late-n FunctionNotFound" ready_is natstrigger late-n False FunctionNotFound
  [[ $(condition natstrigger late-n message) == 'function "ev-late" does not exist in namespace default: deploy it'* ]]

  # a manifest with a selector the CLI would refuse
  kubectl apply -f - <<'EOF'
apiVersion: kubeless.io/v1beta1
kind: KafkaTrigger
metadata:
  name: badsel-k
spec:
  functionSelector:
    matchExpressions:
    - {key: topic, operator: Bogus, values: [ev]}
  topic: badsel-k
EOF
  wait_for 60 "badsel-k InvalidTrigger" ready_is kafkatrigger badsel-k False InvalidTrigger
  [[ $(condition kafkatrigger badsel-k message) == 'Kafka trigger "badsel-k": invalid functionSelector: '*Bogus* ]]

  # a broker that does not answer
  local port
  port=$(free_port_on "$NODE_IP")
  "$KUBELESS" trigger kafka create down-k --trigger-topic down-k --function-selector topic=ev --brokers "$NODE_IP:$port" >&2
  wait_for 120 "down-k BrokerUnreachable" ready_is kafkatrigger down-k False BrokerUnreachable
  [[ $(condition kafkatrigger down-k message) == *"$NODE_IP:$port"* ]]

  # fixed: the function deployed, the selector corrected, the broker started
  deploy_sink ev-late
  kubectl patch kafkatrigger badsel-k --type merge -p '{"spec": {"functionSelector": {"matchExpressions": null, "matchLabels": {"topic": "ev"}}}}' >&2
  "$BATS_FILE_TMPDIR/bin/kfake" -host "$NODE_IP" -port "$port" >"$BATS_FILE_TMPDIR/kfake-late.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/kfake-late.pid"
  wait_ready kafkatrigger badsel-k
  wait_ready kafkatrigger down-k
  wait_function ev-late
  wait_ready natstrigger late-n

  publish_nats late-n '{"n": 13}'
  publish_kafka badsel-k '{"n": 14}'
  "$KUBELESS" topic publish --brokers "$NODE_IP:$port" --topic down-k --data '{"n": 15}' >&2
  wait_for 60 "ev-late to get message 13 from late-n" has_got ev-late late-n 13
  wait_for 60 "ev-sink to get message 14 from badsel-k" has_got ev-sink badsel-k 14
  wait_for 60 "ev-sink to get message 15 from down-k" has_got ev-sink down-k 15
}

# serverless_home: serverless v3 (v4 needs a login) and the Kubeless plugin,
# installed from npm the first time.
serverless_home() {
  local home=${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/serverless
  if [[ ! -x $home/node_modules/.bin/serverless || ! -d $home/node_modules/serverless-kubeless ]] ||
    ! grep -q "\"version\": \"$PLUGIN_VERSION\"" "$home/node_modules/serverless-kubeless/package.json"; then
    npm install --prefix "$home" --no-audit --no-fund "serverless@$SERVERLESS_VERSION" "serverless-kubeless@$PLUGIN_VERSION" >&2
  fi
  echo "$home"
}

@test "the serverless framework's Kubeless plugin deploys a function with a Kafka event (trigger: <topic>), which delivers" {
  need_tool npm node
  local home dir=$BATS_TEST_TMPDIR/sls
  home=$(serverless_home)
  mkdir -p "$dir"
  ln -s "$home/node_modules" "$dir/node_modules"
  cp "$BATS_FILE_TMPDIR/sink/sink.py" "$dir/handler.py"
  cat >"$dir/serverless.yml" <<EOF
service: kubeless-events
frameworkVersion: '3'
configValidationMode: off
provider:
  name: kubeless
  runtime: python3.11
plugins:
  - serverless-kubeless
functions:
  sls-sink:
    handler: handler.handle
    environment:
      SINK: sls-sink
      RECEIVER: $RECEIVER
    events:
      - trigger: sls-k
EOF
  "$KUBELESS" topic create sls-k --brokers "$KAFKA" >&2
  local start=$SECONDS
  run --separate-stderr env -C "$dir" SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_INTERACTIVE_SETUP_DISABLE=1 \
    HOME="$BATS_TEST_TMPDIR" node_modules/.bin/serverless deploy
  echo "$output"
  echo "$stderr"
  [ "$status" -eq 0 ]
  echo "# serverless deploy: $((SECONDS - start))s" >&3
  [[ "$output$stderr" == *"Function sls-sink successfully deployed"* ]]
  # what the plugin made: a Function from the package's zip and a KafkaTrigger
  # selecting it by its labels
  [ "$(kubectl get function sls-sink -o jsonpath='{.spec.function-content-type}')" = base64+zip ]
  [ "$(kubectl get kafkatrigger sls-sink-sls-k -o jsonpath='{.spec.topic} {.spec.functionSelector.matchLabels.function}')" = "sls-k sls-sink" ]
  wait_ready kafkatrigger sls-sink-sls-k
  wait_function sls-sink
  publish_kafka sls-k '{"n": 16}'
  wait_for 60 "sls-sink to get message 16 from sls-k" has_got sls-sink sls-k 16
  [[ $(got sls-sink sls-k) == "16 sls-k/"*" kafkatriggers.kubeless.io application/json sls-k "* ]]
}

# received POD TRIGGER: the pod's kubeless_event_messages_received_total
# for the trigger (0 when it has no such series: it never consumed it),
# from its /metrics through the API server's pod proxy.
received() {
  kubectl get --raw "/api/v1/namespaces/kubeless/pods/$1:8080/proxy/metrics" |
    awk -v t="trigger=\"$2\"" '/^kubeless_event_messages_received_total\{/ && index($0, t) { n += $NF } END { printf "%d\n", n }'
}

# lease_holder: the pod that holds the controller's Lease.
lease_holder() {
  kubectl -n kubeless get lease kubeless-controller.kubeless.io -o jsonpath='{.spec.holderIdentity}' | cut -d_ -f1
}

@test "with two controller replicas only the leader consumes; when it goes, the other takes over the trigger's consumer group" {
  kubectl -n kubeless scale deployment kubeless-controller-manager --replicas=2 >&2
  kubectl -n kubeless rollout status deployment kubeless-controller-manager --timeout=180s >&2
  local pods leader standby
  pods=$(kubectl -n kubeless get pods -l kubeless=controller --field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.name}')
  [ "$(wc -w <<<"$pods")" = 2 ]
  wait_for 60 "a leader" bash -c "kubectl -n kubeless get lease kubeless-controller.kubeless.io -o jsonpath='{.spec.holderIdentity}' | grep -q ."
  leader=$(lease_holder)
  standby=$(tr ' ' '\n' <<<"$pods" | grep -vx "$leader")
  [[ -n $leader && $(wc -w <<<"$standby") == 1 ]]
  echo "# leader $leader, standby $standby" >&3

  "$KUBELESS" topic create lead-k --brokers "$KAFKA" >&2
  "$KUBELESS" trigger kafka create lead-k --trigger-topic lead-k --function-name ev-sink >&2
  wait_ready kafkatrigger lead-k
  publish_kafka lead-k '{"n": 17}'
  wait_for 60 "ev-sink to get message 17 from lead-k" has_got ev-sink lead-k 17
  [ "$(received "$leader" lead-k)" -ge 1 ]
  [ "$(received "$standby" lead-k)" = 0 ]

  # the leader's pod goes (the cheapest to delete when scaled to 1)
  kubectl -n kubeless annotate pod "$leader" controller.kubernetes.io/pod-deletion-cost=-1000 >&2
  kubectl -n kubeless scale deployment kubeless-controller-manager --replicas=1 >&2
  kubectl -n kubeless wait --for=delete pod "$leader" --timeout=120s >&2
  wait_for 120 "$standby to hold the Lease" bash -c "kubectl -n kubeless get lease kubeless-controller.kubeless.io -o jsonpath='{.spec.holderIdentity}' | grep -q '^${standby}_'"
  publish_kafka lead-k '{"n": 18}'
  wait_for 120 "ev-sink to get message 18 from lead-k" has_got ev-sink lead-k 18
  [ "$(received "$standby" lead-k)" -ge 1 ]
  # the new leader went on from the group's committed offset: 17 is not
  # delivered again
  [ "$(calls ev-sink lead-k 17)" -eq 1 ]
}
