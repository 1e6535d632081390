#!/usr/bin/env bats
# End-to-end tests of the Kubernetes engine on a real single-node cluster
# (hack/cluster-up.sh): real pods with the controller's init containers
# (prepare in the provision image, install or compile in the catalog's
# installation/compilation image), the runtime images of python3.11,
# nodejs18, ruby3.1, php8.2 and go1.26 (all built from docker/ by
# hack/build-images.sh, under the catalog's names), the Service, and the
# CLI calling through the API server's service proxy; a pod calling every
# language by its cluster.local name; a cron trigger's job
# calling its function by its cluster.local name (CoreDNS); logs, top,
# update, delete with the garbage collector of kube-controller-manager, and
# bad input that only a real kubelet shows (a crash loop, a failed init
# container, a missing image). Every test runs in the namespace "default"
# labelled to enforce the "restricted" Pod Security Standard, so every pod
# the controller makes must meet it; a privileged template is refused. The
# last test starts from the objects an original Kubeless installation
# leaves and checks that the controller takes them over.
#
# Run: make test-cluster (hack/e2e-cluster.sh starts the cluster, runs this
# file and stops it), or, on a cluster of hack/cluster-up.sh:
#   source /tmp/kubeless-cluster/env && bats --timing test/cluster.bats
# Without a reachable cluster (KUBECONFIG and KUBELESS_ENGINE=kubernetes)
# every test is skipped, and fails under CI (test/lib/ci.bash).

bats_require_minimum_version 1.5.0

load lib/libtest
load lib/cluster

FUNCTIONS=(get-nodejs post-nodejs timeout-nodejs get-python post-python get-python-deps timeout-python
  get-ruby post-ruby timeout-ruby get-php post-php timeout-php get-go post-go timeout-go
  get-go-deps get-ruby-deps get-php-deps get-nodejs-deps bad-go-deps bad-ruby-deps bad-php-deps bad-nodejs-deps
  rolling-python
  broken bad-deps py312 zip-python tgz-python url-python bad-sum bad-b64sum privileged orig-py
  compat-bottle compat-express compat-phpresponse)
# The labels that make Kubernetes' Pod Security admission enforce the
# restricted profile in a namespace.
RESTRICTED=(pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest)

# Bats 1.8 cannot skip from setup_file: it says why in CLUSTER_SKIP, and
# setup skips each test (fails it under CI).
setup_file() {
  cluster_setup_file
  [[ -z $CLUSTER_SKIP ]] || return 0
  delete_functions "${FUNCTIONS[@]}"
  kubectl label namespace default --overwrite "${RESTRICTED[@]}" >/dev/null
  start_deps_server
}

