#!/usr/bin/env bats
# The controller manager as pods of kubeless.yaml's Deployment on a real
# cluster (hack/cluster-up.sh installs kubeless.yaml unchanged): leader
# election between two replicas.
#
# Who reconciles what is read from what the cluster records, not from
# timing: the Lease kubeless-controller.kubeless.io (its holder, renewals
# and acquisition, watched), the Events the controller records for each
# Function (their reportingInstance is "kubeless-controller-<pod name>",
# client-go's recorder names the pod's host name), and each pod's own
# controller_runtime_reconcile_total (its /metrics through the API server's
# pod proxy).
#
# Run: CLUSTER_BATS=test/cluster-controller.bats hack/e2e-cluster.sh

bats_require_minimum_version 1.5.0

load lib/libtest
load lib/cluster

LEASE=kubeless-controller.kubeless.io

setup_file() {
  cluster_setup_file
  [[ -z $CLUSTER_SKIP ]] || return 0
  delete_functions le-before le-after
}


teardown_file() {
  [[ -z $CLUSTER_SKIP ]] || return 0
  if [[ -f $BATS_FILE_TMPDIR/lease-watch.pid ]]; then
    kill "$(cat "$BATS_FILE_TMPDIR/lease-watch.pid")" 2>/dev/null || true
  fi
  delete_functions le-before le-after
  kubectl -n kubeless scale deployment kubeless-controller-manager --replicas=1 >/dev/null 2>&1 || true
  kubectl -n kubeless rollout status deployment kubeless-controller-manager --timeout=120s >/dev/null 2>&1 || true
}

# holder: the pod name of the Lease's holder (holderIdentity is <pod>_<uuid>).
holder() {
  kubectl -n kubeless get lease "$LEASE" -o jsonpath='{.spec.holderIdentity}' | cut -d_ -f1
}

# reconciles POD: the sum of the pod's controller_runtime_reconcile_total
# (every controller, every result; 0 when it has none).
reconciles() {
  kubectl get --raw "/api/v1/namespaces/kubeless/pods/$1:8080/proxy/metrics" |
    awk '/^controller_runtime_reconcile_total\{/ { n += $NF } END { printf "%d\n", n }'
}

# reporters FUNCTION: the reportingInstance of each Event of the function.
reporters() {
  kubectl get events --field-selector "involvedObject.kind=Function,involvedObject.name=$1" \
    -o jsonpath='{range .items[*]}{.reportingInstance}{"\n"}{end}'
}

# ts TIME: a Lease MicroTime (RFC 3339 with microseconds) in milliseconds since the epoch.
ts() { echo $(($(date -d "$1" +%s%N) / 1000000)); }

@test "kubeless.yaml runs the controller manager and the activator as pods of the project's image, as their ServiceAccounts" {
  local d
  for d in kubeless-controller-manager kubeless-activator; do
    kubectl -n kubeless rollout status deployment "$d" --timeout=120s
  done
  [ "$(kubectl -n kubeless get deployment kubeless-controller-manager -o jsonpath='{.spec.template.spec.containers[0].image}')" = kubeless/controller-manager:dev ]
  [ "$(kubectl -n kubeless get deployment kubeless-activator -o jsonpath='{.spec.template.spec.containers[0].image}')" = kubeless/controller-manager:dev ]
  [ "$(kubectl -n kubeless get pods -l kubeless=controller -o jsonpath='{.items[0].spec.serviceAccountName}')" = controller-acct ]
  [ "$(kubectl -n kubeless get pods -l app=kubeless-activator -o jsonpath='{.items[0].spec.serviceAccountName}')" = activator-acct ]
  # no controller on the host: the only Lease holder is a pod of the Deployment
  wait_for 60 "a leader in Lease $LEASE" bash -c "kubectl -n kubeless get lease $LEASE -o jsonpath='{.spec.holderIdentity}' | grep -q ."
  [ "$(kubectl -n kubeless get pod "$(holder)" -o jsonpath='{.metadata.labels.kubeless}')" = controller ]
}

