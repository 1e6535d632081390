# Helpers of the real-cluster tests (test/cluster*.bats).
# shellcheck disable=SC2154

# cluster_setup_file: CLUSTER_SKIP says why the tests of the file cannot run
# (no cluster: skipped, failed under CI; see test/lib/ci.bash), else "".
# Bats 1.8 cannot skip from setup_file: setup skips each test instead.
cluster_setup_file() {
  export KUBELESS=${KUBELESS:-$REPO_ROOT/bin/kubeless}
  export CLUSTER_SKIP=""
  if [[ ${KUBELESS_ENGINE:-} != kubernetes || -z ${KUBECONFIG:-} ]]; then
    CLUSTER_SKIP="no cluster: run make test-cluster, or source the env of hack/cluster-up.sh"
  elif ! kubectl get --raw /readyz >/dev/null; then
    CLUSTER_SKIP="the cluster of $KUBECONFIG does not answer"
  fi
}

# pod_field <function> <jsonpath>: the field of the function's newest pod
# that is not being deleted.
pod_field() {
  local pod
  pod=$(kubectl get pods -l "function=$1" --sort-by=.metadata.creationTimestamp \
    -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}' |
    awk 'NF == 1 { p = $1 } END { print p }')
  [[ -n $pod ]] || { echo "no pod of function $1" >&2; return 1; }
  kubectl get pod "$pod" -o jsonpath="$2"
}

# no_object <kind> <name>: kubectl finds no such object.
no_object() {
  ! kubectl get "$1" "$2" >/dev/null 2>&1
}

# assert_update_rolls <function> <answer>: `make -C examples
# <function>-update` gives the function new code; the Deployment rolls to a
# new pod that answers <answer> (<function>-update-verify passes), and the
# old pod goes away.
assert_update_rolls() {
  local fn=$1 answer=$2 old start=$SECONDS
  old=$(pod_field "$fn" '{.metadata.name}')
  update_function "$fn"
  wait_for 300 "$answer from $fn" bash -c "'$KUBELESS' function call $fn | grep -qx '$answer'"
  echo "# $fn: update to the new answer in $((SECONDS - start))s" >&3
  verify_function "$fn" "$fn-update-verify"
  [ "$(pod_field "$fn" '{.metadata.name}')" != "$old" ]
  wait_for 60 "the old pod $old to be gone" no_object pod "$old"
}

# catalog_save <file>: writes kubeless-config's runtime-images to <file>.
catalog_save() {
  kubectl -n kubeless get configmap kubeless-config -o jsonpath='{.data.runtime-images}' >"$1"
  [[ -s $1 ]]
}

# catalog_put <file>: makes <file> kubeless-config's runtime-images.
catalog_put() {
  kubectl -n kubeless patch configmap kubeless-config --type merge -p "$(python3 -c '
import json, sys
print(json.dumps({"data": {"runtime-images": open(sys.argv[1]).read()}}))' "$1")" >/dev/null
}

# catalog_phase_env <saved> <out> <runtime id> <phase> <name> <value>: writes
# to <out> the catalog <saved> with env <name>=<value> on every image of
# <phase> of the runtime <runtime id> (nodejs, python, ...).
catalog_phase_env() {
  python3 - "$@" <<'PY'
import json, sys
saved, out, rid, phase, name, value = sys.argv[1:]
cat = json.load(open(saved))
n = 0
for rt in cat:
    if rt.get("ID") != rid:
        continue
    for v in rt.get("versions", []):
        for im in v.get("images", []):
            if im.get("phase") == phase:
                im.setdefault("env", {})[name] = value
                n += 1
if n == 0:
    sys.exit(f"no {phase} image of runtime {rid} in the catalog")
json.dump(cat, open(out, "w"), indent=2)
PY
}