# start_deps_server: the package sources of the dependency tests, made here
# and served on the node's address: pods reach
# nothing off the machine, so they install from these, as in a cluster
# without internet access (docs/kubernetes.md). Over HTTP from one folder:
# wheels/, a wheel folder for pip (--find-links); gems/, a gem source made
# with gem build and gem generate_index (Bundler's source); composer/, a
# composer repository (packages.json and the package's zip); goproxy/, the
# download cache of a module cache, which has the layout of the GOPROXY
# protocol, with the examples' modules. And Verdaccio, the npm registry that
# users run (installed from npm into ~/.cache/kubeless/verdaccio the first
# time), proxying npm's registry for the pods, which the catalog's Node.js
# installation images name in NPM_REGISTRY. Sets DEPS_URL, NPM_URL and the
# env of each tool.
start_deps_server() {
  local dir=$BATS_FILE_TMPDIR/deps gw port
  mkdir -p "$dir/wheels" "$dir/gems/gems" "$dir/composer"
  # the node's address (the kc0 bridge appears only with the first pod)
  gw=$(kubectl get node -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
  [[ -n $gw ]]
  # Over HTTP from the folder, filled below: the server binds a port of
  # its choosing and writes it to deps.port once it listens.
  # fd 3 closed: bats waits for every process that holds it
  python3 - "$gw" "$dir" "$BATS_FILE_TMPDIR/deps.port" >/dev/null 2>&1 3>&- <<'PY' &
import functools, http.server, os, sys
host, root, port_file = sys.argv[1:]
srv = http.server.ThreadingHTTPServer((host, 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=root))
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
  echo $! >"$BATS_FILE_TMPDIR/deps-server.pid"
  wait_for 10 "the package server to write its port" test -s "$BATS_FILE_TMPDIR/deps.port"
  port=$(cat "$BATS_FILE_TMPDIR/deps.port")
  export DEPS_URL=http://$gw:$port
  # pip
  python3 "$EXAMPLES_DIR/python/deps-src/build_wheel.py" "$EXAMPLES_DIR/python/deps-src/kubeless-greeting" "$dir/wheels" >/dev/null
  export CLUSTER_DEPS_ENV="--env PIP_NO_INDEX=1 --env PIP_FIND_LINKS=$DEPS_URL/wheels/ --env PIP_TRUSTED_HOST=$gw"
  # Bundler
  (cd "$EXAMPLES_DIR/ruby/deps-src/kubeless_greeting" &&
    gem build --silent kubeless_greeting.gemspec --output "$dir/gems/gems/kubeless_greeting-1.0.0.gem")
  gem generate_index --silent --directory "$dir/gems"
  export RUBY_CLUSTER_ENV="--env EXAMPLES_GEM_SOURCE=$DEPS_URL/gems"
  # Composer: the package's zip and a packages.json naming it
  (cd "$EXAMPLES_DIR/php/deps-src/greeting" && zip -qr "$dir/composer/greeting-1.0.0.zip" .)
  python3 - "$EXAMPLES_DIR/php/deps-src/greeting/composer.json" "$DEPS_URL/composer/greeting-1.0.0.zip" >"$dir/composer/packages.json" <<'PY'
import json, sys
pkg = json.load(open(sys.argv[1]))
pkg["dist"] = {"type": "zip", "url": sys.argv[2]}
print(json.dumps({"packages": {pkg["name"]: {pkg["version"]: pkg}}}))
PY
  # Go: the examples' modules, downloaded (and checked) here
  mkdir -p "$dir/gomod-src"
  cp "$EXAMPLES_DIR/go/go.mod" "$dir/gomod-src/"
  (cd "$dir/gomod-src" && GOFLAGS=-modcacherw GOMODCACHE=$dir/gomodcache go mod download all)
  ln -s gomodcache/cache/download "$dir/goproxy"
  export GO_CLUSTER_ENV="--env GOPROXY=$DEPS_URL/goproxy --env GOSUMDB=off"
  wait_for 10 "the package server on $DEPS_URL" curl -sf "$DEPS_URL/wheels/"
  start_verdaccio "$gw"
}

# start_verdaccio ADDRESS: Verdaccio on ADDRESS, its uplink the npm registry
# of this machine's npm, its storage in the test's folder. (6.8 is the last
# Verdaccio that runs on Node.js 20, Debian 12's own being 18.)
start_verdaccio() {
  local home=${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/verdaccio dir=$BATS_FILE_TMPDIR/verdaccio port
  if [[ ! -x $home/node_modules/.bin/verdaccio ]]; then
    npm install --prefix "$home" --no-audit --no-fund verdaccio@6.8.0 >&2
  fi
  mkdir -p "$dir/storage"
  cat >"$dir/config.yaml" <<EOF
storage: $dir/storage
uplinks:
  npm:
    url: $(npm config get registry)
packages:
  '**':
    access: \$all
    proxy: npm
log: {type: file, path: $dir/verdaccio.log, level: warn}
EOF
  # Verdaccio's own server, listening on a port of its choosing, which it
  # writes to verdaccio.port once it listens.
  cat >"$dir/start.js" <<'JS'
const fs = require("fs");
const [home, config, host, portFile] = process.argv.slice(2);
const { runServer } = require(home + "/node_modules/verdaccio");
runServer(config).then((server) => {
  server.on("error", (err) => { console.error(err); process.exit(1); });
  server.listen(0, host, () => {
    fs.writeFileSync(portFile + ".tmp", String(server.address().port));
    fs.renameSync(portFile + ".tmp", portFile);
  });
}, (err) => { console.error(err); process.exit(1); });
JS
  node "$dir/start.js" "$home" "$dir/config.yaml" "$1" "$dir/verdaccio.port" >"$dir/out.log" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/verdaccio.pid"
  wait_for 60 "Verdaccio to write its port (log: $dir/out.log)" test -s "$dir/verdaccio.port"
  port=$(cat "$dir/verdaccio.port")
  export NPM_URL=http://$1:$port/
  wait_for 60 "Verdaccio on $NPM_URL" curl -sf "${NPM_URL}-/ping"
  # The registry comes from the catalog, for every Node.js function of the
  # cluster (docs/kubernetes.md), not from each function's env; teardown_file
  # puts the catalog back.
  catalog_save "$BATS_FILE_TMPDIR/catalog.json"
  catalog_phase_env "$BATS_FILE_TMPDIR/catalog.json" "$BATS_FILE_TMPDIR/catalog-npm.json" nodejs installation NPM_REGISTRY "$NPM_URL"
  catalog_put "$BATS_FILE_TMPDIR/catalog-npm.json"
}

teardown_file() {
  local p
  for p in deps-server verdaccio; do
    if [[ -f $BATS_FILE_TMPDIR/$p.pid ]]; then
      kill "$(cat "$BATS_FILE_TMPDIR/$p.pid")" 2>/dev/null || true
    fi
  done
  if [[ -n $CLUSTER_SKIP ]]; then
    return 0
  fi
  "$KUBELESS" trigger cronjob delete cron-post >/dev/null 2>&1 || true
  kubectl delete job cron-post-now --ignore-not-found >/dev/null 2>&1 || true
  kubectl delete cronjobtrigger orig-cron --ignore-not-found >/dev/null 2>&1 || true
  kubectl delete httptrigger orig-py --ignore-not-found >/dev/null 2>&1 || true
  kubectl delete cronjob trigger-orig-py --ignore-not-found >/dev/null 2>&1 || true
  delete_functions "${FUNCTIONS[@]}"
  kubectl label namespace default pod-security.kubernetes.io/enforce- pod-security.kubernetes.io/enforce-version- >/dev/null 2>&1 || true
  if [[ -s $BATS_FILE_TMPDIR/catalog.json ]]; then
    catalog_put "$BATS_FILE_TMPDIR/catalog.json" || true
  fi
}

# deploy_timed <target> [VAR=value...]: a fresh deploy with the examples'
# target (make variables may be given), and how long it took until the
# function was Ready (deploy waits), on fd 3.
deploy_timed() {
  kubeless_function_delete "$1"
  local start=$SECONDS
  make -sC "$EXAMPLES_DIR" "$@"
  echo "# $1: deploy to Ready in $((SECONDS - start))s" >&3
}

@test "the engine is the cluster's: kubeless engine says kubernetes, the node is Ready" {
  run --separate-stderr "$KUBELESS" engine
  [ "$status" -eq 0 ]
  [[ $output == *kubernetes* ]]
  kubectl wait --for=condition=Ready node --all --timeout=10s
}

@test "the namespace enforces the restricted Pod Security Standard: the API server refuses a pod without its settings" {
  [ "$(kubectl get namespace default -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')" = restricted ]
  # (a privileged one is refused before that: the API server runs with
  # --allow-privileged=false)
  run --separate-stderr kubectl run restricted-probe --image=localhost/busybox:local --restart=Never --dry-run=server
  echo "$stderr"
  [ "$status" -ne 0 ]
  [[ $stderr == *'violates PodSecurity "restricted:latest"'* ]]
}

@test "test_kubeless_function get-python: a real pod answers hello world through the service proxy; ls shows 1/1 READY" {
  deploy_timed get-python
  verify_function get-python
  run --separate-stderr "$KUBELESS" function call get-python
  [ "$status" -eq 0 ]
  [ "$output" = "hello world" ]
  run --separate-stderr "$KUBELESS" function ls
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "NAME"*"NAMESPACE"*"HANDLER"*"RUNTIME"*"DEPENDENCIES"*"STATUS" ]]
  grep -E '^get-python +default +helloget.foo +python3.11 .*1/1 READY$' <<<"$output"
}

@test "the pod of get-python: init container prepare in the provision image, the runtime image, UID 1000" {
  [ "$(pod_field get-python '{.spec.initContainers[*].name}')" = prepare ]
  [ "$(pod_field get-python '{.spec.initContainers[0].image}')" = localhost/busybox:local ]
  [ "$(pod_field get-python '{.status.initContainerStatuses[0].state.terminated.exitCode}')" = 0 ]
  [ "$(pod_field get-python '{.spec.containers[0].image}')" = kubeless/python:3.11 ]
  [ "$(pod_field get-python '{.status.containerStatuses[0].ready}')" = true ]
  [ "$(pod_field get-python '{.spec.securityContext.runAsUser}')" = 1000 ]
  [ "$(pod_field get-python '{.spec.securityContext.runAsNonRoot}')" = true ]
  [ "$(pod_field get-python '{.spec.securityContext.seccompProfile.type}')" = RuntimeDefault ]
  [ "$(pod_field get-python '{.spec.automountServiceAccountToken}')" = false ]
  [ "$(pod_field get-python '{.spec.initContainers[0].securityContext.allowPrivilegeEscalation}')" = false ]
  [ "$(pod_field get-python '{.spec.containers[0].securityContext.capabilities.drop}')" = '["ALL"]' ]
  [ "$(pod_field get-python '{.status.phase}')" = Running ]
}

