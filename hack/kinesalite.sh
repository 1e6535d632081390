#!/usr/bin/env bash
# kinesalite, the Kinesis emulator of the Kinesis trigger's tests (npm
# package kinesalite), installed the first time into
# ${XDG_CACHE_HOME:-~/.cache}/kubeless/kinesalite with the machine's npm.
#
#   hack/kinesalite.sh install      installs it (hack/install-deps.sh)
#   hack/kinesalite.sh run ADDRFILE [PORT [HOST]]
#                                   serves it, in memory, on PORT (default
#                                   or 0: a free port) of HOST (default
#                                   127.0.0.1); once it listens it writes
#                                   its URL (http://HOST:PORT) to ADDRFILE.
#                                   Runs until killed.
#
# (kinesalite's own command falls back to its fixed port 4567 for --port 0,
# hence this launcher.)
set -euo pipefail
version=3.3.3
home=${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/kinesalite

installed() {
  [[ -f $home/node_modules/kinesalite/package.json ]] &&
    grep -q "\"version\": \"$version\"" "$home/node_modules/kinesalite/package.json"
}

install() {
  installed && return
  command -v npm >/dev/null || { echo "kinesalite: npm is not installed: install Node.js with npm" >&2; exit 1; }
  # Installed beside, then moved in place: test runs in parallel may
  # install at the same time; the first one in place stays.
  local tmp
  mkdir -p "$(dirname "$home")"
  tmp=$(mktemp -d "$home.XXXXXX")
  npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error "kinesalite@$version" >&2
  if installed; then
    rm -rf "$tmp"
    return
  fi
  [[ ! -e $home ]] || mv -T "$home" "$home.old.$$"
  mv -T "$tmp" "$home" 2>/dev/null || rm -rf "$tmp"
  rm -rf "$home.old.$$"
  installed || { echo "kinesalite: the install into $home failed" >&2; exit 1; }
}

case ${1:-} in
install) install ;;
run)
  [[ -n ${2:-} ]] || { echo "usage: hack/kinesalite.sh run ADDRFILE [PORT [HOST]]" >&2; exit 2; }
  install
  # Streams are ACTIVE at once: the tests wait on events, not on time.
  NODE_PATH=$home/node_modules exec node -e '
const fs = require("fs");
const server = require("kinesalite")({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0});
const host = process.argv[3];
server.listen(Number(process.argv[2] || 0), host, () => {
  const f = process.argv[1];
  fs.writeFileSync(f + ".tmp", "http://" + host + ":" + server.address().port);
  fs.renameSync(f + ".tmp", f);
});
for (const s of ["SIGTERM", "SIGINT"]) process.on(s, () => process.exit(0));
' "$2" "${3:-0}" "${4:-127.0.0.1}"
  ;;
*)
  echo "usage: hack/kinesalite.sh install | run ADDRFILE [PORT [HOST]]" >&2
  exit 2
  ;;
esac
