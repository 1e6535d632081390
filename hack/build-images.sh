#!/usr/bin/env bash
# Builds the images of docker/ with docker or buildah, the repository root
# being the build context. docker/runtime/<lang>/Dockerfile.<version> gives
# kubeless/<lang>:<version> and Dockerfile.<version>.init gives
# kubeless/<lang>-init:<version>, the names of the default catalog
# (internal/langruntime/default_catalog.json); docker/controller/Dockerfile
# gives kubeless/controller-manager:dev. See docker/README.md.
#
# Usage: hack/build-images.sh [-b BUILDER] [-d] [-r REGISTRY] [-t TAG] [-p] [-n] [FILTER...]
#   -b BUILDER   docker or buildah ($BUILDER; default: docker if it is on
#                the PATH, else buildah)
#   -d           pull nothing: build on Debian 12 bases made here (a
#                debootstrap of Debian 12, docker/base/, and the Go toolchain
#                from the Go module proxy); only the images Debian 12 can
#                give a base: python 3.11, nodejs 18, ruby 3.1, php 8.2,
#                go 1.26, the controller. Needs buildah, debootstrap, root.
#   -r REGISTRY  prefix every name: REGISTRY/kubeless/python:3.11 ($REGISTRY)
#   -t TAG       append to every version: kubeless/python:3.11-TAG ($TAG)
#   -p           push each image after building it
#   -n           only print the build commands
#   FILTER       build only the matching images: a language (python), a
#                runtime image (python:3.11) or an installation/compilation
#                image (python-init, python-init:3.11); default: all of them
# More options for the builder go in $DOCKER_BUILD_FLAGS, e.g. "--pull".
# It prints the name of each image it built on stdout, one a line, and
# fails on the first image that does not build.
#
# Caching: docker (BuildKit) and buildah (--layers) reuse every step whose
# instruction and inputs did not change, so a second run rebuilds nothing;
# the Go stages keep Go's build cache in a cache mount. With buildah, the
# store and the cache mounts are in $KUBELESS_IMAGES_CACHE/buildah (default
# ~/.cache/kubeless/images/buildah) and the Debian 12 root file system is
# cached as $KUBELESS_IMAGES_CACHE/debian-bookworm.tar (delete it to make it
# again). The store stays bounded (hack/lib-images.sh): each build leaves
# no working container, and the images a rebuild supersedes are removed;
# it keeps the named images and the cache of each one's latest build.
set -euo pipefail
cd "$(dirname "$0")/.."

registry=${REGISTRY:-}
tag=${TAG:-}
builder=${BUILDER:-}
push=false
dry=false
debian=false
usage() { sed -n '9,28s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }
while getopts 'b:dr:t:pnh' opt; do
	case $opt in
	b) builder=$OPTARG ;;
	d) debian=true ;;
	r) registry=$OPTARG ;;
	t) tag=$OPTARG ;;
	p) push=true ;;
	n) dry=true ;;
	h) usage 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
filters=("$@")
registry=${registry%/}
read -ra extra <<<"${DOCKER_BUILD_FLAGS:-}"
if [ -z "$builder" ]; then
	if $debian || ! command -v docker >/dev/null; then builder=buildah; else builder=docker; fi
fi
case $builder in
docker | buildah) ;;
*) echo "build-images: -b $builder: the builder is docker or buildah" >&2; exit 2 ;;
esac
if $debian && [ "$builder" != buildah ]; then
	echo "build-images: -d builds with buildah (its Debian base is imported into buildah's store): drop -b $builder" >&2
	exit 2
fi
$dry || command -v "$builder" >/dev/null || {
	echo "build-images: $builder is not installed (Debian: apt-get install $builder)" >&2
	exit 1
}

cache=${KUBELESS_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeless/images}
# shellcheck source=hack/lib-images.sh
. hack/lib-images.sh
# buildah keeps its store in the cache, not in /var/lib/containers, and its
# cache mounts (Go's build cache) there too, not in /var/tmp (TMPDIR).
if $dry; then
	bh=(buildah --root "$cache/buildah/root")