@test "a privileged template is refused: TemplateRefused, no Deployment, the message names function-pod-allow" {
  kubectl apply -f - <<'EOF'
apiVersion: kubeless.io/v1beta1
kind: Function
metadata:
  name: privileged
spec:
  runtime: python3.11
  handler: hello.foo
  function: |
    def foo(event, context):
        return open("/host/etc/shadow").read()
  deployment:
    spec:
      template:
        spec:
          hostPID: true
          volumes:
          - name: host
            hostPath:
              path: /
          containers:
          - securityContext:
              privileged: true
            volumeMounts:
            - name: host
              mountPath: /host
EOF
  wait_for 60 "the Ready condition of privileged to be TemplateRefused" \
    bash -c "kubectl get function privileged -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx TemplateRefused"
  run --separate-stderr kubectl get function privileged -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}'
  [[ $output == *'privileged container containers[0] (allowed by "privileged")'* ]]
  [[ $output == *'hostPath volume host (/)'* ]]
  [[ $output == *function-pod-allow* ]]
  no_object deployment privileged
  no_object service privileged
  run --separate-stderr "$KUBELESS" function ls privileged
  [[ $output == *"privileged "*"NOT READY"* ]]
  kubectl delete function privileged >/dev/null
}

@test "the Service of get-python: its endpoint is the pod, and its cluster IP answers (kube-proxy)" {
  local pod_ip ip port
  pod_ip=$(pod_field get-python '{.status.podIP}')
  [[ $pod_ip == 10.88.0.* ]]
  wait_for 30 "the pod IP $pod_ip among the endpoints of service get-python" \
    bash -c "kubectl get endpointslices -l kubernetes.io/service-name=get-python -o jsonpath='{.items[*].endpoints[*].addresses[*]}' | grep -qw '$pod_ip'"
  ip=$(kubectl get service get-python -o jsonpath='{.spec.clusterIP}')
  port=$(kubectl get service get-python -o jsonpath='{.spec.ports[0].port}')
  [ "$port" = 8080 ]
  wait_for 30 "hello world from the cluster IP $ip:$port" \
    bash -c "curl -sf --max-time 5 'http://$ip:$port/' | grep -qx 'hello world'"
}

@test "test_kubeless_function post-python: call --data echoes the JSON; logs show the event" {
  deploy_timed post-python
  verify_function post-python
  run --separate-stderr "$KUBELESS" function call post-python --data '{"it-s": "alive"}'
  [ "$status" -eq 0 ]
  [ "$(tr -d ' \n' <<<"$output")" = '{"it-s":"alive"}' ]
}

@test "test_kubeless_function get-python-deps: the install init container (kubeless/python-init:3.11) runs pip from the node's wheel folder" {
  deploy_timed get-python-deps PYTHON_DEPS_ENV="$CLUSTER_DEPS_ENV"
  verify_function get-python-deps
  [ "$(pod_field get-python-deps '{.spec.initContainers[*].name}')" = "prepare install" ]
  [ "$(pod_field get-python-deps '{.spec.initContainers[1].image}')" = kubeless/python-init:3.11 ]
  [ "$(pod_field get-python-deps '{.status.initContainerStatuses[1].state.terminated.exitCode}')" = 0 ]
}

@test "function logs shows the function's output and the request lines of the pod" {
  run --separate-stderr "$KUBELESS" function call get-python
  [ "$status" -eq 0 ]
  wait_for 30 "a GET request line in kubeless function logs get-python" \
    bash -c "'$KUBELESS' function logs get-python | grep -q '\"GET / HTTP/1.1\" 200'"
  run --separate-stderr "$KUBELESS" function logs post-python
  [ "$status" -eq 0 ]
  [[ $output == *"it-s"*"alive"* ]]
  [[ $output == *'"POST / HTTP/1.1" 200'* ]]
}

@test "function top reads the calls from the pods' /metrics" {
  run --separate-stderr "$KUBELESS" function top
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "NAME"*"NAMESPACE"*"METHOD"*"TOTAL_CALLS"*"TOTAL_FAILURES"* ]]
  grep -E '^get-python +default +GET +[1-9][0-9]* +0 ' <<<"$output"
  grep -E '^post-python +default +POST +[1-9][0-9]* +0 ' <<<"$output"
}

@test "cron trigger: its CronJob's job (busybox wget) POSTs the payload to post-python by its cluster.local name (CoreDNS)" {
  "$KUBELESS" trigger cronjob delete cron-post >/dev/null 2>&1 || true
  kubectl delete job cron-post-now --ignore-not-found --wait=true >/dev/null
  run --separate-stderr "$KUBELESS" trigger cronjob create cron-post --function post-python \
    --schedule '* * * * *' --payload '{"cron": "tick"}'
  [ "$status" -eq 0 ]
  wait_for 60 "the controller to make CronJob cron-post" kubectl get cronjob cron-post
  [ "$(kubectl get cronjob cron-post -o jsonpath='{.spec.jobTemplate.spec.template.spec.containers[0].image}')" = localhost/busybox:local ]
  # the cluster DNS answers the function's name with its Service's cluster IP
  local ip
  ip=$(kubectl get service post-python -o jsonpath='{.spec.clusterIP}')
  run busybox nslookup post-python.default.svc.cluster.local "$(kubectl get node -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
  [[ $output == *"$ip"* ]]
  # a job now rather than at the next minute
  kubectl create job --from=cronjob/cron-post cron-post-now
  wait_for 90 "job cron-post-now to complete" \
    bash -c "kubectl get job cron-post-now -o jsonpath='{.status.succeeded}' | grep -qx 1"
  run --separate-stderr kubectl logs job/cron-post-now
  [ "$status" -eq 0 ]
  [ "$(tr -d ' \n' <<<"$output")" = '{"cron":"tick"}' ]
  wait_for 30 "the cron event in kubeless function logs post-python" \
    bash -c "'$KUBELESS' function logs post-python | grep -F \"'event-namespace': 'cronjobtrigger.kubeless.io'\" | grep -qF \"'cron': 'tick'\""
  run --separate-stderr "$KUBELESS" trigger cronjob delete cron-post
  [ "$status" -eq 0 ]
  wait_for 60 "CronJob cron-post to be gone" no_object cronjob cron-post
  kubectl delete job cron-post-now --ignore-not-found >/dev/null
}

@test "nodejs18: get-nodejs (helloget.foo) answers hello world! from the Debian 12 Node.js image" {
  deploy_timed get-nodejs NODEJS_RUNTIME=nodejs18
  verify_function get-nodejs
  run --separate-stderr "$KUBELESS" function call get-nodejs
  [ "$status" -eq 0 ]
  [ "$output" = "hello world!" ]
  [ "$(pod_field get-nodejs '{.spec.containers[0].image}')" = kubeless/nodejs:18 ]
  [ "$(pod_field get-nodejs '{.spec.securityContext.runAsUser}')" = 1000 ]
}

@test "nodejs18: post-nodejs (hellowithdata.handler): call --data echoes the JSON; logs show the event" {
  deploy_timed post-nodejs NODEJS_RUNTIME=nodejs18
  verify_function post-nodejs
  run --separate-stderr "$KUBELESS" function call post-nodejs --data '{"it-s": "alive"}'
  [ "$status" -eq 0 ]
  [ "$(tr -d ' \n' <<<"$output")" = '{"it-s":"alive"}' ]
  wait_for 30 "the event in kubeless function logs post-nodejs" \
    bash -c "'$KUBELESS' function logs post-nodejs | grep -q 'alive'"
}

