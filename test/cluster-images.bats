#!/usr/bin/env bats
# The image stores stay bounded (hack/lib-images.sh, which hack/build-images.sh,
# hack/cluster-images.sh, hack/cluster-ingress.sh and hack/cluster-metrics.sh
# use): a rebuild leaves no buildah working container nor mount, the images a
# rebuild supersedes are removed from buildah's store, and from the
# cluster's containerd when a rebuilt image is imported again. Each test
# builds a tiny image on a base made here (one file, nothing pulled), in a
# buildah store of its own.
#
# Run: CLUSTER_BATS=test/cluster-images.bats hack/e2e-cluster.sh (the first
# test needs only buildah and root; the second the cluster's containerd).

bats_require_minimum_version 1.5.0

load lib/libtest
load lib/cluster

setup_file() {
  cluster_setup_file
}

# The store test needs no cluster: each test says what it needs.
setup() {
  need_tool buildah
  # shellcheck source=../hack/lib-images.sh
  . "$REPO_ROOT/hack/lib-images.sh"
  images_store "$BATS_TEST_TMPDIR/store"
  ctx=$BATS_TEST_TMPDIR/ctx
  mkdir -p "$ctx"
  echo base >"$ctx/x"
  local c
  c=$("${bh[@]}" from scratch)
  "${bh[@]}" copy "$c" "$ctx/x" /x >/dev/null
  "${bh[@]}" commit --rm "$c" localhost/tiny:base >/dev/null 2>&1
  # A stage with no instruction of its own, read by COPY --from (buildah
  # 1.28 left its working container mounted), and one that copies the input.
  cat >"$ctx/Dockerfile" <<'EOF'
FROM localhost/tiny:base AS plain
FROM localhost/tiny:base AS copied
COPY input /input
FROM localhost/tiny:base
COPY --from=plain /x /from-plain
COPY --from=copied /input /from-copied
COPY input /input
EOF
}

teardown() {
  if [[ -n ${bh+x} ]]; then
    "${bh[@]}" rm --all >/dev/null 2>&1 || true
    "${bh[@]}" rmi --all --force >/dev/null 2>&1 || true
  fi
}

# build_tiny INPUT: builds localhost/tiny:test with INPUT as its input file.
build_tiny() {
  echo "$1" >"$ctx/input"
  images_build localhost/tiny:test "$ctx/Dockerfile" "$ctx" 2>"$BATS_TEST_TMPDIR/build.log" ||
    { cat "$BATS_TEST_TMPDIR/build.log"; return 1; }
}

# store_state: "<working containers> <mounts in the store> <images>".
store_state() {
  local containers mounts images
  containers=$("${bh[@]}" containers --quiet | wc -l)
  mounts=$(findmnt -rn -o TARGET | grep -c "^$images_dir/" || true)
  images=$("${bh[@]}" images --all --quiet | wc -l)
  echo "$containers $mounts $images"
}

@test "rebuilding an image leaves no working container or mount, and the store does not grow" {
  build_tiny one
  local first second third
  first=$(store_state)
  [[ $first == "0 0 "* ]] || { echo "after the first build: $first (containers mounts images)"; false; }
  build_tiny two
  second=$(store_state)
  build_tiny three
  third=$(store_state)
  echo "containers mounts images: $first / $second / $third"
  [ "$second" = "$first" ]
  [ "$third" = "$first" ]
  # the cache of the latest build is kept: the same input builds nothing
  local id
  id=$("${bh[@]}" inspect --type image --format '{{.FromImageID}}' localhost/tiny:test)
  build_tiny three
  [ "$("${bh[@]}" inspect --type image --format '{{.FromImageID}}' localhost/tiny:test)" = "$id" ]
  [ "$(grep -c '^--> Using cache' "$BATS_TEST_TMPDIR/build.log")" -ge 3 ]
  [ "$(store_state)" = "$first" ]
}

@test "importing a rebuilt image into the cluster's containerd removes the image it replaces" {
  cluster_setup
  local sock=$CLUSTER_STATE/containerd/containerd.sock stamp=$BATS_TEST_TMPDIR/imported
  local ctr=(ctr --address "$sock" -n k8s.io)
  [[ -S $sock ]]
  "${ctr[@]}" images rm --sync localhost/tiny:test >/dev/null 2>&1 || true
  # named images (not CRI's names by id, sha256:<id>), blobs, snapshots
  counts() {
    echo "$("${ctr[@]}" images ls -q | grep -vc '^sha256:') $("${ctr[@]}" content ls -q | wc -l) $("${ctr[@]}" snapshots ls | wc -l)"
  }
  # Both counts are taken right after an import that removed the image it
  # replaced, so containerd has just collected: garbage that other imports
  # left before this test (a fresh cluster has some) is not counted in one
  # and not the other.
  build_tiny zero
  images_import localhost/tiny:test "$sock" "$stamp"
  build_tiny one
  images_import localhost/tiny:test "$sock" "$stamp"
  local first id
  first=$(counts)
  build_tiny two
  id=$("${bh[@]}" inspect --type image --format '{{.FromImageID}}' localhost/tiny:test)
  images_import localhost/tiny:test "$sock" "$stamp"
  [ "$(cat "$stamp")" = "$id" ]
  echo "images content snapshots: $first, then $(counts)"
  [ "$(counts)" = "$first" ]
  run "${ctr[@]}" images ls -q
  [[ $output == *localhost/tiny:test* ]]
  [[ $output != *superseded* ]]
  # imported, unchanged: not imported again
  images_import localhost/tiny:test "$sock" "$stamp"
  [ "$(counts)" = "$first" ]
  # the test's image goes, under both names
  local digest
  digest=$("${ctr[@]}" images ls "name==localhost/tiny:test" | awk 'NR == 2 { print $3 }')
  mapfile -t names < <("${ctr[@]}" images ls | awk -v d="$digest" 'NR > 1 && $3 == d { print $1 }')
  "${ctr[@]}" images rm --sync "${names[@]}" >/dev/null
}
