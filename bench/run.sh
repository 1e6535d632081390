#!/usr/bin/env bash
# Runs the benchmarks (see bench/README.md); extra arguments go to bench/main.go.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench "$@"
