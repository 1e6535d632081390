#!/usr/bin/env bash
# Runs each language runtime's unit tests with the language's own runner.
# A test folder that is missing (moved, renamed) is an error, never "nothing
# to run"; a missing interpreter skips that language locally and fails under
# CI (test/lib/ci.bash).
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib/ci.bash
status=0
ran=0
# suite <path that must exist> <interpreter> <command...>
suite() {
  local path=$1 tool=$2
  shift 2
  echo "== $*"
  if [[ ! -e $path ]]; then
    echo "test-runtimes: $path does not exist: update hack/test-runtimes.sh to where the tests moved" >&2
    status=1
    return
  fi
  if ! command -v "$tool" >/dev/null 2>&1; then
    if in_ci; then
      echo "test-runtimes: $tool is not installed and CI is set: failing (hack/install-deps.sh installs it)" >&2
      status=1
    else
      echo "test-runtimes: $tool is not installed: skipped (under CI this fails)" >&2
    fi
    return
  fi
  ran=$((ran + 1))
  "$@" || status=1
}
suite runtimes/python/tests python3 python3 -m unittest discover -s runtimes/python/tests
suite runtimes/nodejs/test node node --test runtimes/nodejs/test/
# test_kubeless.rb loads the other Ruby test files.
suite runtimes/ruby/test/test_kubeless.rb ruby ruby -Iruntimes/ruby runtimes/ruby/test/test_kubeless.rb
suite runtimes/php/tests/run.php php php runtimes/php/tests/run.php
echo "test-runtimes: $ran of 4 suites ran"
exit $status