# deploy_all [VAR=value...] TARGET...: fresh deploys of the examples'
# targets at once (make -j; each deploy waits until its function is Ready).
deploy_all() {
  local vars=() targets=() a
  for a in "$@"; do
    if [[ $a == *=* ]]; then vars+=("$a"); else targets+=("$a"); fi
  done
  for a in "${targets[@]}"; do
    kubeless_function_delete "$a"
  done
  local start=$SECONDS
  make -sC "$EXAMPLES_DIR" -j "${#targets[@]}" "${targets[@]}" ${vars[@]+"${vars[@]}"}
  echo "# ${targets[*]}: deployed to Ready in $((SECONDS - start))s" >&3
}

# http_status FUNCTION: the status of a GET to the function's cluster IP
# (kube-proxy).
http_status() {
  local ip
  ip=$(kubectl get service "$1" -o jsonpath='{.spec.clusterIP}')
  curl -s -o /dev/null -w '%{http_code}' --max-time 60 "http://$ip:8080/"
}

# status_is FUNCTION CODE: a GET to the function's cluster IP answers CODE.
status_is() {
  [ "$(http_status "$1")" = "$2" ]
}

# language_pods LANG VERSION FUNCTION...: each function's pod runs the
# catalog's runtime image kubeless/LANG:VERSION as UID 1000.
language_pods() {
  local lang=$1 version=$2 fn
  shift 2
  for fn in "$@"; do
    [ "$(pod_field "$fn" '{.spec.containers[0].image}')" = "kubeless/$lang:$version" ]
    [ "$(pod_field "$fn" '{.spec.securityContext.runAsUser}')" = 1000 ]
  done
}

@test "nodejs18: timeout-nodejs answers 408 after --timeout 3" {
  deploy_all timeout-nodejs NODEJS_RUNTIME=nodejs18
  verify_function timeout-nodejs
  wait_for 60 "408 from the cluster IP of timeout-nodejs" status_is timeout-nodejs 408
}

@test "go1.26: get-go from kubectl apply of its Function manifest: compiled by the compilation image, answers Hello world!" {
  kubeless_function_delete get-go
  local start=$SECONDS
  kubectl apply -f "$EXAMPLES_DIR/go/function.yaml"
  wait_for 600 "get-go to be READY" function_ready get-go
  echo "# get-go: applied to Ready in $((SECONDS - start))s" >&3
  verify_function get-go
  [ "$(pod_field get-go '{.spec.initContainers[*].name}')" = "prepare compile" ]
  [ "$(pod_field get-go '{.spec.initContainers[1].image}')" = kubeless/go-init:1.26 ]
  language_pods go 1.26 get-go
}

@test "go1.26: post-go echoes the JSON and logs the event; timeout-go answers 408" {
  deploy_all post-go timeout-go
  verify_function post-go
  verify_function timeout-go
  wait_for 60 "408 from the cluster IP of timeout-go" status_is timeout-go 408
  language_pods go 1.26 post-go timeout-go
}

@test "ruby3.1: get-ruby, post-ruby (logs) and timeout-ruby (408) on the Debian 12 Ruby image" {
  deploy_all get-ruby post-ruby timeout-ruby
  verify_function get-ruby
  verify_function post-ruby
  verify_function timeout-ruby
  wait_for 60 "408 from the cluster IP of timeout-ruby" status_is timeout-ruby 408
  language_pods ruby 3.1 get-ruby post-ruby timeout-ruby
}

@test "php8.2: get-php, post-php (logs) and timeout-php (408) on the Debian 12 PHP image; an update rolls" {
  deploy_all get-php post-php timeout-php
  verify_function get-php
  verify_function post-php
  verify_function timeout-php
  wait_for 60 "408 from the cluster IP of timeout-php" status_is timeout-php 408
  language_pods php 8.2 get-php post-php timeout-php
  wait_for 30 "a POST request line in kubeless function logs post-php" \
    bash -c "'$KUBELESS' function logs post-php | grep -q '\"POST / HTTP/1.1\" 200'"
  local old
  old=$(pod_field get-php '{.metadata.name}')
  update_function get-php
  wait_for 120 "hello world updated from get-php" \
    bash -c "'$KUBELESS' function call get-php | grep -qx 'hello world updated'"
  [ "$(pod_field get-php '{.metadata.name}')" != "$old" ]
  wait_for 60 "the old pod $old to be gone" no_object pod "$old"
}

@test "every language by its cluster.local name from a pod: get and post of python, nodejs, ruby, php and go; top counts the calls" {
  kubectl delete pod dns-client --ignore-not-found --wait=true >/dev/null
  # the client's script, in a ConfigMap: one line per call, "<function>: <answer>"
  local fn script=""
  for fn in get-python get-nodejs get-ruby get-php get-go; do
    script+="echo \"$fn: \$(wget -q -O- http://$fn.default.svc.cluster.local:8080/)\""$'\n'
  done
  for fn in post-python post-nodejs post-ruby post-php post-go; do
    script+="echo \"$fn: \$(wget -q -O- --header 'Content-Type: application/json' --post-data '{\"from\": \"pod\"}' http://$fn.default.svc.cluster.local:8080/)\""$'\n'
  done
  kubectl create configmap dns-client --from-literal=calls.sh="$script" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -f - <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: dns-client
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  volumes:
  - name: script
    configMap: {name: dns-client}
  containers:
  - name: client
    image: localhost/busybox:local
    imagePullPolicy: Never
    command: [sh, -e, /script/calls.sh]
    volumeMounts:
    - {name: script, mountPath: /script}
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
EOF
  wait_for 120 "pod dns-client to end" \
    bash -c "kubectl get pod dns-client -o jsonpath='{.status.phase}' | grep -Eqx 'Succeeded|Failed'"
  run --separate-stderr kubectl logs dns-client
  echo "$output"
  [ "$(kubectl get pod dns-client -o jsonpath='{.status.phase}')" = Succeeded ]
  grep -qx 'get-python: hello world' <<<"$output"
  grep -qx 'get-nodejs: hello world!' <<<"$output"
  grep -qx 'get-ruby: hello world' <<<"$output"
  grep -qx 'get-php: hello world updated' <<<"$output"
  grep -qx 'get-go: Hello world!' <<<"$output"
  for fn in post-python post-nodejs post-ruby post-php post-go; do
    grep -Eqx "$fn: \{ ?\"from\": ?\"pod\"\}" <<<"$output"
  done
  kubectl delete pod dns-client --wait=false >/dev/null
  kubectl delete configmap dns-client >/dev/null
  run --separate-stderr "$KUBELESS" function top
  [ "$status" -eq 0 ]
  for fn in get-nodejs get-ruby get-php get-go; do
    grep -E "^$fn +default +GET +[1-9][0-9]* +0 " <<<"$output"
  done
}

# calls_of FUNCTION: the calls the function's pods counted (kubeless function top).
calls_of() {
  "$KUBELESS" function top --function "$1" | awk -v f="$1" '$1 == f { n += $4 } END { print n + 0 }'
}

