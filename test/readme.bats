#!/usr/bin/env bats
# The shell examples of README.md run as written: every ```sh block, in
# order, in bash with -euo pipefail from the repository's root, and each
# "# → <text>" comment of a block is found, in order, in that block's
# output. A block that cannot run here says why on the line before its
# fence: <!-- readme-test: skip: <why> -->.
#
# The blocks get a private KUBELESS_HOME, and a free gateway port
# (KUBELESS_GATEWAY) and runtime port (FUNC_PORT): the README's examples
# read both, so a local engine already on 8080 (make demo) is left alone.
#
# Run: make build && KUBELESS=$PWD/bin/kubeless bats test/readme.bats

bats_require_minimum_version 1.5.0

load lib/libtest

BLOCKS="python3 $REPO_ROOT/test/lib/readme_blocks.py $REPO_ROOT/README.md"

setup_file() {
  export KUBELESS=${KUBELESS:-$REPO_ROOT/bin/kubeless}
  export KUBELESS_HOME=$BATS_FILE_TMPDIR/home
  KUBELESS_GATEWAY=127.0.0.1:$(free_port)
  FUNC_PORT=$(free_port)
  export KUBELESS_GATEWAY FUNC_PORT
  export KUBELESS_ENGINE=local
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
    # The harness's only addition: background jobs of a block end with it.
    if ! (cd "$REPO_ROOT" && with_std_fds_only timeout 900 bash -euo pipefail -c \
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
