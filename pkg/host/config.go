package host

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kubeless/kubeless/pkg/contract"
)

// Worker modes (docs/worker-protocol.md).
const (
	ModeFrames = "frames"
	ModeHTTP   = "http"
)

// Config is the host's configuration. It is a pure function of the
// environment (see FromEnv), so tests never touch the process environment.
type Config struct {
	// ModName and Handler name the function (MOD_NAME, FUNC_HANDLER).
	ModName, Handler string
	// InstallVolume is the folder holding the function (KUBELESS_INSTALL_VOLUME).
	InstallVolume string
	// Addr is the address to listen on: KUBELESS_LISTEN_ADDRESS (default all
	// interfaces) and FUNC_PORT (default 8080).
	Addr string
	// Timeout is how long one invocation may run (FUNC_TIMEOUT, seconds,
	// decimals allowed; default 180). Past it the caller gets 408.
	Timeout time.Duration
	// Runtime and MemoryLimit are passed through to the function's context.
	Runtime, MemoryLimit string
	// Concurrency is how many invocations run at once (FUNC_CONCURRENCY).
	// Zero means the invoker's default. Requests beyond it wait in a queue
	// of QueueDepth; beyond that they get 503.
	Concurrency int
	// QueueDepth is how many invocations may wait for a slot
	// (KUBELESS_QUEUE_DEPTH, default 10 × Concurrency, at least 1024).
	QueueDepth int
	// MaxBody is the largest request body accepted (FUNC_MAX_BODY, default
	// 100 MiB); larger bodies get 413.
	MaxBody int64
	// LogJSON makes the request log one JSON object per line (FUNC_LOG_FORMAT=json).
	LogJSON bool
	// ShutdownTimeout bounds the drain on SIGTERM (SHUTDOWN_TIMEOUT, seconds, default 10).
	ShutdownTimeout time.Duration
	// Process is the command that starts one language worker (FUNC_PROCESS),
	// run with /bin/sh -c. Empty for in-process Go functions.
	Process string
	// Workers is the number of worker processes (KUBELESS_WORKERS, default 1).
	Workers int
	// MaxConns is how many client connections are served at once
	// (KUBELESS_MAX_CONNECTIONS, default 1024); more wait to be accepted.
	MaxConns int
	// MaxWorkers is the most worker processes the pool grows to when every
	// worker is busy or stalled (KUBELESS_MAX_WORKERS, default 4 ×
	// Workers and at least 4); workers beyond Workers stop after IdleAfter
	// without a call.
	MaxWorkers int
	// StallAfter is how long a worker running calls may show no progress
	// before new calls avoid it (KUBELESS_WORKER_STALL_AFTER, default
	// 50 ms).
	StallAfter time.Duration
	// GrowWait is how long a call that finds only stalled workers waits for
	// a new worker before a stalled one serves it (KUBELESS_WORKER_GROW_WAIT,
	// default 250 ms).
	GrowWait time.Duration
	// IdleAfter is how long a worker beyond Workers may stay idle before it
	// stops (KUBELESS_WORKER_IDLE_AFTER, default 10 s).
	IdleAfter time.Duration
	// MinSpare is how many idle workers the pool keeps started, beside
	// those running calls, while any call runs, up to MaxWorkers
	// (KUBELESS_WORKER_MIN_SPARE). -1, the default, means 1 when the
	// workers run their calls on one event loop ("event_loop" in their R
	// frame: a busy call blocks every other call of its worker, so a call
	// arriving beside it needs another worker at once, not after one has
	// started) and 0 for the others, whose threads, goroutines or extra
	// processes already serve a call beside a busy one.
	MinSpare int
	// WorkerConcurrency is how many invocations one worker gets at once
	// (KUBELESS_WORKER_CONCURRENCY, default 1).
	WorkerConcurrency int
	// WorkerMode is "frames" (default) or "http" (docs/worker-protocol.md).
	WorkerMode string
	// NoCORS leaves out the Access-Control-* headers (answers and OPTIONS
	// preflights) when KUBELESS_CORS=off; the local engine sets it and its
	// gateway adds CORS where an HTTP trigger enables it.
	NoCORS bool
	// ListenFD, when non-negative, is an inherited listening socket to serve
	// on instead of binding Addr (KUBELESS_LISTEN_FD; used by a Go function
	// server that restarts itself).
	ListenFD int
	// InstanceToken, when set (KUBELESS_INSTANCE_TOKEN), must be carried by
	// every request in the HeaderInstanceToken header, or the request is
	// refused with 403: only the local engine, which set it, may call the
	// instance. /healthz answers a HeaderInstanceNonce challenge with
	// HeaderInstanceProof, proving to the engine that the answer comes from
	// the instance it started, not from whatever else answers on the port.
	InstanceToken string
}

