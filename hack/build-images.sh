#!/usr/bin/env bash
# Builds the runtime images of docker/runtime/ with docker, the repository root
# being the build context. docker/runtime/<lang>/Dockerfile.<version> gives
# kubeless/<lang>:<version> and Dockerfile.<version>.init gives
# kubeless/<lang>-init:<version>, the names of the default catalog
# (internal/langruntime/default_catalog.json); docker/controller/Dockerfile
# gives kubeless/controller-manager:dev. See docker/README.md.
#
# Usage: hack/build-images.sh [-r REGISTRY] [-t TAG] [-p] [-n] [FILTER...]
#   -r REGISTRY  prefix every name: REGISTRY/kubeless/python:3.11 ($REGISTRY)
#   -t TAG       append to every version: kubeless/python:3.11-TAG ($TAG)
#   -p           push each image after building it
#   -n           only print the docker commands
#   FILTER       build only the matching images: a language (python), a
#                runtime image (python:3.11) or an installation/compilation
#                image (python-init, python-init:3.11); default: all of them
# More options for docker build go in $DOCKER_BUILD_FLAGS, e.g. "--pull".
set -euo pipefail
cd "$(dirname "$0")/.."

registry=${REGISTRY:-}
tag=${TAG:-}
push=false
dry=false
usage() { sed -n '8,17s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }
while getopts 'r:t:pnh' opt; do
	case $opt in
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

run() {
	if $dry; then
		printf '%q ' "$@"
		echo
	else
		"$@"
	fi
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

built=0
while IFS= read -r file; do
	lang=$(basename "$(dirname "$file")")
	version=${file##*/Dockerfile.}
	name=$lang
	if [[ $version == *.init ]]; then
		version=${version%.init}
		name=$lang-init
	fi
	selected "$lang" "$name" "$version" || continue
	image=kubeless/$name:$version${tag:+-$tag}
	[ -n "$registry" ] && image=$registry/$image
	echo "== $image ($file)" >&2
	run docker build ${extra[@]+"${extra[@]}"} -f "$file" -t "$image" .
	if $push; then
		run docker push "$image"
	fi
	built=$((built + 1))
done < <(find docker/runtime -mindepth 2 -maxdepth 2 -type f -name 'Dockerfile.*' | sort -V)

# The controller (kubeless.yaml's kubeless/controller-manager:dev), built
# when no filter is given or the filter is "controller-manager".
if selected controller-manager controller-manager dev; then
	image=kubeless/controller-manager:dev${tag:+-$tag}
	[ -n "$registry" ] && image=$registry/$image
	echo "== $image (docker/controller/Dockerfile)" >&2
	run docker build ${extra[@]+"${extra[@]}"} -f docker/controller/Dockerfile -t "$image" .
	if $push; then
		run docker push "$image"
	fi
	built=$((built + 1))
fi

if [ "$built" -eq 0 ]; then
	echo "build-images: no Dockerfile matches ${filters[*]:-}" >&2
	exit 1
fi
echo "build-images: $built images" >&2
