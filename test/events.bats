#!/usr/bin/env bats
# End-to-end tests of the Kafka, NATS and Kinesis triggers on the local
# engine (docs/events.md), against brokers the tests start: a Kafka-protocol
# broker (hack/kfake, franz-go's fake Kafka: no Apache Kafka build can be
# fetched here) and nats-server, both built from the Go modules of go.mod
# into this file's temporary folder, and kinesalite (npm, installed by
# hack/kinesalite.sh the first time).
#
# Run: make build && KUBELESS=$PWD/bin/kubeless bats test/events.bats

bats_require_minimum_version 1.5.0

load lib/libtest

setup_file() {
  need_tool go python3 node npm
  "$REPO_ROOT/hack/kinesalite.sh" run "$BATS_FILE_TMPDIR/kinesis.addr" >"$BATS_FILE_TMPDIR/kinesalite.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/kinesalite.pid"
  # The credentials of the Kinesis triggers: on the local engine, a folder
  # with the keys of the original's Secret as files.
  export AWS_SECRET_DIR=$BATS_FILE_TMPDIR/aws
  mkdir -p "$AWS_SECRET_DIR"
  echo test >"$AWS_SECRET_DIR/aws_access_key_id"
  echo test >"$AWS_SECRET_DIR/aws_secret_access_key"
  local bin=$BATS_FILE_TMPDIR/bin
  mkdir -p "$bin"
  (cd "$REPO_ROOT" && go build -o "$bin/kfake" ./hack/kfake && go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2) >&2
  "$bin/kfake" -addr-file "$BATS_FILE_TMPDIR/kafka.addr" >"$BATS_FILE_TMPDIR/kfake.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/kfake.pid"
  # nats-server binds a port the kernel chooses (-p -1) and writes it to a
  # ports file (nats-server_<pid>.ports: {"nats": ["nats://127.0.0.1:<port>"], ...}).
  local nats_port nats_ports=$BATS_FILE_TMPDIR/nats-ports
  mkdir -p "$nats_ports"
  "$bin/nats-server" -a 127.0.0.1 -p -1 --ports_file_dir "$nats_ports" >"$BATS_FILE_TMPDIR/nats.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/nats.pid"
  wait_for 60 "nats-server to write its ports file" test -s "$nats_ports/nats-server_$(cat "$BATS_FILE_TMPDIR/nats.pid").ports"
  nats_port=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["nats"][0].rsplit(":", 1)[1])' \
    "$nats_ports/nats-server_$(cat "$BATS_FILE_TMPDIR/nats.pid").ports")
  export NATS_URL=nats://127.0.0.1:$nats_port
  wait_for 60 "kfake to write its address" test -s "$BATS_FILE_TMPDIR/kafka.addr"
  KAFKA=$(cat "$BATS_FILE_TMPDIR/kafka.addr")
  export KAFKA
  wait_for 60 "nats-server to listen on $nats_port" bash -c "exec 9<>/dev/tcp/127.0.0.1/$nats_port"
  wait_for 300 "kinesalite to write its address" test -s "$BATS_FILE_TMPDIR/kinesis.addr"
  KINESIS=$(cat "$BATS_FILE_TMPDIR/kinesis.addr")
  export KINESIS
  engine_setup
  # The receiver: appends each POST body as a line of received.log, written
  # before it answers, so the record survives a daemon killed with SIGKILL
  # (an instance's own output goes through the daemon and may not).
  cat >"$BATS_FILE_TMPDIR/receiver.py" <<'PY'
import http.server, os, sys

out = open(sys.argv[2], "a")

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out.write(body.decode() + "\n")
        out.flush()
        os.fsync(out.fileno())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

# Port 0: the kernel chooses; the port is written (whole, by a rename) once
# the server listens.
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
PY
  python3 "$BATS_FILE_TMPDIR/receiver.py" "$BATS_FILE_TMPDIR/receiver.port" "$BATS_FILE_TMPDIR/received.log" 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/receiver.pid"
  RECEIVER_PORT=$(port_from_file 60 "$BATS_FILE_TMPDIR/receiver.port" "the receiver")
  export RECEIVER_PORT
  # The sink: posts one line per event it gets to the receiver, and answers
  # 2xx only once the receiver has it.
  mkdir -p "$BATS_FILE_TMPDIR/sink"
  cat >"$BATS_FILE_TMPDIR/sink/sink.py" <<'PY'
