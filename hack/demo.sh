#!/usr/bin/env bash
# The main job on a fresh machine: runs a hello-world function of every
# language through `kubeless runtime run` (the same runtimes the engines
# use), calls each over HTTP and shows the answers.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/install-deps.sh
make -s build
k=$PWD/bin/kubeless
fx=$PWD/internal/conformance/fixtures
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
port=18480
for rt in go1.26 python3.11 nodejs20 ruby3.1 php8.2; do
  lang=${rt%%[0-9]*}
  handler=hello; [ "$lang" = go ] && handler=Hello
  port=$((port + 1))
  MOD_NAME=fixtures FUNC_HANDLER=$handler FUNC_PORT=$port KUBELESS_LISTEN_ADDRESS=127.0.0.1 \
    KUBELESS_INSTALL_VOLUME=$fx/$lang "$k" runtime run "$rt" >/dev/null 2>/tmp/kubeless-demo-$rt.log &
  pids+=($!)
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  printf '%-11s GET  → %s\n' "$rt" "$(curl -s "http://127.0.0.1:$port/")"
done