# calls_above FUNCTION N: the function's pods counted more than N calls.
calls_above() {
  (($(calls_of "$1") > $2))
}

@test "a rolling update loses no call: wrk through the API server's service proxy while rolling-python updates, every answer 2xx (the preStop sleep)" {
  kubeless_function_delete rolling-python
  "$KUBELESS" function deploy rolling-python --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py"
  [ "$(pod_field rolling-python '{.spec.containers[0].lifecycle.preStop.sleep.seconds}')" = 5 ]
  local old token url before
  old=$(pod_field rolling-python '{.metadata.name}')
  token=$(kubectl config view --raw -o jsonpath='{.users[0].user.token}')
  url=https://127.0.0.1:6443/api/v1/namespaces/default/services/rolling-python:8080/proxy/
  before=$(calls_of rolling-python)
  # fd 3 closed: bats waits for every process that holds it
  wrk -t1 -c4 -d60s -H "Authorization: Bearer $token" "$url" >"$BATS_TEST_TMPDIR/wrk.out" 2>&1 3>&- &
  local wrk_pid=$!
  wait_for 30 "the load to reach rolling-python" calls_above rolling-python $((before + 20))
  mkdir -p "$BATS_TEST_TMPDIR/fn"
  printf 'def foo(event, context):\n    return "hello world updated"\n' >"$BATS_TEST_TMPDIR/fn/helloget.py"
  "$KUBELESS" function update rolling-python --from-file "$BATS_TEST_TMPDIR/fn/helloget.py"
  wait_for 60 "the old pod $old to be gone" no_object pod "$old"
  # the whole update happened under load
  if ! kill -0 "$wrk_pid" 2>/dev/null; then
    echo "wrk ended before the old pod was gone: the update outlasted the load (-d)" >&2
    return 1
  fi
  wait "$wrk_pid"
  cat "$BATS_TEST_TMPDIR/wrk.out"
  grep -Eq '^ +[1-9][0-9]* requests in' "$BATS_TEST_TMPDIR/wrk.out"
  ! grep -q 'Non-2xx or 3xx responses' "$BATS_TEST_TMPDIR/wrk.out" || false
  ! grep -q 'Socket errors' "$BATS_TEST_TMPDIR/wrk.out" || false
  [ "$("$KUBELESS" function call rolling-python)" = "hello world updated" ]
}

