// Package host is the function host: the HTTP server in front of every
// function, whatever its language. It serves /healthz and /metrics,
// enforces the time limit (408), the concurrency limit and its queue (503),
// the body limit (413), drains on SIGTERM, writes the request log and the
// contract metrics, and runs the function either in language worker
// processes (a Pool, started from FUNC_PROCESS) or in its own process (a
// GoInvoker, for compiled Go functions).
//
// # Public and stable
//
// Three entry points are public and stable, because compiled Go functions
// and the kubeless binary call them:
//
//   - Main serves the function described by the process environment;
//   - Serve does the same with an explicit environment;
//   - ServeGo serves compiled Go handlers (the generated main of a Go
//     function calls it).
//
// Their configuration is the environment of the runtime contract, whose
// names are in package github.com/kubeless/kubeless/pkg/contract and whose
// meaning is docs/runtime-contract.md; the worker protocol is
// docs/worker-protocol.md. The other exported names (Config, Run, Server,
// Invoker, Pool, …) are exported for the host's own tests and tools and may
// change in any release.
//
// # Files
//
//   - config.go: the environment → Config;
//   - server.go, writer.go, accesslog.go, metrics.go: the HTTP side;
//   - run.go, restart_*.go: the life of an instance (serve, drain, restart);
//   - invoker.go: the Invoker interface between the HTTP side and a function;
//   - gofunc.go: the in-process Go invoker;
//   - pool.go: the pool of language workers and how calls are routed;
//   - worker.go: one worker process;
//   - frames.go: the frames transport; httpworker.go: the http transport;
//   - spawn*.go: starting and killing worker processes (OS specific).
//
// The package imports only the standard library, the Prometheus client and
// pkg/contract and pkg/functions: it is compiled into every Go function.
package host
