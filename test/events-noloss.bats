#!/usr/bin/env bats
# No lost events (docs/events.md, "No lost events"): 10,000 Kafka messages
# to a function of the local engine while the daemon is killed with SIGKILL
# twice and the function's instance is killed twice. Every message must be
# delivered at least once; duplicates are counted and reported.
#
# The broker is hack/kfake (franz-go's fake Kafka), or the brokers given in
# KAFKA_BROKERS. The function posts each message's number to a receiver
# (hack/eventload receive) that appends it to a file before it answers: the
# record lives outside the daemon, so a kill does not lose it (the
# function's printed lines pass through the daemon and may be lost with
# it). Each kill lands while calls are in flight: the receiver holds the
# calls, a new batch is published, the kill comes once a call is held,
# then the receiver lets the calls go on (those whose caller died are not
# recorded: their messages must come again). Before the next round the
# test waits for a delivery by the new instance.
#
# KUBELESS_NOLOSS_MESSAGES sets the number of messages (default 10000).
#
# Run: make build && KUBELESS=$PWD/bin/kubeless bats test/events-noloss.bats

bats_require_minimum_version 1.5.0

load lib/libtest

setup_file() {
  need_tool go python3 curl
  local bin=$BATS_FILE_TMPDIR/bin
  mkdir -p "$bin"
  (cd "$REPO_ROOT" && go build -o "$bin/kfake" ./hack/kfake && go build -o "$bin/eventload" ./hack/eventload) >&2
  export EVENTLOAD=$bin/eventload
  if [[ -n ${KAFKA_BROKERS:-} ]]; then
    KAFKA=$KAFKA_BROKERS
  else
    "$bin/kfake" -addr-file "$BATS_FILE_TMPDIR/kafka.addr" >"$BATS_FILE_TMPDIR/kfake.log" 2>&1 3>&- &
    echo $! >"$BATS_FILE_TMPDIR/kfake.pid"
    wait_for 60 "kfake to write its address" test -s "$BATS_FILE_TMPDIR/kafka.addr"
    KAFKA=$(cat "$BATS_FILE_TMPDIR/kafka.addr")
  fi
  export KAFKA
  export RECEIVED=$BATS_FILE_TMPDIR/received.log
  "$EVENTLOAD" receive -addr-file "$BATS_FILE_TMPDIR/receiver.addr" -out "$RECEIVED" >"$BATS_FILE_TMPDIR/receiver.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/receiver.pid"
  wait_for 60 "the receiver to write its address" test -s "$BATS_FILE_TMPDIR/receiver.addr"
  RECEIVER=$(cat "$BATS_FILE_TMPDIR/receiver.addr")
  export RECEIVER
  engine_setup
  # The sink posts "<n> <instance>" for each message, <instance> being a
  # token drawn when the instance starts, and answers 2xx only once the
  # receiver has the line.
  mkdir -p "$BATS_FILE_TMPDIR/sink"
  cat >"$BATS_FILE_TMPDIR/sink/sink.py" <<'PY'
import os, urllib.request, uuid

INSTANCE = uuid.uuid4().hex[:12]


def foo(event, context):
    line = "%s %s" % (event["data"]["n"], INSTANCE)
    urllib.request.urlopen("http://" + os.environ["RECEIVER"] + "/", data=line.encode(), timeout=30).read()
    return "ok"
PY
}

teardown_file() {
  engine_teardown
  local f
  for f in kfake receiver; do
    if [[ -f $BATS_FILE_TMPDIR/$f.pid ]]; then
      kill "$(cat "$BATS_FILE_TMPDIR/$f.pid")" 2>/dev/null || true
    fi
  done
}

# distinct_got: how many different messages (numbered from 1) the receiver
# has.
distinct_got() {
  awk '$1 >= 1 { print $1 }' "$RECEIVED" | sort -u | grep -c . || true
}

# has_got <n>: the receiver has at least n different messages.
has_got() {
  local got
  got=$(distinct_got)
  echo "$got of $1"
  ((got >= $1))
}

# got_message <n>: the receiver has message n.
got_message() {
  awk -v n="$1" '$1 == n { f = 1 } END { exit !f }' "$RECEIVED"
}

# last_instance: the instance token of the last line received.
last_instance() {
  tail -n 1 "$RECEIVED" | awk '{ print $2 }'
}

# got_from_other_instance <token>: a line after the first mention of token
# came from another instance.
got_from_other_instance() {
  awk -v t="$1" '$2 == t { seen = 1 } seen && $2 != t { f = 1 } END { exit !f }' "$RECEIVED"
}

# instance_pids <daemon pid>: the function instances of the daemon (its
# kubeless-host processes, or `kubeless runtime run` ones when the daemon
# has no kubeless-host beside it; in the sandbox each is the first process
# of its namespaces, the language's worker its child).
instance_pids() {
  ps -o pid=,args= -s "$1" | awk '$2 !~ /bwrap$/ && ($2 ~ /\/kubeless-host$/ || ($3 == "runtime" && $4 == "run")) { print $1 }'
}

# has_instance: the daemon has an instance.
has_instance() {
  [ -n "$(instance_pids "$(engine_pid)")" ]
}

# trigger_ready <name>: `kubeless trigger kafka list` shows it Ready.
trigger_ready() {
  "$KUBELESS" trigger kafka list | awk -v t="$1" '$1 == t && $NF == "True" { ok = 1 } END { exit !ok }'
}

