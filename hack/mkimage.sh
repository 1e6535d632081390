#!/usr/bin/env bash
# Writes an OCI image archive from folders, with bash, tar and sha256sum only
# (no registry, no docker), for `ctr -n k8s.io images import`:
#
#   hack/mkimage.sh [-e NAME=VALUE]... [-u USER] [-w DIR] [-c ARG]... \
#       NAME OUT.tar LAYER...
#
# NAME is the full image reference stored in the archive
# (localhost/busybox:local, localhost/kubeless-python:3.11). Each LAYER is a
# folder, packed as one layer with its files' owners and modes, or a layer
# tar made earlier (a .tar file, used as is, so a big base layer is packed
# once and cached). Layers go bottom first. -e adds an environment variable
# (after PATH), -u sets the user, -w the working directory, and each -c one
# word of the command (CMD). Nothing is run from the image while building it.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

env_list=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
user="" workdir="/" cmd=()
while getopts 'e:u:w:c:h' opt; do
  case $opt in
  e) env_list+=("$OPTARG") ;;
  u) user=$OPTARG ;;
  w) workdir=$OPTARG ;;
  c) cmd+=("$OPTARG") ;;
  *) usage ;;
  esac
done
shift $((OPTIND - 1))
(($# >= 3)) || usage
name=$1 out=$2
shift 2

# json_str: a JSON string literal (the values here have no control characters).
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
json_array() {
  local sep="" a
  printf '['
  for a in "$@"; do
    printf '%s%s' "$sep" "$(json_str "$a")"
    sep=,
  done
  printf ']'
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
blobs=$work/blobs/sha256
mkdir -p "$blobs"

# put_blob FILE: moves FILE into the blobs as sha256:<digest>, prints "digest size".
put_blob() {
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  mv "$1" "$blobs/$d"
  echo "$d $s"
}

layers_json="" diff_ids=""
for layer in "$@"; do
  if [ -d "$layer" ]; then
    tar --sort=name --numeric-owner --mtime='2000-01-01' -C "$layer" -cf "$work/layer.tar" .
  elif [ -f "$layer" ]; then
    ln "$layer" "$work/layer.tar" 2>/dev/null || cp "$layer" "$work/layer.tar"
  else
    echo "mkimage: no layer folder or tar $layer" >&2
    exit 1
  fi
  read -r d s < <(put_blob "$work/layer.tar")
  layers_json+="${layers_json:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$d\",\"size\":$s}"
  diff_ids+="${diff_ids:+,}\"sha256:$d\""
done

{
  printf '{"architecture":"amd64","os":"linux","config":{"Env":%s' "$(json_array "${env_list[@]}")"
  ((${#cmd[@]})) && printf ',"Cmd":%s' "$(json_array "${cmd[@]}")"
  [ -n "$user" ] && printf ',"User":%s' "$(json_str "$user")"
  printf ',"WorkingDir":%s},' "$(json_str "$workdir")"
  printf '"rootfs":{"type":"layers","diff_ids":[%s]},"history":[{"created_by":"hack/mkimage.sh"}]}' "$diff_ids"
} > "$work/config.json"
read -r cd cs < <(put_blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$cd" "$cs" "$layers_json" > "$work/manifest.json"
read -r md ms < <(put_blob "$work/manifest.json")

echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":%s,"org.opencontainers.image.ref.name":%s}}]}' \
  "$md" "$ms" "$(json_str "$name")" "$(json_str "${name##*:}")" > "$work/index.json"
tar -C "$work" -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
echo "mkimage: wrote $out ($name, $(du -h "$out" | cut -f1))" >&2