// FromEnv builds a Config from an environment in os.Environ form. Every
// error names the variable and says what is accepted.
func FromEnv(env []string) (Config, error) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	if err := applyAliases(m); err != nil {
		return Config{}, err
	}
	c := Config{
		ModName:       m[contract.EnvModName],
		Handler:       m[contract.EnvFuncHandler],
		InstallVolume: m[contract.EnvInstallVolume],
		Runtime:       m[contract.EnvFuncRuntime],
		MemoryLimit:   m[contract.EnvFuncMemoryLimit],
		Process:       m[contract.EnvFuncProcess],
		WorkerMode:    m[contract.EnvWorkerMode],
		NoCORS:        m[contract.EnvCORS] == "off",
		ListenFD:      -1,
		InstanceToken: m[contract.EnvInstanceToken],
	}
	if c.InstallVolume == "" {
		c.InstallVolume = contract.DefaultInstallVolume
	}
	if c.ModName == "" {
		return c, fmt.Errorf("%s is not set: set it to the function's module (file name without suffix), for example MOD_NAME=hello", contract.EnvModName)
	}
	if c.Handler == "" {
		return c, fmt.Errorf("%s is not set: set it to the function's name inside module %q, for example FUNC_HANDLER=foo", contract.EnvFuncHandler, c.ModName)
	}
	port := m[contract.EnvFuncPort]
	if port == "" {
		port = strconv.Itoa(contract.DefaultPort)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return c, fmt.Errorf("%s=%q is not a port number: use 1-65535", contract.EnvFuncPort, port)
	}
	c.Addr = m[contract.EnvListenAddress] + ":" + port

	var err error
	if c.Timeout, err = seconds(m, contract.EnvFuncTimeout, contract.DefaultTimeoutSeconds); err != nil {
		return c, err
	}
	if c.Timeout <= 0 {
		return c, fmt.Errorf("%s=%q must be greater than 0 seconds", contract.EnvFuncTimeout, m[contract.EnvFuncTimeout])
	}
	if c.ShutdownTimeout, err = seconds(m, contract.EnvShutdownTimeout, 10); err != nil {
		return c, err
	}
	if c.Concurrency, err = count(m, contract.EnvFuncConcurrency, 0, 0); err != nil {
		return c, err
	}
	if c.QueueDepth, err = count(m, contract.EnvQueueDepth, -1, 0); err != nil {
		return c, err
	}
	if c.Workers, err = count(m, contract.EnvWorkers, 1, 1); err != nil {
		return c, err
	}
	if c.MaxWorkers, err = count(m, contract.EnvMaxWorkers, max(4*c.Workers, 4), 1); err != nil {
		return c, err
	}
	if c.MaxWorkers < c.Workers {
		return c, fmt.Errorf("%s=%d is below %s=%d: the pool starts with %s workers and grows up to %s", contract.EnvMaxWorkers, c.MaxWorkers, contract.EnvWorkers, c.Workers, contract.EnvWorkers, contract.EnvMaxWorkers)
	}
	if c.MaxConns, err = count(m, contract.EnvMaxConnections, 1024, 1); err != nil {
		return c, err
	}
	if c.StallAfter, err = seconds(m, contract.EnvWorkerStallAfter, 0.05); err != nil {
		return c, err
	}
	if c.GrowWait, err = seconds(m, contract.EnvWorkerGrowWait, 0.25); err != nil {
		return c, err
	}
	if c.IdleAfter, err = seconds(m, contract.EnvWorkerIdleAfter, 10); err != nil {
		return c, err
	}
	if c.MinSpare, err = count(m, contract.EnvWorkerMinSpare, -1, 0); err != nil {
		return c, err
	}
	if c.WorkerConcurrency, err = count(m, contract.EnvWorkerConcurrency, 1, 1); err != nil {
		return c, err
	}
	maxBody, err := count(m, contract.EnvFuncMaxBody, 100<<20, 1)
	if err != nil {
		return c, err
	}
	c.MaxBody = int64(maxBody)
	switch f := m[contract.EnvFuncLogFormat]; f {
	case "", "text":
	case "json":
		c.LogJSON = true
	default:
		return c, fmt.Errorf("%s=%q is not a log format: use text or json", contract.EnvFuncLogFormat, f)
	}
	switch c.WorkerMode {
	case "":
		c.WorkerMode = ModeFrames
	case ModeFrames, ModeHTTP:
	default:
		return c, fmt.Errorf("%s=%q is not a worker mode: use %s or %s", contract.EnvWorkerMode, c.WorkerMode, ModeFrames, ModeHTTP)
	}
	if fd := m[contract.EnvListenFD]; fd != "" {
		n, err := strconv.Atoi(fd)
		if err != nil || n < 3 {
			return c, fmt.Errorf("%s=%q is not an inherited file descriptor (3 or more)", contract.EnvListenFD, fd)
		}
		c.ListenFD = n
	}
	return c, nil
}

// withDefaults fills in the limits that depend on the invoker.
func (c Config) withDefaults(defaultConcurrency int) Config {
	if c.Concurrency == 0 {
		c.Concurrency = defaultConcurrency
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 100 * runtime.NumCPU()
	}
	if c.QueueDepth < 0 {
		c.QueueDepth = max(10*c.Concurrency, 1024)
	}
	return c
}

func seconds(m map[string]string, name string, def float64) (time.Duration, error) {
	v, ok := m[name]
	if !ok || v == "" {
		return time.Duration(def * float64(time.Second)), nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e9 {
		return 0, fmt.Errorf("%s=%q is not a number of seconds: use for example 180 or 0.5", name, v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func count(m map[string]string, name string, def, min int) (int, error) {
	v, ok := m[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		return 0, fmt.Errorf("%s=%q is not a whole number of at least %d", name, v, min)
	}
	return n, nil
}