# bad_dependency FUNCTION RUNTIME HANDLER FILE DEPFILE WORDS [DEPLOY FLAG...]:
# the deploy fails with InitContainerFailed, and the error shows the
# installation tool's message, which has WORDS.
bad_dependency() {
  local fn=$1 runtime=$2 handler=$3 file=$4 deps=$5 words=$6
  shift 6
  kubeless_function_delete "$fn"
  run --separate-stderr "$KUBELESS" function deploy "$fn" --runtime "$runtime" --handler "$handler" \
    --from-file "$file" --dependencies "$deps" "$@" --wait-timeout 300s
  echo "$stderr"
  [ "$status" -eq 1 ]
  [[ $stderr == *"Error: function $fn failed (InitContainerFailed)"* ]]
  [[ $stderr == *"$words"* ]]
  [ "$(kubectl get function "$fn" -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = InitContainerFailed ]
  "$KUBELESS" function delete "$fn" >/dev/null
}

@test "go1.26 deps without the internet: get-go-deps fetches logrus from the node's GOPROXY; a missing module fails the compile init container with go's message" {
  # shellcheck disable=SC2086
  deploy_all get-go-deps GO_DEPS_ENV="$GO_CLUSTER_ENV"
  verify_function get-go-deps
  mkdir -p "$BATS_TEST_TMPDIR/fn"
  printf 'module function\n\ngo 1.21\n\nrequire github.com/kubeless/no-such-module v1.0.0\n' >"$BATS_TEST_TMPDIR/fn/go.mod"
  cat >"$BATS_TEST_TMPDIR/fn/missing.go" <<'EOF'
package kubeless

import (
	"github.com/kubeless/kubeless/pkg/functions"
	nosuch "github.com/kubeless/no-such-module"
)

func Foo(event functions.Event, context functions.Context) (string, error) {
	return nosuch.Hello(), nil
}
EOF
  # shellcheck disable=SC2086
  bad_dependency bad-go-deps go1.26 missing.Foo "$BATS_TEST_TMPDIR/fn/missing.go" "$BATS_TEST_TMPDIR/fn/go.mod" \
    "github.com/kubeless/no-such-module@v1.0.0" $GO_CLUSTER_ENV
}

@test "ruby3.1 deps without the internet: get-ruby-deps installs the gem from the node's gem source; a missing gem fails with Bundler's message" {
  deploy_all get-ruby-deps RUBY_DEPS_ENV="$RUBY_CLUSTER_ENV"
  verify_function get-ruby-deps
  [ "$(pod_field get-ruby-deps '{.spec.initContainers[1].image}')" = kubeless/ruby-init:3.1 ]
  mkdir -p "$BATS_TEST_TMPDIR/fn"
  printf 'source ENV.fetch("EXAMPLES_GEM_SOURCE")\ngem "no_such_gem", "1.0.0"\n' >"$BATS_TEST_TMPDIR/fn/Gemfile"
  # shellcheck disable=SC2086
  bad_dependency bad-ruby-deps ruby3.1 helloget.foo "$EXAMPLES_DIR/ruby/helloget.rb" "$BATS_TEST_TMPDIR/fn/Gemfile" \
    no_such_gem $RUBY_CLUSTER_ENV
}

@test "php8.2 deps without the internet: get-php-deps installs from the node's composer repository; a missing package fails with Composer's message" {
  mkdir -p "$BATS_TEST_TMPDIR/fn"
  # the repository in composer.json, as users name their private one
  cat >"$BATS_TEST_TMPDIR/fn/composer.json" <<EOF
{"repositories": [{"type": "composer", "url": "$DEPS_URL/composer"}, {"packagist": false}],
 "config": {"secure-http": false},
 "require": {"kubeless/greeting": "1.0.0"}}
EOF
  kubeless_function_delete get-php-deps
  "$KUBELESS" function deploy get-php-deps --runtime php8.2 --handler hellowithdeps.foo \
    --from-file "$EXAMPLES_DIR/php/hellowithdeps.php" --dependencies "$BATS_TEST_TMPDIR/fn/composer.json"
  verify_function get-php-deps
  [ "$(pod_field get-php-deps '{.spec.initContainers[1].image}')" = kubeless/php-init:8.2 ]
  sed -i 's#"kubeless/greeting"#"kubeless/no-such-package"#' "$BATS_TEST_TMPDIR/fn/composer.json"
  # (the termination message is the end of Composer's output, after the package's name)
  bad_dependency bad-php-deps php8.2 helloget.foo "$EXAMPLES_DIR/php/helloget.php" "$BATS_TEST_TMPDIR/fn/composer.json" \
    "you forgot to add a custom repository to find it"
}

@test "nodejs18 deps without the internet: get-nodejs-deps installs lodash through Verdaccio on the node (the catalog's NPM_REGISTRY); a missing package fails with npm's 404" {
  deploy_all get-nodejs-deps NODEJS_RUNTIME=nodejs18
  verify_function get-nodejs-deps
  [ "$(pod_field get-nodejs-deps '{.spec.initContainers[1].image}')" = kubeless/nodejs-init:18 ]
  # The registry reached the install init container from kubeless-config's
  # catalog (the deploy gave the function no env).
  [ "$(pod_field get-nodejs-deps '{.spec.initContainers[1].env[?(@.name=="NPM_REGISTRY")].value}')" = "$NPM_URL" ]
  mkdir -p "$BATS_TEST_TMPDIR/fn"
  echo '{"dependencies": {"kubeless-no-such-package": "1.0.0"}}' >"$BATS_TEST_TMPDIR/fn/package.json"
  bad_dependency bad-nodejs-deps nodejs18 helloget.foo "$EXAMPLES_DIR/nodejs/helloget.js" "$BATS_TEST_TMPDIR/fn/package.json" \
    "npm ERR! 404"
}

@test "test_kubeless_function_update get-python: the Deployment rolls to a new pod with the new code" {
  local old
  old=$(pod_field get-python '{.metadata.name}')
  local start=$SECONDS
  update_function get-python
  wait_for 120 "hello world updated from get-python" \
    bash -c "'$KUBELESS' function call get-python | grep -qx 'hello world updated'"
  echo "# get-python: update to the new answer in $((SECONDS - start))s" >&3
  verify_function get-python get-python-update-verify
  [ "$(pod_field get-python '{.metadata.name}')" != "$old" ]
  wait_for 60 "the old pod $old to be gone" no_object pod "$old"
}

@test "bad input: code that fails to load: deploy fails with the SyntaxError, ls shows NOT READY (CrashLoop)" {
  mkdir -p "$BATS_TEST_TMPDIR/fn"
  printf 'def foo(event, context)\n    return 1\n' >"$BATS_TEST_TMPDIR/fn/broken.py"
  run --separate-stderr "$KUBELESS" function deploy broken --runtime python3.11 --handler broken.foo \
    --from-file "$BATS_TEST_TMPDIR/fn/broken.py" --wait-timeout 180s
  echo "$stderr"
  [ "$status" -eq 1 ]
  [[ $stderr == *"Error: function broken failed (CrashLoop)"* ]]
  # the runtime's own words, through the termination message
  [[ $stderr == *"SyntaxError"* ]]
  run --separate-stderr "$KUBELESS" function ls broken
  [ "$status" -eq 0 ]
  [[ $output == *"broken "*"NOT READY"* ]]
  [ "$(kubectl get function broken -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = CrashLoop ]
}

@test "bad input: a dependency pip cannot find: deploy fails with pip's error, ls shows NOT READY (InitContainerFailed)" {
  mkdir -p "$BATS_TEST_TMPDIR/fn"
  echo 'no-such-package==9.9' >"$BATS_TEST_TMPDIR/fn/requirements.txt"
  # shellcheck disable=SC2086
  run --separate-stderr "$KUBELESS" function deploy bad-deps --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py" --dependencies "$BATS_TEST_TMPDIR/fn/requirements.txt" \
    $CLUSTER_DEPS_ENV --wait-timeout 180s
  echo "$stderr"
  [ "$status" -eq 1 ]
  [[ $stderr == *"Error: function bad-deps failed (InitContainerFailed)"* ]]
  # pip's error, through the termination message
  [[ $stderr == *"init container install failed"*"no-such-package"* ]]
  run --separate-stderr "$KUBELESS" function ls bad-deps
  [ "$status" -eq 0 ]
  [[ $output == *"bad-deps "*"NOT READY"* ]]
  [ "$(kubectl get function bad-deps -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = InitContainerFailed ]
}

@test "bad input: a runtime whose image is not on the node (pull policy Never): ImageMissing" {
  run --separate-stderr "$KUBELESS" function deploy py312 --runtime python3.12 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py" --wait-timeout 120s
  echo "$stderr"
  [ "$status" -eq 1 ]
  [[ $stderr == *"kubeless/python:3.12"* ]]
  run --separate-stderr "$KUBELESS" function ls py312
  [ "$status" -eq 0 ]
  [[ $output == *"py312 "*"NOT READY"* ]]
  [ "$(kubectl get function py312 -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}')" = ImageMissing ]
}

@test "archives: prepare (busybox) unpacks a .zip and a .tar.gz" {
  local dir=$BATS_TEST_TMPDIR/arch
  mkdir -p "$dir/src"
  cp "$EXAMPLES_DIR/python/helloget.py" "$dir/src/"
  (cd "$dir/src" && python3 -m zipfile -c ../hello.zip helloget.py && tar czf ../hello.tar.gz helloget.py)
  run --separate-stderr "$KUBELESS" function deploy zip-python --runtime python3.11 --handler helloget.foo \
    --from-file "$dir/hello.zip" --wait-timeout 120s
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "$(kubectl get function zip-python -o jsonpath='{.spec.function-content-type}')" = base64+zip ]
  run --separate-stderr "$KUBELESS" function deploy tgz-python --runtime python3.11 --handler helloget.foo \
    --from-file "$dir/hello.tar.gz" --wait-timeout 120s
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "$(kubectl get function tgz-python -o jsonpath='{.spec.function-content-type}')" = base64+compressedtar ]
  run --separate-stderr "$KUBELESS" function call zip-python
  [ "$output" = "hello world" ]
  run --separate-stderr "$KUBELESS" function call tgz-python
  [ "$output" = "hello world" ]
}

# start_code_server: a web server for code given as a URL, on the pods'
# gateway address (the kc0 bridge), serving examples/python.
start_code_server() {
  local gw
  gw=$(ip -4 -o addr show dev kc0 | awk '{print $4}' | cut -d/ -f1)
  [[ -n $gw ]]
  CODE_PORT=$(python3 -c "import socket; s = socket.socket(); s.bind(('$gw', 0)); print(s.getsockname()[1])")
  python3 -m http.server --bind "$gw" --directory "$EXAMPLES_DIR/python" "$CODE_PORT" >/dev/null 2>&1 3>&- &
  CODE_SERVER_PID=$!
  CODE_URL=http://$gw:$CODE_PORT
  wait_for 10 "the code server on $CODE_URL" curl -sf "$CODE_URL/helloget.py"
}

teardown() {
  if [[ -n ${CODE_SERVER_PID:-} ]]; then
    kill "$CODE_SERVER_PID" 2>/dev/null || true
    wait "$CODE_SERVER_PID" 2>/dev/null || true
  fi
}

@test "code from a URL: prepare downloads it (busybox wget), and refuses it when the checksum differs" {
  start_code_server
  run --separate-stderr "$KUBELESS" function deploy url-python --runtime python3.11 --handler helloget.foo \
    --from-file "$CODE_URL/helloget.py" --wait-timeout 120s
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "$(kubectl get function url-python -o jsonpath='{.spec.function-content-type}')" = url ]
  run --separate-stderr "$KUBELESS" function call url-python
  [ "$output" = "hello world" ]

  kubectl apply -f - <<EOF
apiVersion: kubeless.io/v1beta1
kind: Function
metadata:
  name: bad-sum
spec:
  runtime: python3.11
  handler: helloget.foo
  function-content-type: url
  function: $CODE_URL/helloget.py
  checksum: sha256:0000000000000000000000000000000000000000000000000000000000000000
EOF
  wait_for 120 "the Ready condition of bad-sum to be InitContainerFailed" \
    bash -c "kubectl get function bad-sum -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx InitContainerFailed"
  kubectl get function bad-sum -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}' | grep 'checksum mismatch'
  run --separate-stderr "$KUBELESS" function ls bad-sum
  [[ $output == *"bad-sum "*"NOT READY"* ]]
}

