#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian 12 machine, in two sets:
#
#   hack/install-deps.sh local   what the local engine and `make demo` need:
#                                make, the language interpreters and package
#                                tools of the runtimes (Ruby, PHP, Composer,
#                                Bundler), zip, unzip and curl. Seconds when
#                                they are there, about a minute when not.
#   hack/install-deps.sh [all]   the above plus what the tests need: bats (the
#                                end-to-end tests, test/*.bats), Ruby's
#                                minitest, wrk, buildah and debootstrap
#                                (the images of docker/), and for the Kubernetes
#                                engine's envtest tests kube-apiserver, etcd
#                                and kube-controller-manager built from the
#                                Go module proxy (hack/build-k8s.sh, cached
#                                outside the clone; about 15 min the first
#                                time) and kubectl; gcc for the race
#                                detector (go test -race needs cgo);
#                                kinesalite from npm (hack/kinesalite.sh).
#
# Both sets install bubblewrap (bwrap), the local engine's sandbox.
#
# Go, Node.js (with npm) and Python 3 (with pip) are expected to be present
# already.
set -euo pipefail
set_=${1:-all}
case $set_ in
local | all) ;;
*)
  echo "install-deps: unknown set \"$set_\": use \"local\" (the local engine, make demo) or \"all\" (every test)" >&2
  exit 2
  ;;
esac

pairs=(make:make bwrap:bubblewrap ruby:ruby php:php-cli composer:composer bundle:bundler zip:zip unzip:unzip curl:curl)
cmds=(make bwrap go node npm python3 ruby gem php composer bundle curl)
if [[ $set_ == all ]]; then
  # buildah and debootstrap: the images of docker/ for the real-cluster
  # tests (hack/build-images.sh -d, hack/cluster-images.sh)
  pairs+=(gcc:gcc bats:bats wrk:wrk buildah:buildah debootstrap:debootstrap)
  cmds+=(gcc bats wrk buildah debootstrap)
fi
need=()
for pair in "${pairs[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
if [[ $set_ == all ]]; then
  ruby -e 'require "minitest/autorun"' </dev/null >/dev/null 2>&1 || need+=(ruby-minitest)
fi
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for cmd in "${cmds[@]}"; do
  command -v "$cmd" >/dev/null || { echo "install-deps: $cmd is still missing" >&2; exit 1; }
done
[[ $set_ == all ]] || exit 0

# kinesalite, the Kinesis emulator of the Kinesis trigger's tests (npm).
"$(dirname "${BASH_SOURCE[0]}")/kinesalite.sh" install

# The envtest tests' API server and etcd, and kube-controller-manager for
# its garbage collector (about 15 min the first time on this machine,
# nothing afterwards), and kubectl for kubeless.yaml's test.
here=$(dirname "${BASH_SOURCE[0]}")
k8s=(kube-apiserver etcd kube-controller-manager)
command -v kubectl >/dev/null 2>&1 || k8s+=(kubectl)
bin=$("$here/build-k8s.sh" "${k8s[@]}")
command -v kubectl >/dev/null 2>&1 || ln -sf "$bin/kubectl" /usr/local/bin/kubectl
