# Helpers for the end-to-end tests: the local engine in a private
# KUBELESS_HOME, and the original script/libtest.bash helpers
# (test_kubeless_function <target> = deploy with `make -sC examples <target>`,
# then check with `make -sC examples <target>-verify`).
#
# Load it from a .bats file with `load lib/libtest`. The assert helpers read
# $status, $output and $stderr, set by bats' `run --separate-stderr`.
# shellcheck disable=SC2154

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=ci.bash
. "$REPO_ROOT/test/lib/ci.bash"
EXAMPLES_DIR=$REPO_ROOT/examples
# Every wait loop gives up after this many seconds (the original: 300).
TEST_MAX_WAIT_SEC=${TEST_MAX_WAIT_SEC:-300}

# No helper here chooses a free port and releases it for a later process to
# bind: another test running in parallel could take it in between. A process
# binds port 0 itself and says which port it got (the engine's gateway, a
# server writing a port file), or is handed a socket bound once
# (with_listener).

# with_listener <command...>: runs the command with a TCP socket bound to a
# port of 127.0.0.1 the kernel chose, listening, as descriptor 3, with
# FUNC_PORT set to that port and KUBELESS_LISTEN_FD=3: a runtime the command
# starts serves on that socket (the runtime contract's hand-over, as the
# local engine does it). To run a shell function, or with only the standard
# descriptors, exec python3 -c "$WITH_LISTENER_PY" <command...> yourself.
WITH_LISTENER_PY='import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(128)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["FUNC_PORT"] = str(s.getsockname()[1])
os.environ["KUBELESS_LISTEN_FD"] = "3"
os.execvp(sys.argv[1], sys.argv[1:])'
with_listener() {
  python3 -c "$WITH_LISTENER_PY" "$@"
}

# refusing_port <file>: starts, in the background, a process that holds a TCP
# port of 127.0.0.1 bound but not listening (connections to it are refused
# and no other process can bind it) and writes the port to <file>; prints
# the process's pid. Kill it when done.
refusing_port() {
  python3 -c 'import os, signal, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
signal.pause()' "$1" </dev/null >/dev/null 2>&1 3>&- &
  echo $!
}

# port_from_file <seconds> <file> <what>: waits until <file> (written whole by
# a process that bound port 0) exists and prints the port it holds.
port_from_file() {
  wait_for "$1" "$3 to write its port to $2" test -s "$2" || return 1
  cat "$2"
}

# setup_file body: the CLI from $KUBELESS (default bin/kubeless, built by
# `make test-e2e`), a private home and gateway, and the engine started.
engine_setup() {
  export KUBELESS=${KUBELESS:-$REPO_ROOT/bin/kubeless}
  if [[ ! -x $KUBELESS ]]; then
    echo "no kubeless binary at $KUBELESS: run make build, or set KUBELESS" >&2
    return 1
  fi
  export KUBELESS_HOME=$BATS_FILE_TMPDIR/home
  export KUBELESS_ENGINE=local
  # The examples' local dependency sources (python wheel, gem index,
  # composer home).
  make -sC "$EXAMPLES_DIR" deps-src >/dev/null
  start_engine_any_port
}

# start_engine_any_port: starts the local engine with its gateway on a port of
# 127.0.0.1 the kernel chooses, then exports KUBELESS_GATEWAY as the address
# the engine reports, for the tests and for an engine started again later.
start_engine_any_port() {
  KUBELESS_GATEWAY=127.0.0.1:0 with_std_fds_only "$KUBELESS" local start >&2 || return 1
  KUBELESS_GATEWAY=$("$KUBELESS" local status | awk -F'\t' '$1 == "gateway:" { print $2 }')
  if [[ $KUBELESS_GATEWAY != 127.0.0.1:* || $KUBELESS_GATEWAY == *:0 ]]; then
    echo "kubeless local status did not report the gateway's address (got '$KUBELESS_GATEWAY')" >&2
    return 1
  fi
  export KUBELESS_GATEWAY
}

