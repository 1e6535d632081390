#!/usr/bin/env bash
# Runs each language runtime's unit tests with the language's own runner.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
run() { echo "== $*"; "$@" || status=1; }
[ -d runtimes/python/tests ] && run python3 -m unittest discover -s runtimes/python/tests -t runtimes/python
[ -d runtimes/nodejs/test ] && run node --test runtimes/nodejs/test/
if [ -d runtimes/ruby/test ]; then
  for f in runtimes/ruby/test/test_*.rb; do run ruby -Iruntimes/ruby "$f"; done
fi
[ -f runtimes/php/tests/run.php ] && run php runtimes/php/tests/run.php
exit $status
