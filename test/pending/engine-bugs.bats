#!/usr/bin/env bats
# Behaviours of the local engine that fail today. Move each test into
# test/integration-tests.bats when it passes (see README.md).

bats_require_minimum_version 1.5.0

load ../lib/libtest

setup_file() {
  engine_setup
}

teardown_file() {
  engine_teardown
}

# Fails today: a Go instance that restarted itself after a call ran past its
# timeout does not die with its daemon. After `kill -9` of the daemon it
# keeps running (parent 1), the restarted daemon starts a second instance
# beside it, and `kubeless local stop` leaves it running for good.
@test "daemon killed with SIGKILL leaves no instance behind, even a Go instance restarted after a timeout" {
  deploy_function timeout-go
  run --separate-stderr "$KUBELESS" function call timeout-go
  [ "$status" -eq 1 ]
  [ "$stderr" = "Error: Request timeout exceeded" ]
  # The instance restarts itself a second after the timeout.
  sleep 3
  wait_for 60 "timeout-go READY after its restart" function_ready timeout-go

  local old
  old=$(engine_pid)
  echo "$old" >>"$(killed_daemons_file)"
  kill -9 "$old"
  wait_for 10 "the killed daemon (pid $old) to be gone" process_gone "$old"
  run --separate-stderr with_std_fds_only "$KUBELESS" function ls
  [ "$status" -eq 0 ]
  wait_for 120 "every function READY after the daemon's restart" every_function_ready
  run leftovers_of_daemon "$old"
  echo "left by the killed daemon $old: $output" >&2
  [ -z "$output" ]
}

# Fails today: the daemon keeps every file descriptor that the command that
# started it had open (Go's os/exec does not close inherited descriptors
# without close-on-exec), and hands them on to the function instances. Under
# bats this holds fd 3 open and bats waits for it; in a shell it keeps files
# and pipes of the caller open as long as the engine runs.
@test "no errors in engine logs" {
  run grep -E 'level=ERROR' "$(engine_log)"
  [ "$status" -eq 1 ]
}
