#!/usr/bin/env bash
# The main job on a fresh machine (`make demo`): installs what the local
# engine needs (hack/install-deps.sh local: no Kubernetes binaries), builds
# bin/kubeless, starts the local engine, deploys the GET and POST examples of
# the five languages (examples/Makefile), calls each through the gateway and
# shows the answers. Each step is announced as "[n/5] ...".
# The engine keeps running afterwards: `bin/kubeless local stop` stops it.
#
# The engine uses KUBELESS_HOME (default ~/.kubeless) and KUBELESS_GATEWAY
# (default 127.0.0.1:8080) from the environment, like every kubeless command.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=5
step() { printf '\n[%d/%d] %s\n' "$1" "$steps" "$2"; }
step 1 "installing what the local engine needs (hack/install-deps.sh local)"
hack/install-deps.sh local
step 2 "building bin/kubeless (go build)"
make -s build
export KUBELESS=$PWD/bin/kubeless
export KUBELESS_ENGINE=local
log=$(mktemp -t kubeless-demo.XXXXXX)
step 3 "starting the local engine"
"$KUBELESS" local start 2>&1 | tee -a "$log" || {
  echo "demo: the local engine did not start (see above)" >&2
  exit 1
}
make -sC examples deps-src >>"$log" 2>&1

ids=(python nodejs ruby php go)
data='{"it-s": "alive"}'
step 4 "deploying the GET and POST examples of ${ids[*]} (deploy output: $log)"
n=0
for id in "${ids[@]}"; do
  for fn in "get-$id" "post-$id"; do
    # A fresh deploy: the Makefile's deploy fails when the function exists.
    "$KUBELESS" function delete "$fn" >/dev/null 2>&1 || true
    n=$((n + 1))
    start=$SECONDS
    if make -sC examples "$fn" >>"$log" 2>&1; then
      printf '  (%2d/%d) %-12s ready (%ds)\n' "$n" $((2 * ${#ids[@]})) "$fn" $((SECONDS - start))
    else
      printf '  (%2d/%d) %-12s FAILED: the end of its deploy output:\n' "$n" $((2 * ${#ids[@]})) "$fn"
      tail -n 5 "$log" | sed 's/^/      /'
    fi
  done
done

one_line() { tr '\n' ' ' <<<"$1" | sed 's/ *$//'; }
row() { printf '%-12s %-11s %-44s %s\n' "$@"; }
step 5 "calling each function through the gateway"
row FUNCTION RUNTIME "CALL (kubeless function ...)" ANSWER
row -------- ------- ---------------------------- ------
failed=0
for id in "${ids[@]}"; do
  for fn in "get-$id" "post-$id"; do
    args=()
    call="call $fn"
    if [[ $fn == post-* ]]; then
      args=(--data "$data")
      call="$call --data '$data'"
    fi
    runtime=$("$KUBELESS" function ls "$fn" 2>/dev/null | awk -v f="$fn" '$1 == f { print $4 }')
    if answer=$("$KUBELESS" function call "$fn" "${args[@]}" 2>&1); then
      row "$fn" "${runtime:--}" "$call" "$(one_line "$answer")"
    else
      row "$fn" "${runtime:--}" "$call" "FAILED: $(one_line "$answer")"
      failed=1
    fi
  done
done

printf '\n'
"$KUBELESS" function ls
cat <<EOF

The local engine keeps running (kubeless local status). Try:
  bin/kubeless function call get-python
  bin/kubeless function call post-go --data '{"hello": "world"}'
  bin/kubeless function logs post-python
  make -C examples get-python-deps get-python-deps-verify KUBELESS=$KUBELESS
Stop it with:
  bin/kubeless local stop
EOF
exit $failed