import os, urllib.request

def foo(event, context):
    line = " ".join(str(x) for x in ["got", os.environ["SINK"], event["data"].get("n"), event["event-id"],
                                     event["event-namespace"], event["event-type"], event["event-time"]])
    urllib.request.urlopen("http://127.0.0.1:" + os.environ["RECEIVER_PORT"] + "/", data=line.encode(), timeout=30).read()
    return "ok"
PY
}

teardown_file() {
  engine_teardown
  local f
  for f in kfake nats kinesalite receiver refusing; do
    if [[ -f $BATS_FILE_TMPDIR/$f.pid ]]; then
      kill "$(cat "$BATS_FILE_TMPDIR/$f.pid")" 2>/dev/null || true
    fi
  done
}

# deploy_sink <name> <label>: the sink function, labelled topic=<label>.
deploy_sink() {
  kubeless_function_delete "$1"
  "$KUBELESS" function deploy "$1" --runtime python3.11 --handler sink.foo \
    --from-file "$BATS_FILE_TMPDIR/sink/sink.py" --label "topic=$2" \
    --env "SINK=$1" --env "RECEIVER_PORT=$RECEIVER_PORT" >&2
  wait_for 180 "function $1 READY" function_ready "$1"
}

# got_lines <function>: the events the function got, one line each:
# "<n> <event-id> <event-namespace> <event-type> <event-time>".
got_lines() {
  [[ -f $BATS_FILE_TMPDIR/received.log ]] || return 0
  awk -v f="$1" '$1 == "got" && $2 == f { sub(/^got [^ ]+ /, ""); print }' "$BATS_FILE_TMPDIR/received.log"
}

# distinct_got <function>: how many different messages the function got.
distinct_got() {
  got_lines "$1" | awk '{ print $1 }' | sort -u | grep -c . || true
}

# has_got <function> <n>: the function got at least n different messages.
has_got() {
  local got
  got=$(distinct_got "$1")
  echo "$got of $2"
  ((got >= $2))
}

# trigger_ready <kind> <name> [reason]: `kubeless trigger <kind> list` shows
# the trigger Ready (True), or with reason.
trigger_ready() {
  local want=${3:-True}
  "$KUBELESS" trigger "$1" list | awk -v t="$2" -v w="$want" '$1 == t { print; if (index($0, w)) ok = 1 } END { exit !ok }'
}

@test "kafka trigger: created with the CLI, it delivers each message with the original's event headers" {
  deploy_sink sink-a orders
  run --separate-stderr "$KUBELESS" topic create orders --partitions 2 --brokers "$KAFKA"
  [ "$status" -eq 0 ]
  run --separate-stderr "$KUBELESS" trigger kafka create orders --trigger-topic orders --function-selector topic=orders --brokers "$KAFKA"
  [ "$status" -eq 0 ]
  [ "$stderr" = "Kafka trigger orders created in namespace default successfully!" ]
  wait_for 60 "the Kafka trigger orders Ready" trigger_ready kafka orders
  run --separate-stderr "$KUBELESS" topic publish --topic orders --data '{"n": 1}' --brokers "$KAFKA"
  [ "$status" -eq 0 ]
  wait_for 60 "sink-a to get the message" has_got sink-a 1
  run got_lines sink-a
  [[ $output =~ ^1\ orders/[01]/0\ kafkatriggers.kubeless.io\ application/json\ .*UTC ]]
  run --separate-stderr "$KUBELESS" topic list --brokers "$KAFKA"
  [[ $output == *orders* ]]
}

