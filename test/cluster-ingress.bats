#!/usr/bin/env bats
# HTTP triggers through a real ingress controller: Traefik (built from the
# Go module proxy, run as a Deployment from an image made with buildah on the
# Debian 12 base: hack/cluster-ingress.sh, which setup_file runs) on the
# cluster of hack/cluster-up.sh. An HTTPTrigger made with the CLI
# (--gateway traefik, --hostname, --path, --basic-auth-secret, --tls-secret,
# --cors-enable) in front of a Python function on a pod; curl on the node
# calls Traefik on the node's address with --resolve for the host name and
# --cacert for the test's own CA (openssl), and a pod calls it too: the right host and path reach
# the function, a wrong host or path does not, basic auth from an htpasswd
# Secret (as the original's docs made it), a CORS preflight, and the
# trigger's deletion removes its route.
#
# Run: CLUSTER_BATS=test/cluster-ingress.bats hack/e2e-cluster.sh (the
# cluster is started and stopped around it). Prepare the build outside the
# cluster's lock first: hack/cluster-ingress.sh --build-only.
# Without a reachable cluster every test is skipped, and fails under CI.

bats_require_minimum_version 1.5.0

load lib/libtest
load lib/cluster

NS=ingress-test
HOST=hello.kubeless.test
ORIGIN=https://app.kubeless.test

setup_file() {
  cluster_setup_file
  [[ -z $CLUSTER_SKIP ]] || return 0
  local start=$SECONDS
  "$REPO_ROOT/hack/cluster-ingress.sh"
  echo "# Traefik installed in $((SECONDS - start))s" >&3
  # shellcheck disable=SC1091
  . "$CLUSTER_STATE/ingress.env"
  export INGRESS_NODE_IP INGRESS_HTTP_PORT INGRESS_HTTPS_PORT
  kubectl delete namespace "$NS" --ignore-not-found --wait=true >/dev/null
  kubectl create namespace "$NS" >/dev/null

  # the test's CA, and the host's certificate it signs
  local pki=$BATS_FILE_TMPDIR/pki
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 1 -subj /CN=kubeless-ingress-test-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$pki/tls.key" -out "$pki/tls.csr" -subj "/CN=$HOST" 2>/dev/null
  printf 'subjectAltName = DNS:%s\nextendedKeyUsage = serverAuth\n' "$HOST" > "$pki/ext.cnf"
  openssl x509 -req -in "$pki/tls.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -out "$pki/tls.crt" -days 1 -extfile "$pki/ext.cnf" 2>/dev/null
  export CACERT=$pki/ca.crt
  kubectl create secret tls hello-tls -n "$NS" --cert="$pki/tls.crt" --key="$pki/tls.key" >/dev/null
  # basic auth as the original's docs told: an htpasswd file in a Secret's
  # key "auth" (htpasswd's apr1 hash, made with openssl)
  printf 'alice:%s\n' "$(openssl passwd -apr1 wonderland)" > "$BATS_FILE_TMPDIR/auth"
  kubectl create secret generic hello-auth -n "$NS" --from-file=auth="$BATS_FILE_TMPDIR/auth" >/dev/null

  "$KUBELESS" function deploy hello -n "$NS" --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py"
  wait_for 180 "function hello Ready" function_ready_in "$NS" hello
}

teardown_file() {
  [[ -n $CLUSTER_SKIP ]] && return 0
  kubectl delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
}


# function_ready_in <namespace> <name>: the function is n/n READY.
function_ready_in() {
  "$KUBELESS" function ls -n "$1" "$2" | awk -v f="$2" '$1 == f && $NF == "READY" { split($(NF-1), a, "/"); if (a[1] == a[2] && a[1] > 0) ok = 1 } END { exit !ok }'
}

# call [curl options...]: curl to Traefik's HTTPS port on the node, the
# trigger's host name resolving to the node; prints the body, then the
# status code on a line of its own.
call() {
  curl -sS --max-time 10 --cacert "$CACERT" --resolve "$HOST:$INGRESS_HTTPS_PORT:$INGRESS_NODE_IP" \
    -w '\n%{http_code}\n' "$@"
}

# status_of <url> [curl options...]: the status code of a call.
status_of() {
  call "$@" | tail -1
}

# answers <status> <url> [curl options...]: the call gets that status.
answers() {
  local want=$1
  shift
  [ "$(status_of "$@")" = "$want" ]
}

URL() { echo "https://$HOST:$INGRESS_HTTPS_PORT/$1"; }