else
	images_store "$cache"
fi

run() {
	if $dry; then
		printf '%q ' "$@" >&2
		echo >&2
	else
		"$@"
	fi
}

# build IMAGE FILE [CONTEXT] [--build-arg ...]: one image; builds the
# context (default: the repository root) with the Dockerfile FILE; exits
# when it does not build.
build() {
	local image=$1 file=$2 ctx=.
	shift 2
	if [ $# -gt 0 ] && [[ $1 != --* ]]; then ctx=$1; shift; fi
	if [ "$builder" = docker ]; then
		run docker build ${extra[@]+"${extra[@]}"} "$@" -f "$file" -t "$image" "$ctx" >&2 ||
			{ echo "build-images: $image did not build from $file" >&2; exit 1; }
	else
		# --network host: the RUN steps reach the Debian mirror and the Go
		# module proxy as this machine does. images_build: every step
		# cached, no working container left, superseded images removed.
		if $dry; then
			run "${bh[@]}" bud --layers --force-rm --network host --format oci ${extra[@]+"${extra[@]}"} "$@" -f "$file" -t "$image" "$ctx"
		else
			images_build "$image" "$file" "$ctx" --network host --format oci ${extra[@]+"${extra[@]}"} "$@" ||
				{ echo "build-images: $image did not build from $file" >&2; exit 1; }
		fi
	fi
}

# ---- the Debian 12 bases (-d) ---------------------------------------------------
base=localhost/kubeless-base

# debian_mirror: the first URI apt uses for bookworm (deb822 .sources files,
# then the one-line format).
debian_mirror() {
	local f uris
	# (read whole, then the first: `| head -1` under pipefail fails when the
	# loop still writes after head has exited)
	uris=$(for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			/^[[:space:]]*$/ { if (uri != "" && suites ~ /(^| )bookworm( |$)/) { print uri; exit } uri = ""; suites = ""; next }
			$1 == "URIs:" { uri = $2 }
			$1 == "Suites:" { $1 = ""; suites = $0 " " }
			END { if (uri != "" && suites ~ /(^| )bookworm( |$)/) print uri }' "$f"
	done)
	if [[ -n $uris ]]; then
		echo "${uris%%$'\n'*}"
		return 0
	fi
	local lists
	lists=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
	awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' <<<"$lists" | grep .
}

# debian_base: $base/debian:bookworm in buildah's store, from a debootstrap
# (minbase) of Debian 12 whose root file system is cached as a tar.
debian_base() {
	local tar=$cache/debian-bookworm.tar root=$cache/debian-rootfs
	if [ ! -f "$tar" ]; then
		command -v debootstrap >/dev/null || { echo "build-images: -d needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
		((EUID == 0)) || { echo "build-images: -d needs root (debootstrap)" >&2; exit 1; }
		local mirror
		mirror=$(debian_mirror) || { echo "build-images: no bookworm mirror in /etc/apt" >&2; exit 1; }
		rm -rf "$root"
		mkdir -p "$cache"
		echo "== debootstrap of Debian 12 from $mirror (about 1 min)" >&2
		# debootstrap mounts proc and sys in the target while it runs: never leave them behind
		trap 'umount -l "'"$root"'/proc" "'"$root"'/sys" 2>/dev/null || true' EXIT
		if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
			echo "build-images: debootstrap failed; see $cache/debootstrap.log" >&2
			exit 1
		fi
		umount -l "$root/proc" "$root/sys" 2>/dev/null || true
		trap - EXIT
		rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*
		tar --sort=name --numeric-owner --mtime='2000-01-01' \
			--exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' \
			-C "$root" -cf "$tar.tmp" .
		mv "$tar.tmp" "$tar"
		rm -rf "$root"
	fi
	# imported again when the tar is newer than the image
	local stamp=$cache/debian-bookworm.imported
	if [ -f "$stamp" ] && [ "$stamp" -nt "$tar" ] && "${bh[@]}" inspect --type image "$base/debian:bookworm" >/dev/null 2>&1; then
		return 0
	fi
	echo "== $base/debian:bookworm ($tar)" >&2
	local c
	c=$("${bh[@]}" from scratch)
	"${bh[@]}" add "$c" "$tar" / >/dev/null
	# The certificate authorities this machine trusts (a proxy that inspects
	# TLS adds its own): as a local certificate, kept when a build installs
	# ca-certificates (update-ca-certificates adds it to the bundle), and as
	# the bundle, for builds that fetch over https without that package.
	local bundle=/etc/ssl/certs/ca-certificates.crt
	if [ -f "$bundle" ]; then
		"${bh[@]}" copy "$c" "$bundle" /usr/local/share/ca-certificates/build-host.crt >/dev/null
		"${bh[@]}" copy "$c" "$bundle" /etc/ssl/certs/ca-certificates.crt >/dev/null
	fi
	"${bh[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$c"
	"${bh[@]}" commit --rm --format oci "$c" "$base/debian:bookworm" >/dev/null
	touch "$stamp"
}

# go_toolchain VERSION: the folder of the Go toolchain VERSION (1.26.8)
# that the Go module proxy serves, downloaded and checked by `go mod download`.
go_toolchain() {
	local dir
	dir=$(GOFLAGS=-mod=mod go mod download -json "golang.org/toolchain@v0.0.1-go$1.linux-amd64" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$dir/bin" ] || { echo "build-images: no Go toolchain go$1 from the module proxy" >&2; exit 1; }
	echo "$dir"
}

# The Go toolchains of the golang stand-ins (the newest patch releases at the
# time of writing; the proxy keeps every release).
declare -A go_patch=([1.26]=1.26.11)
declare -A base_built=()

# debian_stand_in NAME: builds the stand-in NAME (python:3.11, node:18,
# ruby:3.1, php:8.2, composer:php8.2, golang:1.26) once per run.
debian_stand_in() {
	local name=$1
	[ -n "${base_built[$name]:-}" ] && return 0
	local from=(--build-arg "DEBIAN_IMAGE=$base/debian:bookworm")
	case $name in
	python:*) build "$base/$name" docker/base/Dockerfile.python docker/base "${from[@]}" ;;
	node:*) build "$base/$name" docker/base/Dockerfile.nodejs docker/base "${from[@]}" ;;
	ruby:*) build "$base/$name" docker/base/Dockerfile.ruby docker/base "${from[@]}" ;;
	php:*) build "$base/$name" docker/base/Dockerfile.php docker/base "${from[@]}" ;;
	composer:*)
		debian_stand_in php:8.2
		build "$base/$name" docker/base/Dockerfile.composer docker/base --build-arg "PHP_IMAGE=$base/php:8.2"
		;;
	golang:*)
		local v=${name#golang:} dir
		if $dry; then dir="<go${go_patch[$v]} from the module proxy>"; else dir=$(go_toolchain "${go_patch[$v]}"); fi
		build "$base/$name" docker/base/Dockerfile.golang "$dir" "${from[@]}" --build-arg "GOPROXY=$(go env GOPROXY)"
		;;
	esac
	base_built[$name]=1
}