# publish <from> <to>: publishes the messages {"n": from} ... {"n": to}.
publish() {
  "$EVENTLOAD" publish -brokers "$KAFKA" -topic noloss -from "$1" -to "$2"
}

# receiver <verb> <path>: a request to the receiver.
receiver() {
  curl -sS --fail -X "$1" "http://$RECEIVER$2"
}

# has_held: the receiver holds at least one call.
has_held() {
  local n
  n=$(receiver GET /held)
  echo "$n calls held"
  ((n >= 1))
}

# kill_instance: SIGKILLs the function's instance.
kill_instance() {
  local pids pid
  wait_for 120 "an instance of the function" has_instance
  pids=$(instance_pids "$(engine_pid)")
  echo "$(date -u +%T) SIGKILL instance(s) $pids" >&2
  # shellcheck disable=SC2086
  kill -9 $pids
  for pid in $pids; do
    wait_for 30 "the killed instance (pid $pid) to be gone" process_gone "$pid"
  done
}

# kill_daemon: SIGKILLs the daemon, then starts it again with a command.
kill_daemon() {
  local old
  old=$(engine_pid)
  [ -n "$old" ]
  echo "$old" >>"$(killed_daemons_file)"
  echo "$(date -u +%T) SIGKILL daemon $old" >&2
  kill -9 "$old"
  wait_for 10 "the killed daemon (pid $old) to be gone" process_gone "$old"
  with_std_fds_only "$KUBELESS" function ls >/dev/null
  [ "$(engine_pid)" != "$old" ]
}

# kill_round <what> <from> <to>: publishes messages from..to while the
# receiver holds the calls, kills <what> (instance or daemon) once a call
# is held, lets the calls go on, and waits for a delivery by an instance
# other than the one before.
kill_round() {
  local token
  token=$(last_instance)
  receiver POST /hold
  publish "$2" "$3"
  wait_for 120 "a call of message $2..$3 held by the receiver" has_held || {
    report_lost "$(($2 - 1))"
    return 1
  }
  "kill_$1"
  receiver POST /release
  # The calls the kill cut short are not recorded: their messages come
  # again, by the new instance, unless they were lost.
  wait_for 300 "a delivery by an instance other than $token (after the $1 was killed)" got_from_other_instance "$token" || {
    report_lost "$3"
    return 1
  }
}

# report_lost <n>: prints the messages of 1..n that never arrived, and
# fails if there is one.
report_lost() {
  local lost
  lost=$(awk -v n="$1" '$1 >= 1 && $1 <= n { got[$1] = 1 } END { for (i = 1; i <= n; i++) if (!(i in got)) { print i; c++ } exit c > 0 }' "$RECEIVED") || true
  [[ -z $lost ]] && return 0
  echo "lost $(echo "$lost" | grep -c .) of the first $1 messages: $(echo "$lost" | head -n 20 | tr '\n' ' ')" >&2
  return 1
}

@test "kafka trigger: 10,000 messages, daemon killed with SIGKILL twice and the instance twice: none lost" {
  local n=${KUBELESS_NOLOSS_MESSAGES:-10000} q total distinct
  ((n >= 10))
  q=$((n / 5))
  "$KUBELESS" function deploy sink --runtime python3.11 --handler sink.foo \
    --from-file "$BATS_FILE_TMPDIR/sink/sink.py" --label topic=noloss --env "RECEIVER=$RECEIVER" >&2
  wait_for 180 "function sink READY" function_ready sink
  "$KUBELESS" topic create noloss --partitions 3 --brokers "$KAFKA" >&2
  # Retries enough to outlast an instance's restart: a message given up
  # would be lost to the function, and the test would say so.
  "$KUBELESS" trigger kafka create noloss --trigger-topic noloss --function-selector topic=noloss \
    --brokers "$KAFKA" --parallelism 4 --max-retries 1000 --retry-backoff 200ms >&2
  wait_for 60 "the Kafka trigger noloss Ready" trigger_ready noloss
  # A group that has committed nothing starts at the topic's end: message 0
  # delivered says the consumer has its starting offsets.
  publish 0 0
  wait_for 60 "the first message (0) to be delivered" got_message 0

  publish 1 "$q"
  wait_for 300 "$((q / 2)) messages delivered" has_got $((q / 2))
  kill_round instance $((q + 1)) $((2 * q))
  kill_round daemon $((2 * q + 1)) $((3 * q))
  kill_round instance $((3 * q + 1)) $((4 * q))
  kill_round daemon $((4 * q + 1)) "$n"
  wait_for 300 "all $n messages delivered" has_got "$n" || true

  report_lost "$n"
  total=$(awk '$1 >= 1' "$RECEIVED" | grep -c .)
  distinct=$(distinct_got)
  [ "$distinct" -eq "$n" ]
  echo "# $n messages, all delivered: $total deliveries, $((total - distinct)) duplicates; 2 daemon SIGKILLs, 2 instance SIGKILLs" >&3
}

@test "no errors in the engine log" {
  # The kills make failed calls, retried, logged as warnings; an error
  # (a message given up, a consumer stopped) is a fault.
  local log
  log=$(engine_log)
  [ -s "$log" ]
  run grep -E 'level=ERROR' "$log"
  if [ "$status" -eq 0 ]; then
    echo "errors in $log:" >&2
    printf '%s\n' "$output" >&2
  fi
  [ "$status" -eq 1 ]
}
