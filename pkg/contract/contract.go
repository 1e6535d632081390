// Package contract names the runtime contract between Kubeless and a
// function: the environment a function process is started with, its
// defaults, and the metric names every runtime exposes
// (docs/runtime-contract.md). Each name is defined here once; the host,
// the renderer of Kubernetes objects, the local engine and the conformance
// suite import it. Runtimes written in other languages spell the same
// names in their own sources.
//
// The package imports only the standard library and is public and stable:
// a name is never changed or removed, only added.
package contract

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// The function's environment (docs/runtime-contract.md). These names
// come from the original Kubeless and are kept verbatim.
const (
	// EnvModName is the function's module: its file name without suffix.
	EnvModName = "MOD_NAME"
	// EnvFuncHandler is the function's name inside the module.
	EnvFuncHandler = "FUNC_HANDLER"
	// EnvFuncTimeout is the longest a call may run, in seconds (decimals
	// allowed); past it the caller gets 408.
	EnvFuncTimeout = "FUNC_TIMEOUT"
	// EnvFuncPort is the TCP port the function serves on.
	EnvFuncPort = "FUNC_PORT"
	// EnvFuncRuntime is the runtime string, for example python3.11.
	EnvFuncRuntime = "FUNC_RUNTIME"
	// EnvFuncMemoryLimit is the container's memory limit, passed through to
	// the function's context.
	EnvFuncMemoryLimit = "FUNC_MEMORY_LIMIT"
	// EnvFuncConcurrency is how many calls run at once in one instance.
	EnvFuncConcurrency = "FUNC_CONCURRENCY"
	// EnvFuncMaxBody is the largest request body accepted, in bytes.
	EnvFuncMaxBody = "FUNC_MAX_BODY"
	// EnvFuncLogFormat is the request log's format: text or json.
	EnvFuncLogFormat = "FUNC_LOG_FORMAT"
	// EnvFuncProcess is the command that starts one language worker
	// (docs/worker-protocol.md).
	EnvFuncProcess = "FUNC_PROCESS"
	// EnvShutdownTimeout bounds the drain on SIGTERM, in seconds.
	EnvShutdownTimeout = "SHUTDOWN_TIMEOUT"
)

// Kubeless's own knobs. New names are prefixed KUBELESS_.
const (
	// EnvInstallVolume is the folder holding the function's code and
	// installed dependencies, in every phase (install, compile, run).
	EnvInstallVolume = "KUBELESS_INSTALL_VOLUME"
	// EnvDepsFile is the dependency file's path in the install phase.
	EnvDepsFile = "KUBELESS_DEPS_FILE"
	// EnvFuncName is the function's name in the compile phase.
	EnvFuncName = "KUBELESS_FUNC_NAME"
	// EnvListenAddress is the address the function listens on (default all
	// interfaces); FUNC_PORT gives the port.
	EnvListenAddress = "KUBELESS_LISTEN_ADDRESS"
	// EnvListenFD is an inherited listening socket to serve on instead of
	// binding a port.
	EnvListenFD = "KUBELESS_LISTEN_FD"
	// EnvInstanceToken is a secret the local engine gives each instance.
	// When it is set, the host answers only requests that carry it in
	// HeaderInstanceToken (the engine's gateway, health checks and metrics
	// scrapes), and /healthz proves its identity with HeaderInstanceProof.
	EnvInstanceToken = "KUBELESS_INSTANCE_TOKEN"
	// EnvCORS set to "off" leaves out the host's CORS headers (the local
	// engine sets it; its gateway adds CORS where an HTTP trigger asks).
	EnvCORS = "KUBELESS_CORS"
	// EnvWorkers is the number of language worker processes the host starts.
	EnvWorkers = "KUBELESS_WORKERS"
	// EnvMaxWorkers is the most worker processes the host grows to when
	// every worker is busy.
	EnvMaxWorkers = "KUBELESS_MAX_WORKERS"
	// EnvWorkerStallAfter is how many seconds a worker running calls may
	// show no progress before new calls avoid it (default 0.05).
	EnvWorkerStallAfter = "KUBELESS_WORKER_STALL_AFTER"
	// EnvWorkerGrowWait is how many seconds a call that finds only stalled
	// workers waits for a new one before a stalled one serves it (default
	// 0.25).
	EnvWorkerGrowWait = "KUBELESS_WORKER_GROW_WAIT"
	// EnvWorkerIdleAfter is how many seconds a worker beyond
	// KUBELESS_WORKERS may stay idle before it stops (default 10).
	EnvWorkerIdleAfter = "KUBELESS_WORKER_IDLE_AFTER"
	// EnvWorkerMinSpare is how many idle workers the host keeps started
	// beside those running calls while any call runs (default 1 for workers
	// that run their calls on one event loop, 0 for the others).
	EnvWorkerMinSpare = "KUBELESS_WORKER_MIN_SPARE"
	// EnvWorkerConcurrency is how many calls one worker gets at once.
	EnvWorkerConcurrency = "KUBELESS_WORKER_CONCURRENCY"
	// EnvWorkerMode is the worker transport: frames or http.
	EnvWorkerMode = "KUBELESS_WORKER_MODE"
	// EnvWorkerID is the worker's number, set by the host for the worker.
	EnvWorkerID = "KUBELESS_WORKER_ID"
	// EnvWorkerSocket is the Unix socket a worker of mode http listens on,
	// set by the host for the worker.
	EnvWorkerSocket = "KUBELESS_WORKER_SOCKET"
	// EnvMaxConnections is how many client connections the host serves at
	// once.
	EnvMaxConnections = "KUBELESS_MAX_CONNECTIONS"
	// EnvQueueDepth is how many calls may wait for a slot.
	EnvQueueDepth = "KUBELESS_QUEUE_DEPTH"
)

// Defaults of the contract.
const (
	// DefaultTimeoutSeconds is FUNC_TIMEOUT when a function sets none.
	DefaultTimeoutSeconds = 180
	// DefaultPort is FUNC_PORT when a function sets none.
	DefaultPort = 8080
	// DefaultInstallVolume is KUBELESS_INSTALL_VOLUME in a function's pod.
	DefaultInstallVolume = "/kubeless"
)

// Metric names every runtime exposes on /metrics, each labelled by the
// call's HTTP method (docs/runtime-contract.md).
const (
	MetricCalls    = "function_calls_total"
	MetricFailures = "function_failures_total"
	MetricDuration = "function_duration_seconds"
)

// Headers between the local engine and an instance started with
// EnvInstanceToken.
const (
	// HeaderInstanceToken carries EnvInstanceToken in every request the
	// engine sends to an instance; the host refuses requests without it and
	// removes it before the function sees the request.
	HeaderInstanceToken = "X-Kubeless-Instance-Token"
	// HeaderInstanceNonce is a random challenge the engine sends to
	// /healthz.
	HeaderInstanceNonce = "X-Kubeless-Instance-Nonce"
	// HeaderInstanceProof is /healthz's answer to HeaderInstanceNonce:
	// InstanceProof(token, nonce). It proves to the engine that the answer
	// comes from the instance it started, without revealing the token.
	HeaderInstanceProof = "X-Kubeless-Instance-Proof"
	// HeaderInstanceWaitReady on a /healthz request of the engine makes a
	// loading instance answer once the function is loaded (or the request
	// ends) instead of 503 at once: the engine learns that an instance is
	// ready the moment it is, with one request and no polling.
	HeaderInstanceWaitReady = "X-Kubeless-Instance-Wait-Ready"
)

// InstanceProof returns the hex HMAC-SHA256 of nonce keyed with token.
func InstanceProof(token, nonce string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}