# with_std_fds_only <command...>: runs the command with every file
# descriptor above 2 closed. For the commands that may start the engine's
# daemon: it keeps the descriptors it inherits and hands them to the function
# instances, and bats waits until every holder of its fd 3 has exited.
with_std_fds_only() {
  (
    local path fd
    for path in /proc/"$BASHPID"/fd/*; do
      fd=${path##*/}
      if ((fd > 2)); then eval "exec $fd>&-"; fi
    done
    exec "$@"
  )
}

# process_gone <pid>: no such process, or a zombie (a killed daemon's
# parent may be an init that does not reap).
process_gone() {
  local stat
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  [[ -z $stat || $stat == Z* ]]
}

# The daemons the tests killed with SIGKILL, one pid a line: each was its
# session's leader, so its leftover instances are found by session id.
killed_daemons_file() {
  echo "$BATS_FILE_TMPDIR/killed-daemons"
}

# leftovers_of_daemon <pid>: the processes still running in the session of
# a killed daemon (zombies aside).
leftovers_of_daemon() {
  ps -o pid=,stat=,args= -s "$1" 2>/dev/null | awk '$2 !~ /^Z/'
}

# no_leftovers_of_daemon SID: true when no live process of the session of
# the daemon SID is left; else prints them.
no_leftovers_of_daemon() {
  local left
  left=$(leftovers_of_daemon "$1")
  [[ -z $left ]] && return 0
  echo "left by the killed daemon $1: $left" >&2
  return 1
}

engine_teardown() {
  [[ -n ${KUBELESS:-} && -n ${KUBELESS_HOME:-} ]] || return 0
  "$KUBELESS" local stop >&2 || true
  # Should a daemon killed with SIGKILL leave an instance behind (a test
  # checks it does not), stop what this file's tests caused anyway.
  local sid pid
  if [[ -f $(killed_daemons_file) ]]; then
    while read -r sid; do
      for pid in $(leftovers_of_daemon "$sid" | awk '{ print $1 }'); do
        echo "teardown: stopping pid $pid, left by the killed daemon $sid" >&2
        kill "$pid" 2>/dev/null || true
      done
    done <"$(killed_daemons_file)"
  fi
}

# The engine's log file.
engine_log() {
  echo "$KUBELESS_HOME/engine.log"
}

# The daemon's pid, from `kubeless local status` (a "pid:<tab><pid>" line).
engine_pid() {
  "$KUBELESS" local status 2>/dev/null | awk '$1 == "pid:" { print $2 }'
}

# wait_for <seconds> <what> <command...>: runs the command once a second
# until it exits 0. On timeout, says what it waited for and shows the
# command's last output, and fails.
wait_for() {
  local timeout=$1 what=$2 out=""
  shift 2
  local deadline=$((SECONDS + timeout))
  while true; do
    if out=$("$@" 2>&1); then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "timed out after ${timeout}s waiting for: $what" >&2
      echo "last output of '$*':" >&2
      printf '%s\n' "$out" >&2
      return 1
    fi
    sleep 1
  done
}

# function_ready <name>: `kubeless function ls <name>` shows it 1/1 READY (or
# n/n READY).
function_ready() {
  "$KUBELESS" function ls "$1" | awk -v f="$1" '$1 == f { if ($NF == "READY" && split($(NF-1), a, "/") == 2 && a[1] == a[2] && a[1] > 0) ok = 1 } END { exit !ok }'
}

# every_function_ready: each row of `kubeless function ls` ends in n/n READY.
every_function_ready() {
  "$KUBELESS" function ls | awk 'NR > 1 { n++; if ($NF == "READY" && split($(NF-1), a, "/") == 2 && a[1] == a[2] && a[1] > 0) ok++ } END { exit !(n > 0 && n == ok) }'
}

function_exists() {
  "$KUBELESS" function describe "$1" >/dev/null 2>&1
}

# kubeless_function_delete <name>: deletes the function if it exists and
# waits until it is gone.
kubeless_function_delete() {
  if function_exists "$1"; then
    "$KUBELESS" function delete "$1"
  fi
  wait_for 30 "function $1 to be gone from kubeless function describe" bash -c "! '$KUBELESS' function describe '$1'"
}

