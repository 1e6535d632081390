#!/usr/bin/env bats
# End-to-end tests of scale to zero on the local engine: a function deployed
# with --scale-to-zero runs no instance until called, stops its last one
# after its idle window, is woken by HTTP calls and cron triggers, holds the
# calls that arrive while it starts, and says why when it cannot start.
#
# Run: make test-e2e, or bats --timing test/scale-to-zero.bats (uses
# $KUBELESS, default bin/kubeless). The engine runs in $BATS_FILE_TMPDIR with
# its gateway on a free port.
#
# Waits are on the function's status (ls, describe), bounded by generous
# deadlines that only turn a hang into a failure.

bats_require_minimum_version 1.5.0

load lib/libtest

setup_file() {
  engine_setup
}

teardown_file() {
  engine_teardown
}

# write_function <dir> <body of foo>: a python module hello.py, whose
# data(event) is the call's body as text.
write_function() {
  mkdir -p "$1"
  printf 'def data(event):\n    d = event["data"]\n    return d.decode() if isinstance(d, bytes) else str(d)\n\ndef foo(event, context):\n%s\n' "$2" >"$1/hello.py"
}

# wait_status <function> <text>: waits until `function ls <function>`
# shows text (at most 120 s).
wait_status() {
  local i
  for ((i = 0; i < 600; i++)); do
    if "$KUBELESS" function ls "$1" 2>/dev/null | grep -qF -- "$2"; then
      return 0
    fi
    sleep 0.2
  done
  echo "function $1 never showed '$2'; last ls:" >&2
  "$KUBELESS" function ls "$1" >&2
  return 1
}

# wait_describe <function> <text>: waits until describe shows text.
wait_describe() {
  local i
  for ((i = 0; i < 600; i++)); do
    if "$KUBELESS" function describe "$1" 2>/dev/null | grep -qF -- "$2"; then
      return 0
    fi
    sleep 0.2
  done
  echo "describe $1 never showed '$2':" >&2
  "$KUBELESS" function describe "$1" >&2
  return 1
}

@test "deploy --scale-to-zero: built at 0/0 IDLE, the first call starts it, it goes back to zero after its idle window" {
  write_function "$BATS_TEST_TMPDIR/z" '    return "zero " + data(event)'
  run --separate-stderr "$KUBELESS" function deploy zero --runtime python3.11 --handler hello.foo \
    --from-file "$BATS_TEST_TMPDIR/z/hello.py" --scale-to-zero --idle-window 2s
  [ "$status" -eq 0 ]
  [[ $stderr == *"Function zero is ready (0/0)"* ]]
  run --separate-stderr "$KUBELESS" function ls zero
  [[ $output == *"0/0 IDLE"* ]]
  run --separate-stderr "$KUBELESS" function call zero --data ping
  [ "$status" -eq 0 ]
  [ "$output" = "zero ping" ]
  wait_describe zero "0 -> 1  a call came"
  # The event is recorded once the instance is stopped.
  wait_describe zero "1 -> 0  no call for 2s"
  run --separate-stderr "$KUBELESS" function ls zero
  [[ $output == *"0/0 IDLE"* ]]
  run --separate-stderr "$KUBELESS" function describe zero
  [[ $output == *"Scaling:"*"0 to 1 instances on concurrency 10, idle after 2s"* ]]
  # The next call is answered again.
  run --separate-stderr "$KUBELESS" function call zero --data again
  [ "$status" -eq 0 ]
  [ "$output" = "zero again" ]
}

@test "calls that arrive while a function starts from zero are held and all answered" {
  write_function "$BATS_TEST_TMPDIR/h" '    return "held " + data(event)'
  "$KUBELESS" function deploy held --runtime python3.11 --handler hello.foo \
    --from-file "$BATS_TEST_TMPDIR/h/hello.py" --scale-to-zero --idle-window 1h
  wait_status held "0/0 IDLE"
  local i pids=()
  for i in 1 2 3 4 5 6 7 8; do
    "$KUBELESS" function call held --data "$i" >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
  done
  for i in 1 2 3 4 5 6 7 8; do
    [ "$(cat "$BATS_TEST_TMPDIR/out.$i")" = "held $i" ]
  done
  run --separate-stderr "$KUBELESS" function ls held
  [[ $output == *"1/1 READY"* ]]
}

