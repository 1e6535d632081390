#!/usr/bin/env bash
# Regenerates, from the markers in api/:
#   api/v1beta1/zz_generated.deepcopy.go   (controller-gen object)
#   config/crd/bases/*.yaml                (controller-gen crd, apiextensions.k8s.io/v1)
#   config/rbac/role.yaml                  (controller-gen rbac, from the markers in internal/controller)
# and then kubeless.yaml, the one-file install, from config/ (see
# internal/controller/manifest_test.go).
#
# controller-gen runs with `go run pkg@version`, so it is built from the Go
# module proxy (and cached by Go) without being a requirement of our go.mod.
#
# Environment:
#   CONTROLLER_TOOLS_VERSION  controller-tools version (default below; v0.23 pairs with k8s.io v0.37)
#   CONTROLLER_GEN            path of a controller-gen binary to use instead of `go run`
#   OUT_DIR                   write the generated files under this folder instead of the
#                             repository (same relative paths); api_test uses it to check that
#                             the committed files are current
set -euo pipefail

CONTROLLER_TOOLS_VERSION=${CONTROLLER_TOOLS_VERSION:-v0.23.0}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT_DIR:-$root}
cd "$root"

controller_gen() {
	if [[ -n ${CONTROLLER_GEN:-} ]]; then
		"$CONTROLLER_GEN" "$@"
	else
		go run "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_TOOLS_VERSION}" "$@"
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Deep-copy functions. Written to a temporary folder first so that a failed run
# leaves the committed files alone.
controller_gen object paths=./api/... output:object:dir="$tmp/object"
# crd:maxDescLen=0 is not used: field comments are the user documentation
# (`kubectl explain function.spec.handler`), and the CRDs stay far below the
# 256 KiB that client-side `kubectl apply` can store.
controller_gen crd paths=./api/... output:crd:dir="$tmp/crd"
controller_gen rbac:roleName=kubeless-controller paths=./internal/controller/... output:rbac:dir="$tmp/rbac"

mkdir -p "$out/api/v1beta1" "$out/config/crd/bases"
mv "$tmp/object/zz_generated.deepcopy.go" "$out/api/v1beta1/zz_generated.deepcopy.go"
rm -f "$out"/config/crd/bases/*.yaml
mv "$tmp"/crd/*.yaml "$out/config/crd/bases/"
mkdir -p "$out/config/rbac"
mv "$tmp/rbac/role.yaml" "$out/config/rbac/role.yaml"
if [[ -z ${OUT_DIR:-} ]]; then
	go test ./internal/controller -run TestKubelessYAMLIsCurrent -update >/dev/null
fi
