#!/usr/bin/env bats
# Real-cluster tests of the languages beyond test/cluster.bats: an update
# that rolls for Node.js, Ruby and Go (as the Python and PHP ones there do):
# new code gives a new pod that answers it, and the old pod goes away.
#
# Run: CLUSTER_BATS=test/cluster-langs.bats hack/e2e-cluster.sh, or, on a
# cluster of hack/cluster-up.sh:
#   source /tmp/kubeless-cluster/env && bats --timing test/cluster-langs.bats
# Without a reachable cluster every test is skipped, and fails under CI.

bats_require_minimum_version 1.5.0

load lib/libtest
load lib/cluster

FUNCTIONS=(get-nodejs get-ruby get-go)

setup_file() {
  cluster_setup_file
  [[ -z $CLUSTER_SKIP ]] || return 0
  delete_functions "${FUNCTIONS[@]}"
}


teardown_file() {
  [[ -z $CLUSTER_SKIP ]] || return 0
  delete_functions "${FUNCTIONS[@]}"
}

@test "nodejs18: an update of get-nodejs rolls to a new pod that answers the new code" {
  kubeless_function_delete get-nodejs
  make -sC "$EXAMPLES_DIR" get-nodejs NODEJS_RUNTIME=nodejs18
  verify_function get-nodejs
  assert_update_rolls get-nodejs "hello world updated"
  [ "$(pod_field get-nodejs '{.spec.containers[0].image}')" = kubeless/nodejs:18 ]
}

@test "ruby3.1: an update of get-ruby rolls to a new pod that answers the new code" {
  kubeless_function_delete get-ruby
  make -sC "$EXAMPLES_DIR" get-ruby
  verify_function get-ruby
  assert_update_rolls get-ruby "hello world updated"
  [ "$(pod_field get-ruby '{.spec.containers[0].image}')" = kubeless/ruby:3.1 ]
}

@test "go1.26: an update of get-go rolls to a new pod compiled from the new code" {
  kubeless_function_delete get-go
  make -sC "$EXAMPLES_DIR" get-go
  verify_function get-go
  assert_update_rolls get-go "Hello world updated"
  [ "$(pod_field get-go '{.spec.initContainers[1].image}')" = kubeless/go-init:1.26 ]
}
