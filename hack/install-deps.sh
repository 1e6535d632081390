#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine: the language
# interpreters and package tools of the runtimes, bats and wrk. Go, Node.js
# and Python 3 are expected to be present already.
set -euo pipefail
need=()
for pair in ruby:ruby php:php-cli composer:composer bundle:bundler bats:bats wrk:wrk zip:zip unzip:unzip curl:curl; do
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
for cmd in go node python3 ruby php composer bundle bats wrk; do
  command -v "$cmd" >/dev/null || { echo "install-deps: $cmd is still missing" >&2; exit 1; }
done