# debian_args NAME VERSION: sets dargs to the --build-arg of image
# NAME:VERSION on the Debian stand-ins (building them first); fails for the
# images Debian 12 has no base for.
debian_args() {
	local name=$1 version=$2
	local golang=(--build-arg "GO_IMAGE=$base/golang:1.26")
	dargs=()
	case $name:$version in
	python:3.11 | python-init:3.11 | nodejs:18 | nodejs-init:18 | ruby:3.1 | ruby-init:3.1 | php:8.2) ;;
	php-init:8.2 | go:1.26 | go-init:1.26 | controller-manager:dev) ;;
	*) return 1 ;;
	esac
	$dry || debian_base
	case $name in
	python | nodejs | ruby | php)
		debian_stand_in golang:1.26
		local b=$name:$version
		[ "$name" = nodejs ] && b=node:$version
		debian_stand_in "$b"
		dargs=("${golang[@]}" --build-arg "BASE_IMAGE=$base/$b")
		;;
	python-init | ruby-init)
		debian_stand_in "${name%-init}:$version"
		dargs=(--build-arg "BASE_IMAGE=$base/${name%-init}:$version")
		;;
	nodejs-init)
		debian_stand_in "node:$version"
		dargs=(--build-arg "BASE_IMAGE=$base/node:$version")
		;;
	php-init)
		debian_stand_in "composer:php$version"
		dargs=(--build-arg "BASE_IMAGE=$base/composer:php$version" --build-arg "COMPOSER_IMAGE=$base/composer:php$version")
		;;
	go) dargs=(--build-arg "BASE_IMAGE=$base/debian:bookworm") ;;
	go-init)
		debian_stand_in golang:1.26
		debian_stand_in "golang:$version"
		dargs=(--build-arg "GO_BUILD_IMAGE=$base/golang:1.26" --build-arg "GO_IMAGE=$base/golang:$version")
		;;
	controller-manager)
		debian_stand_in golang:1.26
		dargs=("${golang[@]}" --build-arg "BASE_IMAGE=$base/debian:bookworm")
		;;
	esac
}

