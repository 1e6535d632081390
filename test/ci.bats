#!/usr/bin/env bats
# The "in CI" helpers of test/lib/ci.bash: a missing tool skips locally and
# fails under CI.

bats_require_minimum_version 1.5.0

load lib/ci

@test "in_ci: CI set to anything but empty, 0 or false" {
  local v
  for v in "" 0 false FALSE; do
    CI=$v run in_ci
    [[ $status -eq 1 ]] || { echo "CI='$v' counted as CI" >&2; return 1; }
  done
  for v in true 1 yes; do
    CI=$v run in_ci
    [[ $status -eq 0 ]] || { echo "CI='$v' not counted as CI" >&2; return 1; }
  done
}

@test "need_tool: a missing tool fails under CI, with the tool's name" {
  CI=true run --separate-stderr need_tool sh kubeless-no-such-tool
  [[ $status -eq 1 ]]
  [[ $stderr == *"kubeless-no-such-tool is not installed"* ]]
}

@test "need_tool: a missing tool skips locally" {
  # skip is bats' own: record that it was called instead of ending the test.
  skip() { echo "skipped: $*"; }
  CI= run need_tool kubeless-no-such-tool
  [[ $output == "skipped: kubeless-no-such-tool is not installed"* ]]
}

@test "need_tool: present tools pass" {
  CI=true run need_tool sh cat
  [[ $status -eq 0 && -z $output ]]
}
