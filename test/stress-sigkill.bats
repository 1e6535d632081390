#!/usr/bin/env bats
#
# The daemon killed with SIGKILL at random moments leaves no process behind:
# during a deploy (build and start of new code), during a Go instance's
# self-restart after a timed-out call, and under load. Each round kills the
# daemon once and checks its session (the daemon leads one) for survivors,
# then lets the next command start a new daemon.
#
# KUBELESS_STRESS_ROUNDS sets the number of rounds (default 5, as in CI;
# run 50 for the figure in docs/security.md).
#

bats_require_minimum_version 1.5.0

load lib/libtest

setup_file() {
  engine_setup
}

teardown_file() {
  engine_teardown
}

# random_pause: sleeps 0 to 2.5 s, so that the kill lands anywhere in the
# work that was just started (a moment, not a synchronisation).
random_pause() {
  sleep "$((RANDOM % 3)).$(printf '%03d' $((RANDOM % 1000)))"
}

# load_loop <url>: calls url until killed.
load_loop() {
  while :; do curl -s -o /dev/null --max-time 5 "$1" || true; done
}

@test "daemon killed with SIGKILL at random moments (deploy, Go self-restart, load) leaves no process behind" {
  local rounds=${KUBELESS_STRESS_ROUNDS:-5} dir=$BATS_TEST_TMPDIR i what old loader
  deploy_function timeout-go
  deploy_function get-python
  wait_for 180 "timeout-go and get-python READY" every_function_ready

  for ((i = 1; i <= rounds; i++)); do
    loader=""
    case $((RANDOM % 3)) in
      0)
        what="deploy"
        printf 'import time\n# %s\ntime.sleep(1)\n\ndef foo(event, context):\n    return "ok"\n' "$RANDOM$RANDOM" >"$dir/stress.py"
        "$KUBELESS" function deploy stress-py --runtime python3.11 --handler stress.foo \
          --from-file "$dir/stress.py" --wait=false >/dev/null 2>&1 ||
          "$KUBELESS" function update stress-py --from-file "$dir/stress.py" >/dev/null
        ;;
      1)
        what="go self-restart"
        # The call times out after 3 s; the instance then restarts itself.
        curl -s -o /dev/null --max-time 10 "http://$KUBELESS_GATEWAY/timeout-go" &
        loader=$!
        sleep 3
        ;;
      2)
        what="load"
        load_loop "http://$KUBELESS_GATEWAY/get-python" &
        loader=$!
        ;;
    esac
    random_pause
    old=$(engine_pid)
    [ -n "$old" ]
    echo "$old" >>"$(killed_daemons_file)"
    echo "round $i/$rounds: SIGKILL daemon $old during $what" >&2
    kill -9 "$old"
    wait_for 10 "the killed daemon (pid $old) to be gone" process_gone "$old"
    if [[ -n $loader ]]; then
      kill "$loader" 2>/dev/null || true
      wait "$loader" 2>/dev/null || true
    fi
    # The parent-death signal is sent as the daemon exits: by now every
    # survivor is one for good (15 s allow for a loaded machine: workers
    # that look at their parent once a second).
    wait_for 15 "no process left by the killed daemon $old (round $i, $what)" no_leftovers_of_daemon "$old"

    with_std_fds_only "$KUBELESS" function ls >/dev/null
    wait_for 180 "every function READY after restart $i" every_function_ready
  done
}
