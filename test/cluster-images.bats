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
  # The test looks only at the test image's own blobs: the store's totals
  # move with everything else the cluster does (kubelet removing the
  # containers of pods that went, content that earlier imports left).
  # manifest: the digest the name points to; blobs: it and every blob it names
  manifest() { "${ctr[@]}" images ls "name==localhost/tiny:test" | awk 'NR == 2 { print $3 }'; }
  blobs() {
    local m
    m=$(manifest)
    { echo "$m"; "${ctr[@]}" content get "$m" | grep -o 'sha256:[0-9a-f]\{64\}'; } | sort -u
  }
  build_tiny one
  images_import localhost/tiny:test "$sock" "$stamp"
  local old_manifest old new gone id
  old_manifest=$(manifest)
  old=$(blobs)
  # CRI gives the image its second name (by id) on its own, a moment after
  # the import: wait for it, so the test sees that name go too
  wait_for 60 "CRI's name by id for the imported image" bash -c \
    "${ctr[*]} images ls | awk -v m='$old_manifest' 'NR > 1 && \$1 ~ /^sha256:/ && \$3 == m' | grep -q ."
  # what an import stopped midway leaves: an old image under a .superseded
  # name (of another image: the next import of any image removes it)
  "${ctr[@]}" images tag localhost/tiny:test localhost/tiny:left.superseded >/dev/null
  # (once CRI has marked it as its own: CRI makes a name it has not marked
  # yet again, even one removed meanwhile)
  wait_for 60 "CRI's mark on localhost/tiny:left.superseded" bash -c \
    "${ctr[*]} images ls 'name==localhost/tiny:left.superseded' | grep -F io.cri-containerd.image=managed"
  build_tiny two
  id=$("${bh[@]}" inspect --type image --format '{{.FromImageID}}' localhost/tiny:test)
  images_import localhost/tiny:test "$sock" "$stamp"
  [ "$(cat "$stamp")" = "$id" ]
  new=$(blobs)
  # the replaced image's own blobs: its manifest, its config, its last layer
  gone=$(comm -23 <(echo "$old") <(echo "$new"))
  echo "the replaced image's own blobs: $(wc -l <<<"$gone") of $(wc -l <<<"$old")"
  [ "$(wc -l <<<"$gone")" -ge 3 ]
  grep -qxF "$old_manifest" <<<"$gone"
  # no name points to the old image any more (neither its own, moved to the
  # new image, nor CRI's name by id), and containerd collected its blobs
  run "${ctr[@]}" images ls
  [[ $output == *localhost/tiny:test* ]]
  [[ $output != *superseded* ]]
  if awk 'NR > 1 { print $3 }' <<<"$output" | grep -qxF "$old_manifest"; then
    echo "a name still points to the replaced image ($old_manifest)" >&2
    false
  fi
  local content b
  content=$("${ctr[@]}" content ls -q)
  for b in $gone; do
    ! grep -qxF "$b" <<<"$content" || { echo "still in containerd's store: $b" >&2; false; }
  done
  # the test's image goes, under both names
  local digest
  digest=$("${ctr[@]}" images ls "name==localhost/tiny:test" | awk 'NR == 2 { print $3 }')
  mapfile -t names < <("${ctr[@]}" images ls | awk -v d="$digest" 'NR > 1 && $3 == d { print $1 }')
  "${ctr[@]}" images rm --sync "${names[@]}" >/dev/null
}