@test "kafka trigger: bad input is refused with what to fix; an unreachable broker shows BrokerUnreachable" {
  run --separate-stderr "$KUBELESS" trigger kafka create bad --trigger-topic t --function-name nope --brokers "$KAFKA"
  [ "$status" -eq 1 ]
  assert_error_line 'function "nope" not found in namespace "default"'
  run --separate-stderr "$KUBELESS" trigger kafka create bad --trigger-topic t --function-selector 'topic in (a' --brokers "$KAFKA"
  [ "$status" -eq 1 ]
  assert_error_line 'invalid --function-selector "topic in (a"'
  # A port nothing answers on: held bound, not listening, for the test.
  local port
  refusing_port "$BATS_TEST_TMPDIR/down.port" >"$BATS_FILE_TMPDIR/refusing.pid"
  port=$(port_from_file 10 "$BATS_TEST_TMPDIR/down.port" "the port holder")
  run --separate-stderr "$KUBELESS" trigger kafka create down --trigger-topic orders --function-selector topic=orders --brokers "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  wait_for 60 "the Kafka trigger down to say BrokerUnreachable" trigger_ready kafka down "BrokerUnreachable: no Kafka broker answers at 127.0.0.1:$port"
  run --separate-stderr "$KUBELESS" trigger kafka delete down
  [ "$status" -eq 0 ]
  kill "$(cat "$BATS_FILE_TMPDIR/refusing.pid")"
}

@test "nats trigger: created with the CLI, it delivers what trigger nats publish sends" {
  deploy_sink sink-n greet
  run --separate-stderr "$KUBELESS" trigger nats create greet --trigger-topic greet --function-selector topic=greet --url "$NATS_URL"
  [ "$status" -eq 0 ]
  wait_for 60 "the NATS trigger greet Ready" trigger_ready nats greet
  run --separate-stderr "$KUBELESS" trigger nats publish --url "$NATS_URL" --topic greet --message '{"n": 7}'
  [ "$status" -eq 0 ]
  wait_for 60 "sink-n to get the message" has_got sink-n 1
  run got_lines sink-n
  [[ $output =~ ^7\ .+\ natstriggers.kubeless.io\ application/json ]]
}

# kinesis <verb> [args]: kubeless trigger kinesis <verb> against the
# kinesalite, with the region and credentials every verb takes.
kinesis() {
  local verb=$1
  shift
  "$KUBELESS" trigger kinesis "$verb" --aws-region us-east-1 --endpoint "$KINESIS" --secret "$AWS_SECRET_DIR" "$@"
}

@test "kinesis trigger: created with the CLI, it delivers what trigger kinesis publish puts, with the original's event headers" {
  deploy_sink sink-s clicks
  run --separate-stderr kinesis create-stream --stream-name clicks
  [ "$status" -eq 0 ]
  [ "$stderr" = "Kinesis stream clicks created with 1 shard(s)" ]
  run --separate-stderr kinesis create clicks --function-name sink-s --stream clicks --shard-id shardId-000000000000
  [ "$status" -eq 0 ]
  [ "$stderr" = "Kinesis trigger clicks created in namespace default successfully!" ]
  wait_for 60 "the Kinesis trigger clicks Ready" trigger_ready kinesis clicks
  run --separate-stderr kinesis publish --stream clicks --partition-key k --records '{"n": 3}'
  [ "$status" -eq 0 ]
  wait_for 60 "sink-s to get the record" has_got sink-s 1
  run got_lines sink-s
  [[ $output =~ ^3\ clicks/shardId-000000000000/[0-9]+\ kinesistriggers.kubeless.io\ application/json\ .*UTC ]]
  run --separate-stderr "$KUBELESS" trigger kinesis list
  [ "$status" -eq 0 ]
  [[ $output == *"clicks"*"clicks"*"shardId-000000000000"*"sink-s"*"True"* ]]
}

