#!/usr/bin/env bats
# End-to-end tests of the Kafka and NATS triggers on the local engine
# (docs/events.md), against brokers the tests start: a Kafka-protocol broker
# (hack/kfake, franz-go's fake Kafka: no Apache Kafka build can be fetched
# here) and nats-server, both built from the Go modules of go.mod into this
# file's temporary folder.
#
# Run: make build && KUBELESS=$PWD/bin/kubeless bats test/events.bats

bats_require_minimum_version 1.5.0

load lib/libtest

setup_file() {
  need_tool go python3
  local bin=$BATS_FILE_TMPDIR/bin
  mkdir -p "$bin"
  (cd "$REPO_ROOT" && go build -o "$bin/kfake" ./hack/kfake && go build -o "$bin/nats-server" github.com/nats-io/nats-server/v2) >&2
  "$bin/kfake" -addr-file "$BATS_FILE_TMPDIR/kafka.addr" >"$BATS_FILE_TMPDIR/kfake.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/kfake.pid"
  local nats_port
  nats_port=$(free_port)
  "$bin/nats-server" -a 127.0.0.1 -p "$nats_port" >"$BATS_FILE_TMPDIR/nats.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/nats.pid"
  export NATS_URL=nats://127.0.0.1:$nats_port
  wait_for 60 "kfake to write its address" test -s "$BATS_FILE_TMPDIR/kafka.addr"
  KAFKA=$(cat "$BATS_FILE_TMPDIR/kafka.addr")
  export KAFKA
  wait_for 60 "nats-server to listen on $nats_port" bash -c "exec 9<>/dev/tcp/127.0.0.1/$nats_port"
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

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
  RECEIVER_PORT=$(free_port)
  export RECEIVER_PORT
  python3 "$BATS_FILE_TMPDIR/receiver.py" "$RECEIVER_PORT" "$BATS_FILE_TMPDIR/received.log" 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/receiver.pid"
  wait_for 60 "the receiver to listen on $RECEIVER_PORT" bash -c "exec 9<>/dev/tcp/127.0.0.1/$RECEIVER_PORT"
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
  for f in kfake nats receiver; do
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
  local port
  port=$(free_port)
  run --separate-stderr "$KUBELESS" trigger kafka create down --trigger-topic orders --function-selector topic=orders --brokers "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  wait_for 60 "the Kafka trigger down to say BrokerUnreachable" trigger_ready kafka down "BrokerUnreachable: no Kafka broker answers at 127.0.0.1:$port"
  run --separate-stderr "$KUBELESS" trigger kafka delete down
  [ "$status" -eq 0 ]
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