@test "leader election with two replicas: the leader's pod stopped releases the Lease, the other takes it after the release, and no Function is reconciled by both" {
  kubectl -n kubeless scale deployment kubeless-controller-manager --replicas=2
  kubectl -n kubeless rollout status deployment kubeless-controller-manager --timeout=180s
  local pods leader standby
  pods=$(kubectl -n kubeless get pods -l kubeless=controller --field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.name}')
  [ "$(wc -w <<<"$pods")" = 2 ]
  wait_for 60 "a leader in Lease $LEASE" bash -c "kubectl -n kubeless get lease $LEASE -o jsonpath='{.spec.holderIdentity}' | grep -q ."
  leader=$(holder)
  standby=$(tr ' ' '\n' <<<"$pods" | grep -vx "$leader")
  [[ -n $leader && -n $standby && $(wc -w <<<"$standby") == 1 ]]
  echo "# leader $leader, standby $standby" >&3

  # a function made under the first leader: its Events are the leader's,
  # and the standby has reconciled nothing at all
  run --separate-stderr "$KUBELESS" function deploy le-before --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  run --separate-stderr "$KUBELESS" function call le-before
  [ "$output" = "hello world" ]
  [ -n "$(reporters le-before)" ]
  [ -z "$(reporters le-before | grep -vx "kubeless-controller-$leader")" ]
  [ "$(reconciles "$leader")" -gt 0 ]
  [ "$(reconciles "$standby")" = 0 ]

  # every version of the Lease from now on, in a file (fd 3 closed: bats
  # waits for every process that holds it)
  local leases=$BATS_TEST_TMPDIR/lease
  kubectl -n kubeless get lease "$LEASE" --watch \
    -o jsonpath='holder={.spec.holderIdentity} {.spec.renewTime} {.spec.acquireTime} {.spec.leaseDurationSeconds}{"\n"}' \
    >"$leases" 2>&1 3>&- &
  echo $! >"$BATS_FILE_TMPDIR/lease-watch.pid"
  wait_for 30 "the Lease watch to print the current version" grep -q "^holder=${leader}_" "$leases"

  # the leader's pod goes, and no replacement competes with the standby:
  # the Deployment is scaled to 1 with the leader's pod the cheapest to
  # delete (pod-deletion-cost), so the ReplicaSet stops exactly that pod
  kubectl -n kubeless annotate pod "$leader" controller.kubernetes.io/pod-deletion-cost=-1000
  kubectl -n kubeless scale deployment kubeless-controller-manager --replicas=1
  kubectl -n kubeless wait --for=delete pod "$leader" --timeout=120s
  wait_for 120 "another pod to hold Lease $LEASE" grep -q -v -e "^holder=${leader}_" -e "^holder= " "$leases"
  kill "$(cat "$BATS_FILE_TMPDIR/lease-watch.pid")"
  rm "$BATS_FILE_TMPDIR/lease-watch.pid"
  cat "$leases" >&2
  local released first new duration gap
  # the stopping leader empties the Lease (LeaderElectionReleaseOnCancel):
  # a version with no holder, after the leader's own ones and before any
  # other holder's
  released=$(grep -v "^holder=${leader}_" "$leases" | head -1)
  [[ $released == "holder= "* ]] || { echo "the leader did not release the Lease: $released" >&2; false; }
  first=$(grep -v -e "^holder=${leader}_" -e "^holder= " "$leases" | head -1)
  new=$(cut -d' ' -f1 <<<"$first" | cut -d= -f2 | cut -d_ -f1)
  duration=$(cut -d' ' -f4 <<<"$first")
  # from the release to the new leader's acquisition: never negative (the
  # new one took it only once it was free: no overlap), and bounded
  # (generously: the machine is loaded) above; without the release it
  # would wait for the lease (duration) to expire
  gap=$(($(ts "$(cut -d' ' -f3 <<<"$first")") - $(ts "$(cut -d' ' -f2 <<<"$released")")))
  echo "# $new took the lease ${gap} ms after $leader released it (lease ${duration} s)" >&3
  [ "$gap" -ge 0 ]
  [ "$gap" -le $(((duration + 45) * 1000)) ]
  [ "$new" = "$standby" ]

  # a function made under the new leader: only its Events; the old leader
  # recorded nothing for it
  run --separate-stderr "$KUBELESS" function deploy le-after --runtime python3.11 --handler helloget.foo \
    --from-file "$EXAMPLES_DIR/python/helloget.py"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
  run --separate-stderr "$KUBELESS" function call le-after
  [ "$output" = "hello world" ]
  [ -n "$(reporters le-after)" ]
  [ -z "$(reporters le-after | grep -vx "kubeless-controller-$new")" ]
  [ -z "$(reporters le-before | grep -vx -e "kubeless-controller-$leader" -e "kubeless-controller-$new")" ]
  [ "$(reconciles "$new")" -gt 0 ]
}

@test "hack/cluster-up.sh --restart-controller: the image is built again and both Deployments roll to new pods" {
  local before after
  before=$(kubectl -n kubeless get pods -l 'kubeless=controller' -o name; kubectl -n kubeless get pods -l app=kubeless-activator -o name)
  # fd 3 closed: bats waits for every process that holds it
  KUBELESS_CLUSTER_STATE=${KUBELESS_CLUSTER_STATE:-/tmp/kubeless-cluster} "$REPO_ROOT/hack/cluster-up.sh" --restart-controller 3>&-
  kubectl -n kubeless rollout status deployment kubeless-controller-manager --timeout=120s
  kubectl -n kubeless rollout status deployment kubeless-activator --timeout=120s
  # shellcheck disable=SC2086
  kubectl -n kubeless wait --for=delete $before --timeout=120s
  after=$(kubectl -n kubeless get pods -l 'kubeless=controller' --field-selector=status.phase=Running -o name
    kubectl -n kubeless get pods -l app=kubeless-activator --field-selector=status.phase=Running -o name)
  echo "before: $before / after: $after"
  [ "$(wc -l <<<"$after")" -ge 2 ]
  local p
  for p in $after; do
    ! grep -qx "$p" <<<"$before" || false
  done
  wait_for 60 "a leader in Lease $LEASE among the new pods" \
    bash -c "kubectl -n kubeless get lease $LEASE -o jsonpath='{.spec.holderIdentity}' | cut -d_ -f1 | grep -qxF \"\$(kubectl -n kubeless get pods -l kubeless=controller --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')\""
}
