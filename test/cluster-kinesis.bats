#!/usr/bin/env bats
# End-to-end tests of the Kinesis trigger on the Kubernetes engine
# (docs/events.md), on the real single-node cluster of hack/cluster-up.sh:
# the controller consumes a shard of a stream of kinesalite (the Kinesis
# emulator, hack/kinesalite.sh), which the test starts on the node's address
# so that the controller reaches it; the function runs in a pod and is
# called through its Service. The triggers name the endpoint and a Secret
# with the AWS keys; `trigger kinesis create-stream` and `publish` run here,
# with the same keys in a folder.
#
# The function hands every event it gets to a receiver of this file (on the
# node's address) before it answers, one line per call (test/lib/cluster.bash).
#
# Run: CLUSTER_BATS=test/cluster-kinesis.bats hack/e2e-cluster.sh, or on a
# cluster of hack/cluster-up.sh:
#   source /tmp/kubeless-cluster/env && bats --timing test/cluster-kinesis.bats
# Without a reachable cluster every test is skipped (fails under CI).

bats_require_minimum_version 1.5.0

load lib/libtest
load lib/cluster

TRIGGERS=(kin-cli kin-orig kin-gone kin-mark kin-late)
SHARD=shardId-000000000000

setup_file() {
  cluster_setup_file
  [[ -z $CLUSTER_SKIP ]] || return 0
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    CLUSTER_SKIP="node and npm are not installed (kinesalite needs them)"
    return 0
  fi
  cleanup_objects
  # the node's address: the pods and the controller reach it
  NODE_IP=$(kubectl get node -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
  [[ -n $NODE_IP ]]
  export NODE_IP
  # fd 3 closed: bats waits for every process that holds it
  "$REPO_ROOT/hack/kinesalite.sh" run "$BATS_FILE_TMPDIR/kinesis.addr" 0 "$NODE_IP" >"$BATS_FILE_TMPDIR/kinesalite.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/kinesalite.pid"
  # The AWS keys (kinesalite takes any): a Secret for the triggers, a
  # folder of the same files for the CLI's create-stream and publish.
  export AWS_SECRET_DIR=$BATS_FILE_TMPDIR/aws
  mkdir -p "$AWS_SECRET_DIR"
  echo kinesis-id >"$AWS_SECRET_DIR/aws_access_key_id"
  echo kinesis-key >"$AWS_SECRET_DIR/aws_secret_access_key"
  kubectl create secret generic kin-aws --from-file "$AWS_SECRET_DIR/aws_access_key_id" \
    --from-file "$AWS_SECRET_DIR/aws_secret_access_key" >&2
  start_receiver
  write_sink "$BATS_FILE_TMPDIR/sink"
  deploy_sink kin-sink
  wait_for 300 "kinesalite to write its address" test -s "$BATS_FILE_TMPDIR/kinesis.addr"
  KINESIS=$(cat "$BATS_FILE_TMPDIR/kinesis.addr")
  export KINESIS
  wait_function kin-sink
}

teardown_file() {
  local p
  for p in kinesalite receiver; do
    if [[ -f $BATS_FILE_TMPDIR/$p.pid ]]; then
      kill "$(cat "$BATS_FILE_TMPDIR/$p.pid")" 2>/dev/null || true
    fi
  done
  if [[ -n $CLUSTER_SKIP ]]; then
    return 0
  fi
  cleanup_objects
}


# A failed test shows the triggers' conditions and the controller's last
# event log lines.
teardown() {
  if [[ -n ${BATS_TEST_COMPLETED:-} || -n $CLUSTER_SKIP ]]; then
    return 0
  fi
  kubectl get kinesistriggers -o custom-columns='NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].reason,MESSAGE:.status.conditions[?(@.type=="Ready")].message' || true
  kubectl get pods -o wide || true
  if [[ -f $CLUSTER_STATE/controller.log ]]; then
    grep -i 'event\|trigger\|kinesis' "$CLUSTER_STATE/controller.log" | tail -40 || true
  else
    kubectl -n kubeless logs deployment/kubeless-controller-manager --tail=200 | grep -i 'event\|trigger\|kinesis' | tail -40 || true
  fi
}

# cleanup_objects: this file's triggers, function and Secret, deleted.
cleanup_objects() {
  local t
  for t in "${TRIGGERS[@]}"; do kubectl delete kinesistrigger "$t" --ignore-not-found >/dev/null 2>&1 || true; done
  "$KUBELESS" function delete kin-sink >/dev/null 2>&1 || true
  kubectl delete secret kin-aws --ignore-not-found >/dev/null 2>&1 || true
}

# kinesis_cli VERB [args]: kubeless trigger kinesis VERB against the
# kinesalite, from this machine (create-stream, publish).
kinesis_cli() {
  local verb=$1
  shift
  "$KUBELESS" trigger kinesis "$verb" --aws-region us-east-1 --endpoint "$KINESIS" --secret "$AWS_SECRET_DIR" "$@"
}

# create_trigger NAME STREAM: a trigger of STREAM's shard to kin-sink,
# created with the CLI, with the kinesalite's endpoint and the Secret.
create_trigger() {
  "$KUBELESS" trigger kinesis create "$1" --function-name kin-sink --aws-region us-east-1 \
    --stream "$2" --shard-id "$SHARD" --endpoint "$KINESIS" --secret kin-aws >&2
}

# checkpoint_is TRIGGER JSON: kin-sink's checkpoint of TRIGGER, in the
# trigger's ConfigMap, is JSON.
checkpoint_is() {
  local got
  got=$(kubectl get configmap "$1-kinesis-checkpoint" -o jsonpath='{.data.kin-sink}')
  echo "checkpoint: $got"
  [ "$got" = "$2" ]
}

# put STREAM N: the record {"n": N} put into STREAM.
put() {
  kinesis_cli publish --stream "$1" --partition-key k --records "{\"n\": $2}" >&2
}

@test "a KinesisTrigger created with the CLI delivers to a function on a pod, with the original's event headers, and checkpoints in its ConfigMap" {
  run --separate-stderr kinesis_cli create-stream --stream-name kin-cli
  [ "$status" -eq 0 ]
  [ "$stderr" = "Kinesis stream kin-cli created with 1 shard(s)" ]
  run --separate-stderr create_trigger kin-cli kin-cli
  [ "$status" -eq 0 ]
  wait_ready kinesistrigger kin-cli
  [ "$(condition kinesistrigger kin-cli message)" = "delivers kin-cli from $KINESIS to kin-sink" ]
  [ "$(kubectl get kinesistrigger kin-cli -o jsonpath='{.spec.secret} {.spec.endpoint}')" = "kin-aws $KINESIS" ]
  run --separate-stderr "$KUBELESS" trigger kinesis list
  [[ $output =~ kin-cli\ +default\ +kin-cli\ +$SHARD\ +kin-sink\ +True ]]

  put kin-cli 1
  wait_for 60 "kin-sink to get record 1 from kin-cli" has_got kin-sink kin-cli 1
  run got kin-sink kin-cli
  [[ $output =~ ^1\ kin-cli/$SHARD/[0-9]+\ kinesistriggers\.kubeless\.io\ application/json\ kin-cli\ [0-9-]+\ [0-9:.]+\ \+0000\ UTC$ ]]
  # the checkpoint: the sequence number of the record delivered
  local seq=${output#1 kin-cli/$SHARD/}
  seq=${seq%% *}
  wait_for 60 "the checkpoint of kin-cli at $seq" checkpoint_is kin-cli \
    "{\"stream\":\"kin-cli\",\"shard\":\"$SHARD\",\"sequenceNumber\":\"$seq\"}"
}

@test "a KinesisTrigger in the original's format applies unchanged and delivers" {
  kinesis_cli create-stream --stream-name kin-orig >&2
  kubectl apply -f - <<EOF
apiVersion: kubeless.io/v1beta1
kind: KinesisTrigger
metadata:
  name: kin-orig
  labels:
    created-by: kubeless
spec:
  function-name: kin-sink
  aws-region: us-east-1
  stream: kin-orig
  shard: $SHARD
  secret: kin-aws
  endpoint: $KINESIS
EOF
  wait_ready kinesistrigger kin-orig
  put kin-orig 2
  wait_for 60 "kin-sink to get record 2 from kin-orig" has_got kin-sink kin-orig 2
  [[ $(got kin-sink kin-orig) == "2 kin-orig/$SHARD/"*" kinesistriggers.kubeless.io application/json kin-orig "*" +0000 UTC" ]]
}

# Proof that a deleted trigger delivers nothing more, without waiting a
# while (as in test/cluster-events.bats): after the delete, another
# KinesisTrigger (kin-mark) is created and Ready. The controller reconciles
# the triggers of a kind one at a time in the order of the API's events, so
# the deleted trigger's consumer was stopped before kin-mark became Ready.
# Then a record goes to the deleted trigger's stream, and after it a marker
# to kin-mark's: once the marker has been delivered, the first record has
# not been.
@test "deleting a KinesisTrigger stops its delivery" {
  local s
  for s in kin-gone kin-mark; do kinesis_cli create-stream --stream-name "$s" >&2; done
  create_trigger kin-gone kin-gone
  wait_ready kinesistrigger kin-gone
  put kin-gone 3
  wait_for 60 "kin-sink to get record 3 from kin-gone" has_got kin-sink kin-gone 3

  run --separate-stderr "$KUBELESS" trigger kinesis delete kin-gone
  [ "$status" -eq 0 ]
  create_trigger kin-mark kin-mark
  wait_ready kinesistrigger kin-mark

  put kin-gone 4
  put kin-mark 5
  wait_for 60 "kin-sink to get the marker 5 from kin-mark" has_got kin-sink kin-mark 5
  [ "$(calls kin-sink kin-gone 4)" -eq 0 ]
  [ "$(calls kin-sink kin-gone 3)" -eq 1 ]
  run --separate-stderr "$KUBELESS" trigger kinesis list
  [[ $output != *"kin-gone "* ]]
}

@test "a KinesisTrigger of a stream that does not exist is Ready=False BrokerUnreachable, saying how to create it, and delivers once it is created" {
  create_trigger kin-late kin-late
  wait_for 120 "kin-late BrokerUnreachable" ready_is kinesistrigger kin-late False BrokerUnreachable
  run condition kinesistrigger kin-late message
  [[ $output == *"Kinesis stream kin-late has no shard $SHARD in region us-east-1"* ]]
  [[ $output == *"create the stream (kubeless trigger kinesis create-stream --stream-name kin-late)"* ]]

  kinesis_cli create-stream --stream-name kin-late >&2
  wait_ready kinesistrigger kin-late
  put kin-late 6
  wait_for 60 "kin-sink to get record 6 from kin-late" has_got kin-sink kin-late 6
  [ "$(calls kin-sink kin-late 6)" -eq 1 ]
}