# selected LANG NAME VERSION: whether the filters select image NAME:VERSION.
selected() {
	[ ${#filters[@]} -eq 0 ] && return 0
	local f
	for f in "${filters[@]}"; do
		case $f in
		"$1" | "$2" | "$2:$3") return 0 ;;
		esac
	done
	return 1
}

# one NAME VERSION FILE: builds (and pushes) kubeless/NAME:VERSION from FILE.
built=0 skipped=()
one() {
	local name=$1 version=$2 file=$3 args=()
	local image=kubeless/$name:$version${tag:+-$tag}
	if [ -n "$registry" ]; then
		image=$registry/$image
	fi
	if $debian; then
		if ! debian_args "$name" "$version"; then
			skipped+=("$name:$version")
			return 0
		fi
		args=(${dargs[@]+"${dargs[@]}"})
	fi
	echo "== $image ($file)" >&2
	local start=$SECONDS
	build "$image" "$file" ${args[@]+"${args[@]}"}
	$dry || echo "== $image built in $((SECONDS - start))s" >&2
	if $push; then
		if [ "$builder" = docker ]; then run docker push "$image" >&2; else run "${bh[@]}" push "$image" >&2; fi
	fi
	$dry || echo "$image"
	built=$((built + 1))
}

t0=$SECONDS
while IFS= read -r file; do
	lang=$(basename "$(dirname "$file")")
	version=${file##*/Dockerfile.}
	name=$lang
	if [[ $version == *.init ]]; then
		version=${version%.init}
		name=$lang-init
	fi
	selected "$lang" "$name" "$version" || continue
	one "$name" "$version" "$file"
done < <(find docker/runtime -mindepth 2 -maxdepth 2 -type f -name 'Dockerfile.*' | sort -V)

# The controller (kubeless.yaml's kubeless/controller-manager:dev), built
# when no filter is given or the filter is "controller-manager".
if selected controller-manager controller-manager dev; then
	one controller-manager dev docker/controller/Dockerfile
fi

if [ "$built" -eq 0 ]; then
	echo "build-images: no Dockerfile matches ${filters[*]:-}${skipped[*]:+ that Debian 12 can build (-d)}" >&2
	exit 1
fi
if ((${#skipped[@]})); then
	echo "build-images: not built (-d: no base in Debian 12): ${skipped[*]}" >&2
fi
echo "build-images: $built images in $((SECONDS - t0))s" >&2
