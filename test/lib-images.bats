#!/usr/bin/env bats
# hack/lib-images.sh's questions to containerd hold under `set -o pipefail`
# (as hack/cluster-images.sh and the others source it), whatever the
# order in which ctr writes and grep reads. A stub ctr on PATH answers;
# no containerd is needed.

bats_require_minimum_version 1.5.0

setup() {
  REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  stub=$BATS_TEST_TMPDIR/bin
  mkdir -p "$stub"
  # ctr images ls -q: the name asked for first, then more names than a pipe
  # holds (64 KiB), one write each, as ctr writes them
  cat >"$stub/ctr" <<'SH'
#!/usr/bin/env bash
[[ $* == *"images ls -q"* ]] || exit 3
[[ -n ${CTR_FAIL:-} ]] && { echo "ctr: connection refused" >&2; exit 1; }
echo docker.io/kubeless/php:8.2
for i in $(seq 1 4000); do echo "docker.io/kubeless/other-image-with-a-long-name:$i"; done
SH
  chmod +x "$stub/ctr"
}

named() {
  PATH=$stub:$PATH bash -c 'set -euo pipefail; . "$1/hack/lib-images.sh"; images_named /run/none.sock "$2"' _ "$REPO_ROOT" "$1"
}

@test "images_named: a name ctr lists before more output than a pipe holds is found under pipefail" {
  for i in 1 2 3; do
    run named docker.io/kubeless/php:8.2
    [ "$status" -eq 0 ] || { echo "run $i: status $status: $output" >&2; false; }
  done
}

@test "images_named: a name ctr does not list is not found; a ctr that fails is no answer" {
  run named docker.io/kubeless/php:8.3
  [ "$status" -eq 1 ]
  run named docker.io/kubeless/php:8
  [ "$status" -eq 1 ]
  CTR_FAIL=1 run named docker.io/kubeless/php:8.2
  [ "$status" -ne 0 ]
  [[ $output == *"connection refused"* ]]
}