@test "kubeless trigger http create --gateway traefik: Ready, an Ingress of class traefik, and its Middlewares owned by the trigger" {
  run --separate-stderr "$KUBELESS" trigger http create hello -n "$NS" --function-name hello \
    --hostname "$HOST" --path greet --basic-auth-secret hello-auth --tls-secret hello-tls --cors-enable --gateway traefik
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  kubectl wait --for=condition=Ready httptrigger/hello -n "$NS" --timeout=60s
  [ "$(kubectl get ingress hello -n "$NS" -o jsonpath='{.metadata.annotations.kubernetes\.io/ingress\.class}')" = traefik ]
  local uid
  uid=$(kubectl get httptrigger hello -n "$NS" -o jsonpath='{.metadata.uid}')
  for m in hello-cors hello-auth hello-path; do
    [ "$(kubectl get middlewares.traefik.io "$m" -n "$NS" -o jsonpath='{.metadata.ownerReferences[0].uid}')" = "$uid" ]
  done
}

@test "the right host and path with the user's password reach the function over TLS with the test's certificate" {
  # Traefik picks the Ingress up from its watch: wait for the route
  wait_for 60 "Traefik's route to hello" answers 200 "$(URL greet)" -u alice:wonderland
  run --separate-stderr call "$(URL greet)" -u alice:wonderland
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "hello world" ]
  [ "${lines[1]}" = 200 ]
  # the certificate is the test's: curl checked it against the CA; its subject
  run --separate-stderr curl -sS -v --max-time 10 --cacert "$CACERT" -o /dev/null -u alice:wonderland \
    --resolve "$HOST:$INGRESS_HTTPS_PORT:$INGRESS_NODE_IP" "$(URL greet)"
  [ "$status" -eq 0 ]
  [[ $stderr == *"issuer: CN=kubeless-ingress-test-ca"* ]]
}

@test "basic auth: no credentials or a wrong password get 401 and a Basic challenge" {
  wait_for 60 "Traefik's route to hello" answers 200 "$(URL greet)" -u alice:wonderland
  answers 401 "$(URL greet)"
  answers 401 "$(URL greet)" -u alice:looking-glass
  answers 401 "$(URL greet)" -u bob:wonderland
  run --separate-stderr curl -sS -D - -o /dev/null --max-time 10 --cacert "$CACERT" \
    --resolve "$HOST:$INGRESS_HTTPS_PORT:$INGRESS_NODE_IP" "$(URL greet)"
  [ "$status" -eq 0 ]
  grep -i '^www-authenticate: basic' <<<"$output"
}

