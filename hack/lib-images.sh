# Sourced by hack/build-images.sh, hack/cluster-images.sh,
# hack/cluster-ingress.sh and hack/cluster-metrics.sh: building an image
# with buildah in the project's own store, and importing it into the test
# cluster's containerd, so that repeated runs keep both stores bounded.
#
#   images_store CACHE               sets bh: buildah on the store in CACHE/buildah
#   images_build IMAGE FILE CTX [BUD_ARGS...]
#                                    builds IMAGE (output on stderr), then prunes
#   images_on_debian IMAGE FILE CTX  the same on the Debian 12 base (output in a log)
#   images_prune                     removes the images no build needs any more
#   images_import IMAGE SOCK STAMP   imports IMAGE into the containerd of SOCK
#                                    (namespace k8s.io) unless STAMP says it is there
#   images_named SOCK REF            the containerd of SOCK has an image named REF
#
# What leaked before, and why:
# - buildah bud leaves the working container of a stage that has no
#   instruction of its own (php-init's "FROM composer AS composer", read by
#   COPY --from) mounted and in the store after every build (buildah 1.28),
#   and every container of a failed build: --force-rm removes them all.
# - Each rebuild of an image moves its name to a new image and keeps the old
#   one, untagged, with the stage results of the build before: the step
#   images each build used are recorded (CACHE/buildah/live/<image>), and an
#   untagged image that no image of the store is built on and that no
#   record names is removed, so the store holds the named images and the
#   cache of each one's latest build.
# - containerd keeps the content and snapshots of an image whose name an
#   import moved: under the name by id (sha256:<id>) that CRI gives every
#   image, and until its garbage collector runs. images_import removes the
#   names by id that no other name shares and collects at once.
# Several runs may share a store (a --build-only beside a cluster run): an
# image in use by another run's build is not removed (buildah refuses),
# at worst a stage result of a build under way, which that build rebuilds.

# images_store CACHE: bh is buildah on the store in CACHE/buildah: its
# images and layers in root/, its cache mounts (Go's build cache) in tmp/,
# not in /var/lib/containers nor /var/tmp.
images_store() {
	images_dir=$1/buildah
	bh=(env TMPDIR="$images_dir/tmp" buildah --root "$images_dir/root" --runroot "$images_dir/run" --storage-driver overlay)
	mkdir -p "$images_dir/tmp" "$images_dir/live"
}

# images_build IMAGE FILE CTX [BUD_ARGS...]: builds IMAGE from the
# Dockerfile FILE and the context CTX with buildah's layer cache; the
# builder's output goes to stderr. Returns buildah's status.
images_build() {
	local image=$1 file=$2 ctx=$3 out rc=0
	shift 3
	out=$(mktemp "$images_dir/tmp/build.XXXXXX")
	# --layers: every step cached; --force-rm: no working container left,
	# whether the build succeeds or not.
	"${bh[@]}" bud --layers --force-rm "$@" -f "$file" -t "$image" "$ctx" 2>&1 | tee "$out" >&2 || rc=$?
	if ((rc == 0)); then
		# "--> <id>" ends each step (cached or not): the images this build
		# used, whose stage results no named image is built on
		sed -n 's/^--> \(Using cache \)\{0,1\}\([0-9a-f]\{11,64\}\)$/\2/p' "$out" |
			cut -c1-11 | sort -u >"$images_dir/live/${image//[\/:]/_}"
		images_prune
	fi
	rm -f "$out"
	return $rc
}