@test "kinesis trigger: bad input is refused with what to fix; a missing stream shows BrokerUnreachable" {
  run --separate-stderr kinesis create bad --function-name nope --stream clicks --shard-id shardId-000000000000
  [ "$status" -eq 1 ]
  assert_error_line 'function "nope" not found in namespace "default"'
  run --separate-stderr kinesis create bad --function-name sink-s --stream clicks
  [ "$status" -eq 2 ]
  [ "${stderr%%$'\n'*}" = "Error: --shard-id is required: the shard whose records call the function, for example --shard-id shardId-000000000000" ]
  run --separate-stderr "$KUBELESS" trigger kinesis create bad --function-name sink-s --aws-region us-east-1 --stream clicks --shard-id shardId-000000000000 --secret "$BATS_FILE_TMPDIR"
  [ "$status" -eq 1 ]
  assert_error_line "give a folder that holds the files aws_access_key_id and aws_secret_access_key"
  run --separate-stderr kinesis create nostream --function-name sink-s --stream nostream --shard-id shardId-000000000000
  [ "$status" -eq 0 ]
  wait_for 60 "the Kinesis trigger nostream to say BrokerUnreachable" trigger_ready kinesis nostream "BrokerUnreachable: Kinesis stream nostream has no shard shardId-000000000000"
  run --separate-stderr kinesis create-stream --stream-name nostream
  [ "$status" -eq 0 ]
  wait_for 60 "the Kinesis trigger nostream Ready once its stream exists" trigger_ready kinesis nostream
  run --separate-stderr "$KUBELESS" trigger kinesis delete nostream
  [ "$status" -eq 0 ]
}

# Deleted, the trigger stops: a record put after it is not delivered. A
# trigger created again afterwards starts at the stream's end: it delivers
# the next record, and a consumer of the deleted trigger still running
# would have delivered the record before it first (a shard is read in
# order).
@test "kinesis trigger: deleting it stops delivery" {
  run --separate-stderr "$KUBELESS" trigger kinesis delete clicks
  [ "$status" -eq 0 ]
  run --separate-stderr "$KUBELESS" trigger kinesis list
  [ "$status" -eq 0 ]
  [[ $output != *"clicks "* ]]
  run --separate-stderr kinesis publish --stream clicks --partition-key k --records '{"n": 4}'
  [ "$status" -eq 0 ]
  run --separate-stderr kinesis create clicks --function-name sink-s --stream clicks --shard-id shardId-000000000000
  [ "$status" -eq 0 ]
  wait_for 60 "the Kinesis trigger clicks Ready again" trigger_ready kinesis clicks
  run --separate-stderr kinesis publish --stream clicks --partition-key k --records '{"n": 5}'
  [ "$status" -eq 0 ]
  wait_for 60 "sink-s to get the record put after the trigger was created again" has_got sink-s 2
  run got_lines sink-s
  [ "$(got_lines sink-s | awk '{ print $1 }' | tr '\n' ' ')" = "3 5 " ]
  run --separate-stderr "$KUBELESS" trigger kinesis delete clicks
  [ "$status" -eq 0 ]
  run --separate-stderr "$KUBELESS" trigger kinesis delete clicks
  [ "$status" -eq 1 ]
  assert_error_line 'Kinesis trigger "clicks" not found in namespace "default"'
}

