#!/usr/bin/env bats
#
# The attacks of the local engine's threat model (docs/security.md), each
# tried as a function would try it; each test fails if the attack works
# again. The engine runs with a secret in its environment, as a user's
# shell would give it.
#

bats_require_minimum_version 1.5.0

load lib/libtest

setup_file() {
  export KUBELESS_TEST_SECRET=daemon-secret-$RANDOM$RANDOM
  engine_setup
  unset KUBELESS_TEST_SECRET
}

teardown_file() {
  engine_teardown
}

@test "local status says how instances are sandboxed" {
  run --separate-stderr "$KUBELESS" local status
  [ "$status" -eq 0 ]
  [[ $output == *"sandbox:"*"namespaces: bubblewrap"*"cgroups: one per instance"* ]]
}

@test "a function cannot read the daemon's environment, another function's state, or call the API socket" {
  local dir=$BATS_TEST_TMPDIR secret
  secret=$(tr '\0' '\n' </proc/"$(engine_pid)"/environ | sed -n 's/^KUBELESS_TEST_SECRET=//p')
  [ -n "$secret" ]
  mkdir -p "$dir"
  printf 'def foo(event, context):\n    return "x"\n' >"$dir/victim.py"
  "$KUBELESS" function deploy victim --runtime python3.11 --handler victim.foo --from-file "$dir/victim.py" --env DB_PASSWORD=victim-password
  cat >"$dir/spy.py" <<EOF
import glob, os, socket

def ask(method, path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect("$KUBELESS_HOME/engine.sock")
    s.sendall(("%s %s HTTP/1.0\r\nHost: x\r\n\r\n" % (method, path)).encode())
    return s.recv(64).decode(errors="replace").split("\r\n")[0]

def foo(event, context):
    found = []
    if "$secret" in repr(dict(os.environ)):
        found.append("secret in own environment")
    for p in glob.glob("/proc/[0-9]*/environ"):
        try:
            if b"$secret" in open(p, "rb").read():
                found.append("secret in " + p)
        except OSError:
            pass
    for p in glob.glob("$KUBELESS_HOME/**", recursive=True):
        try:
            if os.path.isfile(p) and ("victim-" + "password").encode() in open(p, "rb").read():
                found.append("victim's password in " + p)
        except OSError:
            pass
    for sock in glob.glob("$KUBELESS_HOME/*.sock"):
        found.append("socket visible: " + sock)
    for method, path in (("GET", "/v1/functions"), ("DELETE", "/v1/functions/default/victim")):
        try:
            found.append("API %s %s answered %s" % (method, path, ask(method, path)))
        except OSError:
            pass
    return "; ".join(found) or "nothing found"
EOF
  "$KUBELESS" function deploy spy --runtime python3.11 --handler spy.foo --from-file "$dir/spy.py"
  wait_for 120 "victim and spy READY" every_function_ready
  run --separate-stderr "$KUBELESS" function call spy
  [ "$status" -eq 0 ]
  echo "spy found: $output" >&2
  [ "$output" = "nothing found" ]
  function_exists victim
  "$KUBELESS" function delete spy
  "$KUBELESS" function delete victim
}

@test "a function cannot write its own code or another function's build; /tmp is private and writable" {
  local dir=$BATS_TEST_TMPDIR
  mkdir -p "$dir"
  cat >"$dir/writer.py" <<EOF
import glob, os

def foo(event, context):
    found = []
    for p in [os.path.abspath(__file__)] + glob.glob("$KUBELESS_HOME/cache/*/*"):
        try:
            open(p, "a").close()
            found.append("wrote " + p)
        except OSError:
            pass
    open("/tmp/scratch", "w").write("ok")
    return "; ".join(found) or "read-only " + open("/tmp/scratch").read()
EOF
  "$KUBELESS" function deploy writer --runtime python3.11 --handler writer.foo --from-file "$dir/writer.py"
  wait_for 120 "writer READY" function_ready writer
  run --separate-stderr "$KUBELESS" function call writer
  [ "$status" -eq 0 ]
  [ "$output" = "read-only ok" ]
  "$KUBELESS" function delete writer
}

@test "a tampered build cache entry does not survive a delete and redeploy" {
  local dir=$BATS_TEST_TMPDIR entry
  mkdir -p "$dir"
  printf 'def foo(event, context):\n    return "original"\n' >"$dir/tampered.py"
  "$KUBELESS" function deploy tampered --runtime python3.11 --handler tampered.foo --from-file "$dir/tampered.py"
  wait_for 120 "tampered READY" function_ready tampered
  entry=$(grep -l '"original"' "$KUBELESS_HOME"/cache/*/tampered.py | head -1)
  [ -n "$entry" ]
  # What a function that could write there would do.
  printf 'def foo(event, context):\n    return "attacker"\n' >"$entry"
  "$KUBELESS" function delete tampered
  "$KUBELESS" function deploy tampered --runtime python3.11 --handler tampered.foo --from-file "$dir/tampered.py"
  wait_for 120 "tampered READY again" function_ready tampered
  run --separate-stderr "$KUBELESS" function call tampered
  [ "$status" -eq 0 ]
  [ "$output" = "original" ]
  grep -q "build cache entry rejected" "$(engine_log)"
  "$KUBELESS" function delete tampered
}

@test "--memory 64Mi stops a function from allocating 1 GiB" {
  local dir=$BATS_TEST_TMPDIR
  mkdir -p "$dir"
  printf 'def foo(event, context):\n    b = bytearray(1 << 30)\n    b[::4096] = b"x" * len(b[::4096])\n    return "allocated %%d" %% len(b)\n' >"$dir/hog.py"
  "$KUBELESS" function deploy hog --runtime python3.11 --handler hog.foo --from-file "$dir/hog.py" --memory 64Mi
  wait_for 120 "hog READY" function_ready hog
  run --separate-stderr "$KUBELESS" function call hog
  echo "status $status, output: $output, stderr: $stderr" >&2
  [ "$status" -ne 0 ]
  [[ $output != allocated* ]]
  "$KUBELESS" function delete hog
}

# process_with_marker_gone <marker>: no process has marker in its command
# line (pgrep leaves itself out; a `bash -c` would match).
process_with_marker_gone() {
  ! pgrep -f "$1" >/dev/null
}

@test "a process started with setsid does not survive function delete" {
  local dir=$BATS_TEST_TMPDIR marker=escape-$RANDOM$RANDOM
  mkdir -p "$dir"
  # The marker, an extra argument, finds the process in ps.
  cat >"$dir/escape.py" <<EOF
import subprocess

def foo(event, context):
    subprocess.Popen(["python3", "-c", "import time; time.sleep(1000)", "$marker"], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return "started"
EOF
  "$KUBELESS" function deploy escape --runtime python3.11 --handler escape.foo --from-file "$dir/escape.py"
  wait_for 120 "escape READY" function_ready escape
  run --separate-stderr "$KUBELESS" function call escape
  [ "$status" -eq 0 ]
  [ "$output" = "started" ]
  pgrep -f "$marker" >/dev/null
  "$KUBELESS" function delete escape
  wait_for 15 "the setsid process to end with its instance" process_with_marker_gone "$marker"
}

# descends_from <pid> <ancestor>: pid is ancestor or one of its descendants.
descends_from() {
  local pid=$1
  while [[ -n $pid && $pid != 0 && $pid != 1 ]]; do
    [[ $pid == "$2" ]] && return 0
    pid=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null)
  done
  return 1
}

# instance_ports: the TCP ports on 127.0.0.1 that the engine or one of its
# instances listens on, but the gateway's and the engine's event bus (its
# NATS server, `local status`'s "event bus").
instance_ports() {
  local engine line port pid bus gw=${KUBELESS_GATEWAY##*:}
  engine=$(engine_pid)
  [ -n "$engine" ]
  bus=$("$KUBELESS" local status | awk '$1 == "event" && $2 == "bus:" { n = split($3, a, ":"); print a[n] }')
  [ -n "$bus" ]
  ss -ltnpH 'src 127.0.0.1' | while read -r line; do
    port=$(awk '{ split($4, a, ":"); print a[length(a)] }' <<<"$line")
    [[ $port == "$gw" || $port == "$bus" ]] && continue
    for pid in $(grep -o 'pid=[0-9]*' <<<"$line" | cut -d= -f2); do
      if descends_from "$pid" "$engine"; then
        echo "$port"
        break
      fi
    done
  done | sort -u
}

@test "a function's instance port refuses calls that bypass the gateway (basic auth cannot be skipped)" {
  local dir=$BATS_TEST_TMPDIR htpasswd ports port code body
  mkdir -p "$dir"
  htpasswd=$dir/htpasswd
  printf 'foo:%s\n' "$(openssl passwd -apr1 bar)" >"$htpasswd"
  printf 'def foo(event, context):\n    return "guarded data"\n' >"$dir/guarded.py"
  "$KUBELESS" function deploy guarded --runtime python3.11 --handler guarded.foo --from-file "$dir/guarded.py"
  wait_for 120 "guarded READY" function_ready guarded
  "$KUBELESS" trigger http create guarded-auth --function-name guarded --hostname guarded.domain --basic-auth-secret "$htpasswd"
  # Through the gateway: the users of the trigger only.
  wait_for 30 "the gateway to answer guarded.domain as foo:bar" \
    curl -fsS --max-time 10 -u foo:bar -H "Host: guarded.domain" "http://$KUBELESS_GATEWAY/"
  body=$(curl -sS --max-time 10 -u foo:bar -H "Host: guarded.domain" "http://$KUBELESS_GATEWAY/")
  [ "$body" = "guarded data" ]
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Host: guarded.domain" "http://$KUBELESS_GATEWAY/")
  [ "$code" = 401 ]
  # Directly on the instance's port: refused, whatever the path, with or
  # without the trigger's user, and /healthz tells nothing.
  ports=$(instance_ports)
  echo "instance ports: $ports" >&2
  [ -n "$ports" ]
  for port in $ports; do
    for path in / /healthz /metrics; do
      run curl -sS -D "$dir/headers" --max-time 10 -u foo:bar "http://127.0.0.1:$port$path"
      [ "$status" -eq 0 ]
      echo "127.0.0.1:$port$path: $(head -1 "$dir/headers") $output" >&2
      grep -q '^HTTP/1.1 403' "$dir/headers"
      [ "$output" = "forbidden: this instance is reached through the kubeless gateway" ]
      if grep -i '^X-Kubeless-Instance' "$dir/headers" >&2; then
        false
      fi
    done
  done
  "$KUBELESS" trigger http delete guarded-auth
  "$KUBELESS" function delete guarded
}

@test "no errors in engine logs" {
  run grep -E 'level=ERROR' "$(engine_log)"
  if [ "$status" -eq 0 ]; then
    printf 'errors in the engine log:\n%s\n' "$output" >&2
  fi
  [ "$status" -eq 1 ]
}