# deploy_function <target>: a fresh deploy of the examples' target.
deploy_function() {
  kubeless_function_delete "$1"
  make -sC "$EXAMPLES_DIR" "$1"
}

# verify_function <target> [verify-target]: waits for the function to be
# READY, then runs `make -sC examples <target>-verify`, three attempts with
# pauses between them (the original: 10 s and 20 s; the local engine is
# ready when deploy returns, so 1 s and 3 s).
verify_function() {
  local fn=$1 task=${2:-$1-verify} attempt
  wait_for 120 "function $fn to be READY in kubeless function ls" function_ready "$fn"
  for attempt in 1 2 3; do
    if make -sC "$EXAMPLES_DIR" "$task"; then
      return 0
    fi
    echo "attempt $attempt of make $task failed" >&2
    case $attempt in 1) sleep 1 ;; 2) sleep 3 ;; esac
  done
  return 1
}

test_kubeless_function() {
  deploy_function "$1"
  verify_function "$1"
}

update_function() {
  make -sC "$EXAMPLES_DIR" "$1-update"
  wait_for 120 "function $1 to be READY after its update" function_ready "$1"
}

test_kubeless_function_update() {
  update_function "$1"
  verify_function "$1" "$1-update-verify"
}

# has_command <words...>: the CLI has this command (`kubeless <words> --help`
# exits 0 and is not the parent's help).
has_command() {
  local out
  out=$("$KUBELESS" "$@" --help 2>&1) || return 1
  grep -q "kubeless $*" <<<"$out"
}

# require_command <words...>: the CLI has this command, or the test is
# unavailable (skips locally, fails under CI: test/lib/ci.bash).
require_command() {
  has_command "$@" && return 0
  unavailable "kubeless $* does not exist"
}

# assert_one_error_line: the failed command ($stderr from
# `run --separate-stderr`) printed exactly one line, an "Error: " line,
# containing each argument.
assert_one_error_line() {
  local want
  if [[ $(printf '%s\n' "$stderr" | grep -c .) -ne 1 ]]; then
    echo "want one error line on stderr, got:" >&2
    printf '%s\n' "$stderr" >&2
    return 1
  fi
  [[ $stderr == Error:* ]] || { echo "stderr does not start with 'Error:': $stderr" >&2; return 1; }
  for want in "$@"; do
    [[ $stderr == *"$want"* ]] || { echo "stderr lacks '$want': $stderr" >&2; return 1; }
  done
}

# The last stderr line (deploy prints its progress on stderr first).
last_stderr_line() {
  printf '%s\n' "$stderr" | grep . | tail -n 1
}

# assert_error_line <want...>: the failed command's stderr holds exactly one
# "Error: " line (after any progress lines), no usage text, and the line
# contains each argument.
assert_error_line() {
  local errs want
  errs=$(printf '%s\n' "$stderr" | grep '^Error: ' || true)
  if [[ $(printf '%s\n' "$errs" | grep -c .) -ne 1 ]]; then
    echo "want one 'Error: ' line on stderr, got:" >&2
    printf '%s\n' "$stderr" >&2
    return 1
  fi
  if [[ $stderr == *"Usage:"* ]]; then
    echo "a usage text for an error that is not a flag error:" >&2
    printf '%s\n' "$stderr" >&2
    return 1
  fi
  for want in "$@"; do
    [[ $errs == *"$want"* ]] || { echo "the error line lacks '$want': $errs" >&2; return 1; }
  done
}

# refute_function <name>: the function does not exist.
refute_function() {
  if function_exists "$1"; then
    echo "function $1 exists, and should not" >&2
    return 1
  fi
}

# refute_line_matching <regexp> <text>: no line of text matches.
refute_line_matching() {
  if grep -E -- "$1" <<<"$2" >&2; then
    echo "the line above matches '$1', and should not" >&2
    return 1
  fi
}