@test "local engine event bus: a NATS trigger with no --url delivers what topic publish sends with no broker, counted on /metrics" {
  run --separate-stderr "$KUBELESS" local status
  [ "$status" -eq 0 ]
  [[ $output =~ event\ bus:[[:space:]]+nats://127\.0\.0\.1:[0-9]+ ]]
  deploy_sink sink-b bus
  run --separate-stderr "$KUBELESS" trigger nats create bus --trigger-topic bus --function-selector topic=bus
  [ "$status" -eq 0 ]
  wait_for 60 "the NATS trigger bus Ready" trigger_ready nats bus
  run --separate-stderr env -u KUBELESS_KAFKA_BROKERS "$KUBELESS" topic publish --topic bus --data '{"n": 3}'
  [ "$status" -eq 0 ]
  wait_for 60 "sink-b to get the message" has_got sink-b 1
  run got_lines sink-b
  [[ $output =~ ^3\ .+\ natstriggers.kubeless.io\ application/json ]]
  run curl -sS --unix-socket "$KUBELESS_HOME/engine.sock" http://kubeless/metrics
  [ "$status" -eq 0 ]
  [[ $output == *'kubeless_event_messages_delivered_total{function="sink-b",kind="NATSTrigger",namespace="default",trigger="bus"} 1'* ]]
  [[ $output == *'kubeless_event_messages_dead_lettered_total{function="sink-b",kind="NATSTrigger",namespace="default",trigger="bus"} 0'* ]]
}

@test "an event wakes a function at zero: a NATS trigger delivers to a function at 0/0 IDLE, which starts for it" {
  kubeless_function_delete sink-z
  run --separate-stderr "$KUBELESS" function deploy sink-z --runtime python3.11 --handler sink.foo \
    --from-file "$BATS_FILE_TMPDIR/sink/sink.py" --label topic=wake \
    --env SINK=sink-z --env "RECEIVER_PORT=$RECEIVER_PORT" --scale-to-zero --idle-window 1h
  [ "$status" -eq 0 ]
  [[ $stderr == *"Function sink-z is ready (0/0)"* ]]
  run --separate-stderr "$KUBELESS" function ls sink-z
  [[ $output == *"0/0 IDLE"* ]]
  run --separate-stderr "$KUBELESS" trigger nats create wake --trigger-topic wake --function-selector topic=wake
  [ "$status" -eq 0 ]
  wait_for 60 "the NATS trigger wake Ready" trigger_ready nats wake
  # The trigger being Ready started nothing: the function is still at zero.
  run --separate-stderr "$KUBELESS" function ls sink-z
  [[ $output == *"0/0 IDLE"* ]]
  run --separate-stderr env -u KUBELESS_KAFKA_BROKERS "$KUBELESS" topic publish --topic wake --data '{"n": 7}'
  [ "$status" -eq 0 ]
  wait_for 60 "sink-z to get the message" has_got sink-z 1
  run got_lines sink-z
  [[ $output =~ ^7\ .+\ natstriggers.kubeless.io\ application/json ]]
  run --separate-stderr "$KUBELESS" function describe sink-z
  [[ $output == *"0 -> 1"* ]]
  "$KUBELESS" trigger nats delete wake >&2
  kubeless_function_delete sink-z
}

# The no-loss test: N messages published while the daemon is killed with
# SIGKILL twice (each time the function's instances die with it and start
# again); every message must reach the function at least once.
@test "kafka trigger: no message lost when the daemon is killed with SIGKILL twice" {
  local n=${KUBELESS_EVENTS_MESSAGES:-200} i old round total distinct
  deploy_sink sink-k nolos
  "$KUBELESS" topic create nolos --partitions 3 --brokers "$KAFKA" >&2
  "$KUBELESS" trigger kafka create nolos --trigger-topic nolos --function-selector topic=nolos --brokers "$KAFKA" --parallelism 2 >&2
  wait_for 60 "the Kafka trigger nolos Ready" trigger_ready kafka nolos
  (
    for ((i = 1; i <= n; i++)); do
      "$KUBELESS" topic publish --topic nolos --data "{\"n\": $i}" --brokers "$KAFKA" || exit 1
    done
  ) 3>&- &
  local publisher=$!
  for round in 1 2; do
    wait_for 300 "sink-k to get $((round * n / 3)) messages before kill $round" has_got sink-k $((round * n / 3))
    old=$(engine_pid)
    [ -n "$old" ]
    echo "$old" >>"$(killed_daemons_file)"
    kill -9 "$old"
    wait_for 10 "the killed daemon (pid $old) to be gone" process_gone "$old"
    with_std_fds_only "$KUBELESS" function ls >/dev/null
  done
  wait "$publisher"
  wait_for 300 "sink-k to get all $n messages" has_got sink-k "$n" || true
  local lost=0
  for ((i = 1; i <= n; i++)); do
    got_lines sink-k | awk -v i="$i" '$1 == i { f = 1 } END { exit !f }' || { echo "message $i lost" >&2; lost=$((lost + 1)); }
  done
  [ "$lost" -eq 0 ]
  total=$(got_lines sink-k | grep -c .)
  distinct=$(distinct_got sink-k)
  echo "# $n messages, $distinct delivered, $((total - distinct)) duplicates, 2 daemon kills" >&3
}

@test "deleting a kafka trigger removes it from the list" {
  run --separate-stderr "$KUBELESS" trigger kafka delete orders
  [ "$status" -eq 0 ]
  run --separate-stderr "$KUBELESS" trigger kafka list
  [ "$status" -eq 0 ]
  [[ $output != *"orders "* ]]
  run --separate-stderr "$KUBELESS" trigger kafka delete orders
  [ "$status" -eq 1 ]
  assert_error_line 'Kafka trigger "orders" not found in namespace "default"'
}