@test "bad input: a base64 checksum that does not match: the controller says InvalidChecksum" {
  kubectl apply -f - <<'EOF'
apiVersion: kubeless.io/v1beta1
kind: Function
metadata:
  name: bad-b64sum
spec:
  runtime: python3.11
  handler: hello.foo
  function-content-type: base64
  function: ZGVmIGZvbyhldmVudCwgY29udGV4dCk6CiAgICByZXR1cm4gImhlbGxvIgo=
  checksum: sha256:0000000000000000000000000000000000000000000000000000000000000000
EOF
  wait_for 60 "the Ready condition of bad-b64sum to be InvalidChecksum" \
    bash -c "kubectl get function bad-b64sum -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}' | grep -qx InvalidChecksum"
  run --separate-stderr "$KUBELESS" function ls bad-b64sum
  [[ $output == *"bad-b64sum "*"NOT READY"* ]]
}

# stop_controller: scales the controller manager's Deployment to 0 and waits
# until its pods are gone; start_controller scales it back to 1 and waits
# until it is rolled out.
stop_controller() {
  kubectl -n kubeless scale deployment kubeless-controller-manager --replicas=0
  kubectl -n kubeless wait --for=delete pod -l kubeless=controller --timeout=120s
}
start_controller() {
  kubectl -n kubeless scale deployment kubeless-controller-manager --replicas=1
  kubectl -n kubeless rollout status deployment kubeless-controller-manager --timeout=120s
}

# answer FUNCTION PATH: the status line, headers and body of a GET of PATH
# at the function's cluster IP (kube-proxy), CRs removed.
answer() {
  local ip
  ip=$(kubectl get service "$1" -o jsonpath='{.spec.clusterIP}')
  curl -s -D - --max-time 60 "http://$ip:8080$2" | tr -d '\r'
}

# compat_deploy NAME RUNTIME HANDLER FILE: a fresh deploy with the CLI
# (which waits until the function is Ready).
compat_deploy() {
  kubeless_function_delete "$1"
  run --separate-stderr "$KUBELESS" function deploy "$1" --runtime "$2" --handler "$3" --from-file "$4"
  [ "$status" -eq 0 ] || { echo "deploy $1: $stderr" >&2; return 1; }
}

@test "functions written for the original runtimes run unchanged on pods: bottle (Python), the PHP response, Express's members (Node.js)" {
  compat_deploy compat-bottle python3.11 hellobottle.handler "$REPO_ROOT/runtimes/python/examples-compat/hellobottle.py"
  compat_deploy compat-phpresponse php8.2 helloresponse.foo "$REPO_ROOT/runtimes/php/examples-compat/helloresponse.php"
  compat_deploy compat-express nodejs18 helloexpress.foo "$REPO_ROOT/runtimes/nodejs/examples-compat/helloexpress.js"

  run answer compat-bottle '/?name=teapot'
  [[ ${lines[0]} == "HTTP/1.1 418 "* ]]
  [[ $output == *$'\nX-Kind: teapot\n'* ]]
  [[ $output == *"I'm a teapot" ]]
  run answer compat-bottle '/?name=ann'
  [[ ${lines[0]} == "HTTP/1.1 201 "* ]]
  [[ $output == *$'\nLocation: /greetings/ann\n'* ]]
  run answer compat-bottle '/'
  [[ ${lines[0]} == "HTTP/1.1 400 "* ]]
  [[ $output == *$'\nX-Reason: missing name\n'* ]]

  run answer compat-phpresponse '/?name=ann'
  [[ ${lines[0]} == "HTTP/1.1 201 "* ]]
  [[ $output == *$'\nLocation: /greetings/ann\n'* ]]
  [[ $output == *"hello ann" ]]
  run answer compat-phpresponse '/'
  [[ ${lines[0]} == "HTTP/1.1 400 "* ]]
  [[ $output == *$'\nX-Reason: missing name\n'* ]]

  run answer compat-express '/x?y=1'
  [[ ${lines[0]} == "HTTP/1.1 200 "* ]]
  [[ $output == *$'\nSet-Cookie: visited=yes; Path=/; HttpOnly\n'* ]]
  [[ $output == *", you asked for /x?y=1" ]]
  run answer compat-express '/old'
  [[ ${lines[0]} == "HTTP/1.1 301 "* ]]
  [[ $output == *$'\nLocation: /new\n'* ]]

  for fn in compat-bottle compat-phpresponse compat-express; do
    kubeless_function_delete "$fn"
  done
}