# images_on_debian IMAGE FILE CTX: builds IMAGE from FILE and CTX on the
# Debian 12 base of hack/build-images.sh -d (the build argument BASE_IMAGE),
# the builder's output in CACHE/buildah/<image>.log; on failure, says why
# and returns 1.
images_on_debian() {
	local image=$1 file=$2 ctx=$3 base=localhost/kubeless-base/debian:bookworm
	local blog=$images_dir/${image//[\/:]/_}.log
	if ! "${bh[@]}" inspect --type image "$base" >/dev/null 2>&1; then
		echo "images: no $base in buildah's store: run hack/cluster-images.sh --build-only (hack/build-images.sh -d makes it)" >&2
		return 1
	fi
	if ! images_build "$image" "$file" "$ctx" --build-arg "BASE_IMAGE=$base" 2>"$blog"; then
		tail -30 "$blog" >&2
		echo "images: $image did not build from $file; see $blog" >&2
		return 1
	fi
}

# images_prune: removes the untagged images that no image is built on and
# that no build record names, until none is left (removing one may leave
# its parent so).
images_prune() {
	local id removed=1
	while ((removed)); do
		removed=0
		for id in $("${bh[@]}" images --all --quiet --no-trunc --filter dangling=true); do
			id=${id#sha256:}
			grep -qsx "${id:0:11}" "$images_dir"/live/* && continue
			"${bh[@]}" rmi "$id" >/dev/null 2>&1 && removed=1
		done
	done
}

# images_ref NAME: NAME as containerd names it (docker.io/library/x:y for
# x:y, docker.io/kubeless/x:y for kubeless/x:y, localhost/x:y unchanged).
images_ref() {
	local name=$1 first=${1%%/*}
	if [[ $name != */* ]]; then
		name=docker.io/library/$name
	elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
		name=docker.io/$name
	fi
	echo "$name"
}

# images_named SOCK REF: the containerd of SOCK (namespace k8s.io) has an
# image named REF. The list is read whole before it is searched: `ctr ... |
# grep -q` under pipefail fails when grep exits at the match while ctr,
# which writes a line at a time, still writes (SIGPIPE), and so said "no"
# to an image that was there.
images_named() {
	local names
	names=$(ctr --address "$1" -n k8s.io images ls -q) || return 1
	grep -qxF "$2" <<<"$names"
}

# images_import IMAGE SOCK STAMP: exports IMAGE from buildah's store as a
# docker archive and imports it into the containerd of SOCK (namespace
# k8s.io), unless STAMP holds IMAGE's id and containerd has it. The image it
# replaces under the same name is removed with its layers (a pod still
# running it keeps its own snapshot), and so is any image that an import
# stopped midway left under its .superseded name.
images_import() {
	local image=$1 sock=$2 stamp=$3 id ref archive names left=()
	local ctr=(ctr --address "$sock" -n k8s.io)
	id=$("${bh[@]}" inspect --type image --format '{{.FromImageID}}' "$image") || return 1
	ref=$(images_ref "$image")
	names=$("${ctr[@]}" images ls -q) || return 1
	mapfile -t left < <(grep '\.superseded$' <<<"$names" || true)
	if ((${#left[@]})); then
		"${ctr[@]}" images rm --sync "${left[@]}" >/dev/null
	fi
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$id" ] && grep -qxF "$ref" <<<"$names"; then
		return 0
	fi
	mkdir -p "$(dirname "$stamp")"
	archive=$(mktemp "$images_dir/tmp/export.XXXXXX")
	rm -f "$archive"
	# the old image under another name, removed once the new one has the name
	local old=$ref.superseded
	if grep -qxF "$ref" <<<"$names"; then
		"${ctr[@]}" images tag "$ref" "$old" >/dev/null
	fi
	if ! "${bh[@]}" push --quiet "$image" "docker-archive:$archive:$image" >/dev/null ||
		! "${ctr[@]}" images import "$archive" >/dev/null; then
		rm -f "$archive"
		echo "images: the import of $image into containerd failed" >&2
		return 1
	fi
	rm -f "$archive"
	images_named "$sock" "$ref" || { echo "images: containerd has no $ref after its import" >&2; return 1; }
	# Removed: the old image's name, and the names by id (sha256:<id>)
	# that CRI gives every image it sees and that no other name shares any
	# more (an image whose own name an import moved): each one keeps its
	# image's content and snapshots. The last with --sync: containerd
	# collects what none references now.
	local gone=()
	mapfile -t gone < <("${ctr[@]}" images ls | awk -v old="$old" '
		NR > 1 && $1 ~ /^sha256:/ { id[$1] = $3; next }
		NR > 1 && $1 == old { last = $1; next }
		NR > 1 { named[$3] = 1 }
		END { for (n in id) if (!(id[n] in named)) print n; if (last != "") print last }')
	if ((${#gone[@]})); then
		"${ctr[@]}" images rm --sync "${gone[@]}" >/dev/null
	fi
	echo "$id" >"$stamp"
}
