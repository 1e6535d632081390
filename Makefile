# Kubeless: build, test and benchmark targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export GOFLAGS := -buildvcs=false

.PHONY: help build deps-local test test-go test-runtimes test-e2e test-cluster verify bench bench-starvation bench-scale-zero bench-events bench-cluster-wake demo deps clean test-all

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build bin/kubeless, bin/kubeless-host and bin/kubeless-controller-manager
	$(GO) build -o $(BIN)/kubeless ./cmd/kubeless
	$(GO) build -o $(BIN)/kubeless-host ./cmd/kubeless-host
	$(GO) build -o $(BIN)/kubeless-controller-manager ./cmd/kubeless-controller-manager

deps: ## install what the tests need on a fresh Debian machine (with the Kubernetes binaries, ~15 min the first time)
	hack/install-deps.sh all

deps-local: ## install only what the local engine and the demo need (no Kubernetes binaries)
	hack/install-deps.sh local

test: deps ## set up the machine (make deps), then run every test
	$(MAKE) test-go test-runtimes test-e2e test-cluster

test-all: test-go test-runtimes test-e2e test-cluster ## run every test without the set-up (Go, conformance of every runtime, language unit tests, end-to-end on both engines)

# The packages whose tests run goroutines against each other (the host's
# pool, the local engine's daemon, supervisor, gateway and scheduler, the
# controller): make test-go runs them under the race detector, the others
# without (the detector slows builds and runs several times over).
RACE_PKGS ?= ./pkg/host/... ./internal/engine/... ./internal/controller/...

test-go: ## Go unit tests (RACE_PKGS with -race), the conformance suite of every runtime, and the envtest tests (real kube-apiserver)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -vxF -f <($(GO) list $(RACE_PKGS)))
	$(GO) test -race -count=1 -timeout 30m $(RACE_PKGS)

test-runtimes: ## each language runtime's own unit tests
	hack/test-runtimes.sh

test-e2e: build ## end-to-end tests: the image scripts' questions to containerd under pipefail, the CLI and the examples on the local engine, the README's shell examples, the sandbox's attacks, and the SIGKILL stress test (KUBELESS_STRESS_ROUNDS, default 5), the Kafka and NATS triggers, and no Kafka message lost across SIGKILLs of the daemon and instances (bats)
	KUBELESS=$(BIN)/kubeless bats --timing test/ci.bats test/lib-images.bats test/readme.bats test/integration-tests.bats test/security.bats test/scale-to-zero.bats test/stress-sigkill.bats test/events.bats test/events-noloss.bats

test-cluster: build ## end-to-end tests of the Kubernetes engine on a real single-node cluster (root; ~10 min of builds the first time, then ~1.5 min)
	hack/e2e-cluster.sh

verify: build ## kubeless runtime verify for every runtime this machine has
	for rt in demo go1.26 python3.11 nodejs20 ruby3.1 php8.2; do $(BIN)/kubeless runtime verify $$rt || exit 1; done

bench: build ## benchmarks (see bench/README.md)
	bench/run.sh

bench-starvation: ## per runtime: a plain call beside a spinning one, 8 parallel 1 s calls, against baselines of the same run (see bench/README.md)
	$(GO) run ./bench/starvation

bench-scale-zero: build ## 1,000 functions of the five languages idle at zero on one local daemon (N=… for fewer; see bench/README.md)
	$(GO) run ./bench/scalezero -kubeless $(BIN)/kubeless -n $(or $(N),1000)

bench-events: build ## Kafka trigger delivery to a Go and a Python function: messages/s and publish-to-start latency against direct gateway calls (N=… messages, default 5000; see bench/README.md)
	$(GO) run ./bench/events -kubeless $(BIN)/kubeless -n $(or $(N),5000)

bench-cluster-wake: build ## on a running cluster (KUBECONFIG): first-call latency of a function at zero over N wakes (default 20) and the activator's RSS (see bench/README.md)
	KUBELESS=$(BIN)/kubeless bench/cluster-wake.sh -n $(or $(N),20)

demo: ## install what the local engine needs, build, run the example functions of every language and call them (steps n/5)
	hack/demo.sh

clean:
	rm -rf $(BIN)
