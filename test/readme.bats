#!/usr/bin/env bats
# The shell examples of README.md run as written: every ```sh block, in
# order, in bash with -euo pipefail from the repository's root, and each
# "# → <text>" comment of a block is found, in order, in that block's
# output. A block that cannot run here says why on the line before its
# fence: <!-- readme-test: skip: <why> -->.
#
# The blocks get a private KUBELESS_HOME, a local engine already started with
# its gateway on a port the kernel chose (KUBELESS_GATEWAY), and a block that
# reads FUNC_PORT gets a socket bound on a port the kernel chose, handed to
# the runtime it starts (with_listener: FUNC_PORT and KUBELESS_LISTEN_FD=3):
# the README's examples read both variables, so a local engine already on
# 8080 (make demo) is left alone, and no port is chosen, released, and then
# bound by the example, which a test running in parallel could take in
# between.
#
# Run: make build && KUBELESS=$PWD/bin/kubeless bats test/readme.bats

bats_require_minimum_version 1.5.0

load lib/libtest

BLOCKS="python3 $REPO_ROOT/test/lib/readme_blocks.py $REPO_ROOT/README.md"

setup_file() {
  export KUBELESS=${KUBELESS:-$REPO_ROOT/bin/kubeless}
  export KUBELESS_HOME=$BATS_FILE_TMPDIR/home
  export KUBELESS_ENGINE=local
  if [[ ! -x $KUBELESS ]]; then
    echo "no kubeless binary at $KUBELESS: run make build, or set KUBELESS" >&2
    return 1
  fi
  start_engine_any_port
}

teardown_file() {
  # A block that failed half-way may have left the engine running.
  if [[ -x $KUBELESS ]]; then
    "$KUBELESS" local stop >/dev/null 2>&1 || true
  fi
}

@test "README: every shell example runs, or says why it cannot" {
  run $BLOCKS list
  [[ $status -eq 0 ]]
  local runnable
  runnable=$(grep -c $'\trun\t' <<<"$output" || true)
  if ((runnable < 2)); then
    echo "only $runnable runnable blocks in README.md:" >&2
    echo "$output" >&2
    return 1
  fi
  while IFS=$'\t' read -r _ what heading; do
    if [[ $what == "skip: " ]]; then
      echo "a block under '$heading' is skipped without a reason" >&2
      return 1
    fi
  done <<<"$output"
}

@test "README: the shell examples run as written" {
  need_tool python3 node curl make
  local list i what heading out
  list=$($BLOCKS list)
  while IFS=$'\t' read -r i what heading; do
    [[ $what == run ]] || continue
    out=$BATS_TEST_TMPDIR/block-$i.out
    echo "# README block $i ($heading)" >&3
    # The harness's additions: background jobs of a block end with it, and
    # a block that reads FUNC_PORT gets a listening socket for its runtime.
    local listener=()
    if $BLOCKS block "$i" | grep -q FUNC_PORT; then
      listener=(python3 -c "$WITH_LISTENER_PY")
    fi
    if ! (cd "$REPO_ROOT" && with_std_fds_only "${listener[@]}" timeout 900 bash -euo pipefail -c \
      "trap 'kill \$(jobs -p) 2>/dev/null || true' EXIT
$($BLOCKS block "$i")") >"$out" 2>&1; then
      echo "README block $i under '$heading' failed; its output:" >&2
      cat "$out" >&2
      return 1
    fi
    if ! $BLOCKS expect "$i" "$out"; then
      echo "README block $i under '$heading': output:" >&2
      cat "$out" >&2
      return 1
    fi
  done <<<"$list"
}
