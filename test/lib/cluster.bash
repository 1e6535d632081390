# Helpers of the real-cluster tests (test/cluster*.bats).
# shellcheck disable=SC2154

# cluster_setup_file: CLUSTER_SKIP says why the tests of the file cannot run
# (no cluster: skipped, failed under CI; see test/lib/ci.bash), else "".
# Bats 1.8 cannot skip from setup_file: setup skips each test instead.
# Each file's setup_file calls it first, and returns when CLUSTER_SKIP is set.
cluster_setup_file() {
  export KUBELESS=${KUBELESS:-$REPO_ROOT/bin/kubeless}
  export CLUSTER_SKIP=""
  export CLUSTER_STATE=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster}
  if [[ ${KUBELESS_ENGINE:-} != kubernetes || -z ${KUBECONFIG:-} ]]; then
    CLUSTER_SKIP="no cluster: run CLUSTER_BATS=test/${BATS_TEST_FILENAME##*/} hack/e2e-cluster.sh (make test-cluster runs every cluster file), or source the env of hack/cluster-up.sh"
  elif ! kubectl get --raw /readyz >/dev/null; then
    CLUSTER_SKIP="the cluster of $KUBECONFIG does not answer"
  fi
}

# setup: each test of a file whose cluster is unavailable is skipped
# (failed under CI). A file that needs more in its setup calls cluster_setup.
cluster_setup() {
  if [[ -n $CLUSTER_SKIP ]]; then
    unavailable "$CLUSTER_SKIP"
  fi
}
setup() {
  cluster_setup
}

# delete_functions NAME...: deletes these functions of the current
# namespace, those that are there (setup_file and teardown_file clean up
# what a run before or this one left).
delete_functions() {
  local fn
  for fn in "$@"; do
    "$KUBELESS" function delete "$fn" >/dev/null 2>&1 || true
  done
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

# The event-trigger helpers of test/cluster-events.bats and
# test/cluster-kinesis.bats: a receiver on the node's address (NODE_IP) that
# records what the functions get, the sink function that posts each event
# to it, and the triggers' Ready conditions.

# free_port_on ADDRESS: a port free on ADDRESS when asked, for a test that
# needs an address where nothing listens yet (a broker started later).
free_port_on() {
  python3 -c "import socket; s = socket.socket(); s.bind(('$1', 0)); print(s.getsockname()[1])"
}

# start_receiver: an HTTP server on the node's address that appends each
# POST body as a line of received.log before it answers. It binds port 0
# and writes the port it got; RECEIVER is its URL.
start_receiver() {
  cat >"$BATS_FILE_TMPDIR/receiver.py" <<'PY'
import http.server, os, sys

out = open(sys.argv[2], "a")

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out.write(body.decode() + "\n")
        out.flush()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer((sys.argv[1], 0), H)
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
srv.serve_forever()
PY
  local port_file=$BATS_FILE_TMPDIR/receiver.port port
  rm -f "$port_file"
  python3 "$BATS_FILE_TMPDIR/receiver.py" "$NODE_IP" "$BATS_FILE_TMPDIR/received.log" "$port_file" 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/receiver.pid"
  wait_for 60 "the receiver to write its port" test -s "$port_file"
  port=$(cat "$port_file")
  export RECEIVER=http://$NODE_IP:$port/
}

# nats_url_in DIR: the client URL that nats-server wrote to its ports file
# in DIR, once the file is whole.
nats_url_in() {
  python3 -c 'import glob, json, sys; print(json.load(open(glob.glob(sys.argv[1] + "/*.ports")[0]))["nats"][0])' "$1" 2>/dev/null
}

# start_nats BIN: BIN (nats-server) on the node's address, on a port it
# chooses (-p -1) and writes down; NATS_URL is its URL.
start_nats() {
  local dir=$BATS_FILE_TMPDIR/nats-ports
  rm -rf "$dir" && mkdir -p "$dir"
  "$1" -a "$NODE_IP" -p -1 --ports_file_dir "$dir" >"$BATS_FILE_TMPDIR/nats.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/nats.pid"
  wait_for 60 "nats-server to write its ports file" nats_url_in "$dir"
  NATS_URL=$(nats_url_in "$dir")
  export NATS_URL
}

# write_sink DIR: DIR/sink.py, a Python function that posts
# "<SINK> <data n> <event-id> <event-namespace> <event-type> <event-topic>
# <event-time>" to $RECEIVER, then answers ok, or fails (500) when FAIL is set.
write_sink() {
  mkdir -p "$1"
  cat >"$1/sink.py" <<'PY'
import os, urllib.request

def handle(event, context):
    data = event["data"]
    n = data.get("n") if isinstance(data, dict) else data
    topic = event["extensions"]["request"].get_header("event-topic")
    line = " ".join(str(x) for x in [os.environ["SINK"], n, event["event-id"], event["event-namespace"],
                                     event["event-type"], topic, event["event-time"]])
    urllib.request.urlopen(os.environ["RECEIVER"], data=line.encode(), timeout=30).read()
    if os.environ.get("FAIL"):
        raise RuntimeError("failing on purpose")
    return "ok"
PY
}

# deploy_sink NAME [deploy flags...]: the sink as function NAME, not waiting.
deploy_sink() {
  local name=$1
  shift
  "$KUBELESS" function deploy "$name" --runtime python3.11 --handler sink.handle \
    --from-file "$BATS_FILE_TMPDIR/sink/sink.py" --env "SINK=$name" --env "RECEIVER=$RECEIVER" --wait=false "$@" >&2
}

# service_answers NAME: the function's Service answers /healthz at its
# cluster IP, through kube-proxy's rules, as the controller's calls go.
service_answers() {
  local ip
  ip=$(kubectl get service "$1" -o jsonpath='{.spec.clusterIP}')
  [[ -n $ip ]] && curl -sf --max-time 5 "http://$ip:8080/healthz"
}

# wait_function NAME: the function is READY and its Service answers.
wait_function() {
  wait_for 300 "function $1 READY" function_ready "$1"
  wait_for 60 "the Service of $1 to answer" service_answers "$1"
}

# got SINK TOPIC: the calls SINK got from TOPIC, one line each:
# "<n> <event-id> <event-namespace> <event-type> <event-topic> <event-time>".
got() {
  [[ -f $BATS_FILE_TMPDIR/received.log ]] || return 0
  awk -v s="$1" -v t="$2" '$1 == s && $6 == t { sub(/^[^ ]+ /, ""); print }' "$BATS_FILE_TMPDIR/received.log"
}

# calls SINK TOPIC N: how many calls SINK got with message N from TOPIC.
calls() {
  got "$1" "$2" | awk -v n="$3" '$1 == n { c++ } END { print c + 0 }'
}

# has_got SINK TOPIC N: SINK got message N from TOPIC.
has_got() {
  (($(calls "$1" "$2" "$3") > 0))
}

# condition KIND NAME FIELD: a field (status, reason, message) of the
# trigger's Ready condition.
condition() {
  kubectl get "$1" "$2" -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].$3}"
}

# ready_is KIND NAME STATUS [REASON]: the trigger's Ready condition.
ready_is() {
  local got
  got="$(condition "$1" "$2" status) $(condition "$1" "$2" reason)"
  echo "$1/$2 Ready: $got: $(condition "$1" "$2" message)"
  [[ $got == "$3 ${4:-}"* ]]
}

wait_ready() {
  wait_for 120 "$1 $2 Ready" ready_is "$1" "$2" True Ready
}