@test "a wrong host or a wrong path does not reach the function (404), nor plain HTTP to the TLS route" {
  wait_for 60 "Traefik's route to hello" answers 200 "$(URL greet)" -u alice:wonderland
  answers 404 "$(URL other)" -u alice:wonderland
  answers 404 "$(URL)" -u alice:wonderland
  # another host name on the same address (no certificate for it: -k)
  [ "$(curl -sS -k --max-time 10 -o /dev/null -w '%{http_code}' -u alice:wonderland \
    --resolve "other.kubeless.test:$INGRESS_HTTPS_PORT:$INGRESS_NODE_IP" "https://other.kubeless.test:$INGRESS_HTTPS_PORT/greet")" = 404 ]
  [ "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -u alice:wonderland \
    --resolve "$HOST:$INGRESS_HTTP_PORT:$INGRESS_NODE_IP" "http://$HOST:$INGRESS_HTTP_PORT/greet")" = 404 ]
}

@test "CORS: a preflight without credentials gets the allow headers; a call carries Access-Control-Allow-Origin" {
  wait_for 60 "Traefik's route to hello" answers 200 "$(URL greet)" -u alice:wonderland
  run --separate-stderr curl -sS -D - -o /dev/null --max-time 10 --cacert "$CACERT" \
    --resolve "$HOST:$INGRESS_HTTPS_PORT:$INGRESS_NODE_IP" -X OPTIONS \
    -H "Origin: $ORIGIN" -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: Content-Type' "$(URL greet)"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ ${lines[0]} =~ ^HTTP/[0-9.]+\ 2[0-9][0-9] ]]
  grep -i '^access-control-allow-origin: \*' <<<"$output"
  grep -i '^access-control-allow-methods: .*POST' <<<"$output"
  grep -i '^access-control-allow-headers: .*Content-Type' <<<"$output"
  run --separate-stderr curl -sS -D - -o /dev/null --max-time 10 --cacert "$CACERT" -u alice:wonderland \
    --resolve "$HOST:$INGRESS_HTTPS_PORT:$INGRESS_NODE_IP" -H "Origin: $ORIGIN" "$(URL greet)"
  [ "$status" -eq 0 ]
  grep -i '^access-control-allow-origin: ' <<<"$output"
}

@test "from a pod: the host name (a hostAlias of the node's address) and path reach the function through Traefik over TLS with the test's CA; no credentials get 401" {
  wait_for 60 "Traefik's route to hello" answers 200 "$(URL greet)" -u alice:wonderland
  kubectl delete pod ingress-client -n "$NS" --ignore-not-found --wait=true >/dev/null
  kubectl create configmap ingress-ca -n "$NS" --from-file=ca.crt="$CACERT" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  # Python's urllib in the python3.11 runtime image, checking the certificate against the CA
  kubectl apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata: {name: ingress-client, namespace: $NS}
spec:
  restartPolicy: Never
  hostAliases: [{ip: "$INGRESS_NODE_IP", hostnames: ["$HOST"]}]
  volumes: [{name: ca, configMap: {name: ingress-ca}}]
  containers:
  - name: client
    image: kubeless/python:3.11
    imagePullPolicy: Never
    volumeMounts: [{name: ca, mountPath: /ca}]
    command:
    - python3
    - -c
    - |
      import base64, ssl, urllib.error, urllib.request
      ctx = ssl.create_default_context(cafile="/ca/ca.crt")
      url = "https://$HOST:$INGRESS_HTTPS_PORT/greet"
      auth = {"Authorization": "Basic " + base64.b64encode(b"alice:wonderland").decode()}
      print(urllib.request.urlopen(urllib.request.Request(url, headers=auth), context=ctx).read().decode())
      try:
          urllib.request.urlopen(url, context=ctx)
          print("no credentials: answered")
      except urllib.error.HTTPError as e:
          print("no credentials:", e.code)
YAML
  wait_for 120 "pod ingress-client to finish" \
    bash -c "kubectl get pod ingress-client -n $NS -o jsonpath='{.status.phase}' | grep -qxE 'Succeeded|Failed'"
  run --separate-stderr kubectl logs ingress-client -n "$NS"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "hello world" ]
  [ "${lines[1]}" = "no credentials: 401" ]
}

@test "a Middleware edited or deleted by hand is put back: the controller watches them once Traefik's CRD is installed, after it started" {
  "$KUBELESS" trigger http create mw-watch -n "$NS" --function-name hello --hostname "watch.$HOST" \
    --cors-enable --gateway traefik
  kubectl wait --for=condition=Ready httptrigger/mw-watch -n "$NS" --timeout=60s
  local origins='{.spec.headers.accessControlAllowOriginList[*]}' want
  want=$(kubectl get middlewares.traefik.io mw-watch-cors -n "$NS" -o jsonpath="$origins")
  [[ -n $want && $want != https://evil.example.com ]]
  # (the controller looks for the CRD, installed after it started, every 30 s)
  kubectl patch middlewares.traefik.io mw-watch-cors -n "$NS" --type merge \
    -p '{"spec": {"headers": {"accessControlAllowOriginList": ["https://evil.example.com"]}}}' >/dev/null
  wait_for 90 "the controller to put mw-watch-cors's origins back" \
    bash -c "[ \"\$(kubectl get middlewares.traefik.io mw-watch-cors -n $NS -o jsonpath='$origins')\" = '$want' ]"
  local uid
  uid=$(kubectl get middlewares.traefik.io mw-watch-cors -n "$NS" -o jsonpath='{.metadata.uid}')
  kubectl delete middlewares.traefik.io mw-watch-cors -n "$NS" >/dev/null
  wait_for 60 "the controller to make mw-watch-cors again" \
    bash -c "u=\$(kubectl get middlewares.traefik.io mw-watch-cors -n $NS -o jsonpath='{.metadata.uid}') && [ -n \"\$u\" ] && [ \"\$u\" != $uid ]"
  "$KUBELESS" trigger http delete mw-watch -n "$NS"
}

@test "kubeless trigger http delete: the garbage collector removes the Ingress and the Middlewares, and the route goes" {
  run --separate-stderr "$KUBELESS" trigger http delete hello -n "$NS"
  [ "$status" -eq 0 ]
  wait_for 60 "Ingress hello to be gone" bash -c "! kubectl get ingress hello -n $NS >/dev/null 2>&1"
  wait_for 60 "the Middlewares of hello to be gone" bash -c "[ -z \"\$(kubectl get middlewares.traefik.io -n $NS -o name)\" ]"
  # (-k: with the Ingress gone, Traefik no longer has the test's certificate
  # for the host, and serves its own self-signed default)
  wait_for 60 "Traefik to drop the route" answers 404 "$(URL greet)" -k -u alice:wonderland
}