@test "an original Kubeless installation is taken over: same Service and cluster IP, one CronJob, the trigger's annotations on its Ingress, no finalizers left" {
  stop_controller
  # what the original's CLI and controllers left (their shapes: plain owner
  # references, the function's labels, finalizers, the cron trigger's
  # CronJob trigger-<function> owned by kind "Trigger", the Ingress with the
  # trigger's labels)
  kubectl apply -f - <<'EOF'
apiVersion: kubeless.io/v1beta1
kind: Function
metadata:
  name: orig-py
  labels: {created-by: kubeless, function: orig-py}
  finalizers: [kubeless.io/function]
spec:
  deployment:
    metadata: {creationTimestamp: null}
    spec:
      strategy: {}
      template:
        metadata: {creationTimestamp: null}
        spec:
          containers: [{name: "", resources: {}}]
    status: {}
  deps: ""
  function: |
    def foo(event, context):
        return "hello world"
  function-content-type: text
  handler: helloget.foo
  runtime: python3.11
  service:
    ports: [{name: http-function-port, port: 8080, protocol: TCP, targetPort: 8080}]
    selector: {created-by: kubeless, function: orig-py}
    type: ClusterIP
  timeout: "180"
---
apiVersion: kubeless.io/v1beta1
kind: HTTPTrigger
metadata:
  name: orig-py
  labels: {created-by: kubeless}
  finalizers: [kubeless.io/httptrigger]
  annotations:
    kubernetes.io/ingress.class: nginx-internal
    nginx.ingress.kubernetes.io/proxy-body-size: 8m
spec:
  function-name: orig-py
  host-name: orig-py.example.com
  gateway: nginx
---
apiVersion: kubeless.io/v1beta1
kind: CronJobTrigger
metadata:
  name: orig-cron
  labels: {created-by: kubeless}
  finalizers: [kubeless.io/cronjobtrigger]
spec:
  function-name: orig-py
  schedule: "* * * * *"
EOF
  local fuid huid cuid
  fuid=$(kubectl get function orig-py -o jsonpath='{.metadata.uid}')
  huid=$(kubectl get httptrigger orig-py -o jsonpath='{.metadata.uid}')
  cuid=$(kubectl get cronjobtrigger orig-cron -o jsonpath='{.metadata.uid}')
  kubectl create -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: orig-py
  labels: {created-by: kubeless, function: orig-py}
  ownerReferences: [{apiVersion: kubeless.io/v1beta1, kind: Function, name: orig-py, uid: $fuid}]
data: {handler: helloget.foo, helloget.py: "old", requirements.txt: ""}
---
apiVersion: v1
kind: Service
metadata:
  name: orig-py
  labels: {created-by: kubeless, function: orig-py}
  ownerReferences: [{apiVersion: kubeless.io/v1beta1, kind: Function, name: orig-py, uid: $fuid}]
spec:
  ports: [{name: http-function-port, port: 8080, protocol: TCP, targetPort: 8080}]
  selector: {created-by: kubeless, function: orig-py}
  type: ClusterIP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orig-py
  labels: {created-by: kubeless, function: orig-py}
  ownerReferences: [{apiVersion: kubeless.io/v1beta1, kind: Function, name: orig-py, uid: $fuid}]
spec:
  selector:
    matchLabels: {created-by: kubeless, function: orig-py}
  template:
    metadata:
      labels: {created-by: kubeless, function: orig-py}
    spec:
      containers: [{name: orig-py, image: kubeless/python:3.11, imagePullPolicy: Never}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: orig-py
  labels: {created-by: kubeless}
  annotations: {kubernetes.io/ingress.class: nginx, nginx.ingress.kubernetes.io/rewrite-target: /}
  ownerReferences: [{apiVersion: kubeless.io/v1beta1, kind: HTTPTrigger, name: orig-py, uid: $huid}]
spec:
  rules:
  - host: orig-py.example.com
    http:
      paths:
      - path: /
        pathType: ImplementationSpecific
        backend: {service: {name: orig-py, port: {number: 8080}}}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: trigger-orig-py
  labels: {created-by: kubeless, function: orig-py}
  ownerReferences: [{apiVersion: kubeless.io/v1beta1, kind: Trigger, name: orig-cron, uid: $cuid}]
spec:
  schedule: "* * * * *"
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      activeDeadlineSeconds: 180
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: trigger
            image: localhost/busybox:local
            args: [wget, -q, -O-, --header, "event-namespace: cronjobtrigger.kubeless.io", "http://orig-py.default.svc.cluster.local:8080"]
EOF
  local ip
  ip=$(kubectl get service orig-py -o jsonpath='{.spec.clusterIP}')
  [[ -n $ip ]]
  local start=$SECONDS
  start_controller
  wait_for 60 "the original's CronJob trigger-orig-py to be replaced" no_object cronjob trigger-orig-py
  wait_for 60 "the trigger's CronJob orig-cron" kubectl get cronjob orig-cron
  [ "$(kubectl get cronjobs -l function=orig-py -o name)" = cronjob.batch/orig-cron ]
  wait_for 180 "orig-py to answer hello world" bash -c "'$KUBELESS' function call orig-py | grep -qx 'hello world'"
  echo "# orig-py: taken over and answering in $((SECONDS - start))s" >&3
  # the same Service: name, port and cluster IP
  [ "$(kubectl get service orig-py -o jsonpath='{.spec.clusterIP}')" = "$ip" ]
  [ "$(kubectl get service orig-py -o jsonpath='{.spec.ports[0].port}')" = 8080 ]
  local kind
  for kind in configmap service deployment; do
    [ "$(kubectl get "$kind" orig-py -o jsonpath='{.metadata.ownerReferences[?(@.controller==true)].uid}')" = "$fuid" ]
  done
  [ "$(kubectl get ingress orig-py -o jsonpath='{.metadata.ownerReferences[?(@.controller==true)].uid}')" = "$huid" ]
  [ "$(kubectl get ingress orig-py -o jsonpath='{.metadata.annotations.kubernetes\.io/ingress\.class}')" = nginx-internal ]
  [ "$(kubectl get ingress orig-py -o jsonpath='{.metadata.annotations.nginx\.ingress\.kubernetes\.io/proxy-body-size}')" = 8m ]
  [ -z "$(kubectl get function orig-py -o jsonpath='{.metadata.finalizers}')" ]
  [ -z "$(kubectl get httptrigger orig-py -o jsonpath='{.metadata.finalizers}')" ]
  [ -z "$(kubectl get cronjobtrigger orig-cron -o jsonpath='{.metadata.finalizers}')" ]
  # the cron trigger fires, once a minute: its CronJob's first Job calls
  # orig-py and completes, and no minute has two Jobs of the function (a
  # CronJob names its Jobs <cronjob>-<minutes since the epoch>), nor has
  # the original's CronJob made one since the takeover
  local taken=$(($(date +%s) / 60))
  wait_for 150 "a Job of the CronJob orig-cron" \
    bash -c "kubectl get jobs -o name | grep -q '^job.batch/orig-cron-'"
  local job
  job=$(kubectl get jobs -o name | grep '^job.batch/orig-cron-' | head -1)
  kubectl wait --for=condition=complete "$job" --timeout=120s
  local minutes
  minutes=$(kubectl get jobs -o name | sed -n 's,^job.batch/\(orig-cron\|trigger-orig-py\)-\([0-9]*\)$,\2,p')
  echo "# cron Jobs of orig-py by minute: $(tr '\n' ' ' <<<"$minutes")" >&3
  [ -z "$(sort <<<"$minutes" | uniq -d)" ]
  [ -z "$(kubectl get jobs -o name | sed -n 's,^job.batch/trigger-orig-py-\([0-9]*\)$,\1,p' | awk -v t="$taken" '$1 > t')" ]
  # the triggers can be deleted with their objects
  kubectl delete cronjobtrigger orig-cron --wait=true --timeout=30s
  kubectl delete httptrigger orig-py --wait=true --timeout=30s
  wait_for 60 "CronJob orig-cron to be gone" no_object cronjob orig-cron
  wait_for 60 "Ingress orig-py to be gone" no_object ingress orig-py
}

@test "function delete: the garbage collector removes the Deployment, Service, ConfigMap and pods" {
  run --separate-stderr "$KUBELESS" function delete get-python
  [ "$status" -eq 0 ]
  wait_for 60 "deployment get-python to be gone" no_object deployment get-python
  wait_for 60 "service get-python to be gone" no_object service get-python
  wait_for 60 "configmap get-python to be gone" no_object configmap get-python
  wait_for 90 "the pods of get-python to be gone" \
    bash -c "[ -z \"\$(kubectl get pods -l function=get-python -o name)\" ]"
  run --separate-stderr "$KUBELESS" function call get-python
  [ "$status" -eq 1 ]
  run --separate-stderr "$KUBELESS" function ls
  refute_line_matching '^get-python ' "$output"
}