@test "a cron trigger wakes a function at zero" {
  write_function "$BATS_TEST_TMPDIR/c" '    return "ok"'
  "$KUBELESS" function deploy cronzero --runtime python3.11 --handler hello.foo \
    --from-file "$BATS_TEST_TMPDIR/c/hello.py" --scale-to-zero --idle-window 1h
  wait_status cronzero "0/0 IDLE"
  run --separate-stderr "$KUBELESS" trigger cronjob create cronzero-tick --function cronzero --schedule "@every 1s"
  [ "$status" -eq 0 ]
  wait_describe cronzero "0 -> 1  a call came"
  wait_status cronzero "1/1 READY"
  "$KUBELESS" trigger cronjob delete cronzero-tick
}

@test "a function that cannot start from zero answers 503 with why, and ls and describe say it" {
  write_function "$BATS_TEST_TMPDIR/b" '    return "never"
raise RuntimeError("broken on purpose")'
  "$KUBELESS" function deploy broken --runtime python3.11 --handler hello.foo \
    --from-file "$BATS_TEST_TMPDIR/b/hello.py" --scale-to-zero
  wait_status broken "0/0 IDLE"
  run --separate-stderr "$KUBELESS" function call broken
  [ "$status" -ne 0 ]
  [[ "$output $stderr" == *"503"* ]]
  [[ "$output $stderr" == *'function "broken" could not start: starting an instance for a call failed'* ]]
  run --separate-stderr "$KUBELESS" function ls broken
  [[ $output == *"NOT READY: starting an instance for a call failed: the instance exited with code 1 while starting"* ]]
  run --separate-stderr "$KUBELESS" function describe broken
  [[ $output == *"InstanceFailed"* ]]
  [[ $output == *"broken on purpose"* ]]
}

@test "autoscale create --min 0 on a running function: it scales to zero, then back up on calls" {
  write_function "$BATS_TEST_TMPDIR/a" '    return "auto"'
  "$KUBELESS" function deploy auto --runtime python3.11 --handler hello.foo --from-file "$BATS_TEST_TMPDIR/a/hello.py"
  wait_status auto "1/1 READY"
  run --separate-stderr "$KUBELESS" autoscale create auto --min 0 --max 2 --metric concurrency --value 1 --idle-window 1s
  [ "$status" -eq 0 ]
  run --separate-stderr "$KUBELESS" autoscale list
  [[ $output == *"auto"*"0"*"2"*"concurrency"*"1"* ]]
  wait_status auto "0/0 IDLE"
  run --separate-stderr "$KUBELESS" function call auto
  [ "$status" -eq 0 ]
  [ "$output" = "auto" ]
  wait_describe auto "1 -> 0  no call for 1s"
}

@test "bad scale-to-zero input: one clear line each" {
  run --separate-stderr "$KUBELESS" autoscale create zero --min -1 --value 1
  [ "$status" -ne 0 ]
  [[ $stderr == *"invalid --min -1: use 0 (stop the last instance when idle) or more"* ]]
  run --separate-stderr "$KUBELESS" autoscale create zero --min 1 --value 1 --idle-window 1m
  [ "$status" -ne 0 ]
  [[ $stderr == *"--idle-window needs --min 0"* ]]
  run --separate-stderr "$KUBELESS" function update zero --idle-window 0s
  [ "$status" -ne 0 ]
  [[ $stderr == *"invalid --idle-window 0s"* ]]
  # The engine's default, from its environment: a daemon of another home.
  KUBELESS_HOME=$BATS_TEST_TMPDIR/other KUBELESS_GATEWAY=127.0.0.1:0 KUBELESS_IDLE_WINDOW=soon \
    run --separate-stderr with_std_fds_only "$KUBELESS" local start
  [ "$status" -ne 0 ]
  [[ $stderr == *'invalid KUBELESS_IDLE_WINDOW "soon": use a positive duration such as 90s or 5m'* ]]
}
