#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine: the language
# interpreters and package tools of the runtimes, make, bats (the end-to-end
# tests, test/*.bats), wrk and bubblewrap (the local engine's sandbox); and,
# for the Kubernetes engine's envtest tests, kube-apiserver, etcd and
# kube-controller-manager built from the Go module proxy
# (hack/build-k8s.sh, cached outside the clone) and kubectl; gcc for the race
# detector (go test -race needs cgo). Go, Node.js
# (with npm) and Python 3 (with pip) are expected to be present already.
set -euo pipefail
need=()
for pair in make:make gcc:gcc ruby:ruby php:php-cli composer:composer bundle:bundler bats:bats wrk:wrk zip:zip unzip:unzip curl:curl bwrap:bubblewrap; do
  cmd=${pair%%:*} pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
ruby -e 'require "minitest/autorun"' </dev/null >/dev/null 2>&1 || need+=(ruby-minitest)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for cmd in make gcc go node npm python3 ruby gem php composer bundle bats wrk curl bwrap; do
  command -v "$cmd" >/dev/null || { echo "install-deps: $cmd is still missing" >&2; exit 1; }
done

# The envtest tests' API server and etcd, and kube-controller-manager for
# its garbage collector (about 15 min the first time on this machine,
# nothing afterwards), and kubectl for kubeless.yaml's test.
here=$(dirname "${BASH_SOURCE[0]}")
k8s=(kube-apiserver etcd kube-controller-manager)
command -v kubectl >/dev/null 2>&1 || k8s+=(kubectl)
bin=$("$here/build-k8s.sh" "${k8s[@]}")
command -v kubectl >/dev/null 2>&1 || ln -sf "$bin/kubectl" /usr/local/bin/kubectl
