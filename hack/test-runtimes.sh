#!/usr/bin/env bash
# Runs each language runtime's unit tests with the language's own runner.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
run() { echo "== $*"; "$@" || status=1; }
[ -d runtimes/python/tests ] && run python3 -m unittest discover -s runtimes/python/tests
[ -d runtimes/nodejs/test ] && run node --test runtimes/nodejs/test/
# test_kubeless.rb loads the other Ruby test files.
[ -f runtimes/ruby/test/test_kubeless.rb ] && run ruby -Iruntimes/ruby runtimes/ruby/test/test_kubeless.rb
[ -f runtimes/php/tests/run.php ] && run php runtimes/php/tests/run.php
exit $status
