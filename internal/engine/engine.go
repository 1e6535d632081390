// Package engine is the local engine: the daemon that runs functions on this
// machine with no cluster. It owns a home folder (KUBELESS_HOME), keeps every
// Function in a crash-safe store, builds each through the runtime catalog
// (cached), runs its instances under a supervisor, routes calls to them with
// a gateway, and answers the CLI on a Unix socket (package api).
//
// Run holds the engine's lifecycle; Deploy, Update, Delete, Get, List and
// Logs are what the API serves. Each function is reconciled by a goroutine of
// its own; a change of the function cancels it and starts another, so an
// update supersedes a build in flight.
//
// This package is internal; its API is not stable.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/cron"
	"github.com/kubeless/kubeless/internal/engine/api"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/internal/engine/sandbox"
	"github.com/kubeless/kubeless/internal/engine/store"
	"github.com/kubeless/kubeless/internal/engine/supervisor"
	"github.com/kubeless/kubeless/internal/events"
	"github.com/kubeless/kubeless/internal/langruntime"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// EnvIdleWindow sets the daemon's Options.IdleWindow (a Go duration such
// as 90s).
const EnvIdleWindow = "KUBELESS_IDLE_WINDOW"

// Options configure an Engine.
type Options struct {
	// Home is the engine's folder; "" means api.DefaultHome().
	Home string
	// Catalog is the runtime catalog; nil means langruntime.Default().
	Catalog *langruntime.Catalog
	// SelfExe is the kubeless binary that instances run as
	// `SelfExe runtime run <runtime>`; "" means os.Executable().
	SelfExe string
	// HostExe is the kubeless-host binary (the function host alone, a
	// fraction of kubeless's size and start time) that instances of
	// interpreted languages run when the engine found their interpreter;
	// "" means kubeless-host beside SelfExe if it is there, else they run
	// `SelfExe runtime run <runtime>`.
	HostExe string
	// Logger receives the engine's log; nil discards it.
	Logger *slog.Logger
	// GatewayAddr is the gateway's listen address; "" means
	// api.DefaultGatewayAddr().
	GatewayAddr string
	// GoTools are the build's helper commands (cli.BuildTools).
	GoTools map[string]build.ToolFunc
	// Version is reported by Status and salts the build cache.
	Version string
	// BaseEnv is the environment of builds; nil means the engine's own.
	BaseEnv []string
	// InstanceEnv are variables every instance gets besides PATH, the
	// contract's, the catalog's and the function's; instances never get
	// the engine's environment.
	InstanceEnv []string
	// StartTimeout bounds how long instances may take to answer /healthz;
	// 0 means 60s.
	StartTimeout time.Duration
	// StopGrace is how long a stopped instance gets before SIGKILL; 0 means 5s.
	StopGrace time.Duration
	// IdleWindow is how long a function whose autoscaler allows zero
	// instances may go without a call before its last instance stops,
	// unless its autoscaler says otherwise; 0 means
	// backend.DefaultIdleWindow.
	IdleWindow time.Duration
	// MaxHeld bounds the calls of one function held while it starts from
	// zero; 0 means gateway.DefaultMaxHeld.
	MaxHeld int
	// KafkaBrokers are the brokers (host:port,...) of the Kafka triggers
	// that name none; "" means $KUBELESS_KAFKA_BROKERS.
	KafkaBrokers string
	// Metrics, when set, registers the event triggers' metrics
	// (internal/events); nil means a registry of the engine's own. The
	// registry, when it is also a prometheus.Gatherer, is served at GET
	// /metrics on the API socket and on MetricsAddr.
	Metrics prometheus.Registerer
	// MetricsAddr is a TCP address (host:port) that serves /metrics too;
	// "" means $KUBELESS_METRICS_ADDR, and none when that is empty.
	MetricsAddr string
	// NATSURL is an outside NATS server used as the event bus (the server
	// of the NATS triggers that name none, and of `kubeless topic publish`
	// with no Kafka brokers); "" means $KUBELESS_NATS_URL, and if that is
	// empty a NATS server embedded in the engine (engine_bus.go).
	NATSURL string
}

// Engine is the local engine. Create it with New and start it with Run.
type Engine struct {
	opts    Options
	logger  *slog.Logger
	builder *build.Builder
	sup     *supervisor.Supervisor
	sandbox *sandbox.Sandbox
	gw      *gateway.Gateway

	ready     chan struct{}
	gwAddr    string
	runCtx    context.Context
	reconcile sync.WaitGroup

	mu    sync.Mutex
	store store.Store
	fns   map[string]*fnState // by "namespace/name"
	// triggers are the triggers of each kind.
	triggers map[*v1beta1.TriggerKind]*triggerSet
	sched    *cron.Scheduler

	cacheUse cacheUsage // build cache keys of running generations

	// builds bounds the builds that run at once (buildSlot).
	builds chan struct{}
	// starts bounds the starts from zero that run at once.
	starts chan struct{}
	// interps are the interpreters instances start their workers with.
	interps interpreters

	// scaleHook, when set (tests), is called after each scale event.
	scaleHook func(k string, ev v1beta1.ScaleEvent)

	eventMetrics *events.Metrics
	eventsWG     sync.WaitGroup // event consumers
	busURL       string         // the event bus (startBus), set before Ready
	gatherer     prometheus.Gatherer
	metricsAddr  string // where listenMetrics listens, set before Ready
}

// fnState is the engine's view of one function.
type fnState struct {
	fn       *v1beta1.Function // spec and status as stored
	cancel   context.CancelFunc
	done     chan struct{}
	backends []gateway.Backend // ready instances of the serving generation
	serving  bool              // backends are the current generation's
	older    []generation      // replaced generations still running (rolling update)
	onDemand bool              // at zero or starting from zero: a call starts an instance
	wakeCh   chan struct{}     // wakes the reconcile goroutine at zero (wakeChanLocked)
	waking   *wakeWait         // the start that held calls wait for
}

// New returns an engine; nothing starts until Run.
func New(opts Options) *Engine {
	if opts.Home == "" {
		opts.Home = api.DefaultHome()
	}
	if opts.Catalog == nil {
		opts.Catalog = langruntime.Default()
	}
	if opts.SelfExe == "" {
		opts.SelfExe, _ = os.Executable()
	}
	if opts.HostExe == "" && opts.SelfExe != "" {
		h := filepath.Join(filepath.Dir(opts.SelfExe), "kubeless-host")
		if st, err := os.Stat(h); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			opts.HostExe = h
		}
	}
	if opts.GatewayAddr == "" {
		opts.GatewayAddr = api.DefaultGatewayAddr()
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.BaseEnv == nil {
		opts.BaseEnv = os.Environ()
	}
	if opts.IdleWindow <= 0 {
		opts.IdleWindow = backend.DefaultIdleWindow
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: opts, logger: logger, ready: make(chan struct{}), fns: map[string]*fnState{},
		builds: make(chan struct{}, max(2, runtime.NumCPU())),
		starts: make(chan struct{}, max(4, 2*runtime.NumCPU()))}
	if opts.Metrics == nil {
		opts.Metrics = newRegistry()
		e.opts.Metrics = opts.Metrics
	}
	e.gatherer, _ = opts.Metrics.(prometheus.Gatherer)
	e.eventMetrics = events.NewMetrics(opts.Metrics)
	e.triggers = e.newTriggerSets()
	return e
}

// buildSlot waits until fewer builds than the machine has CPUs (at least
// two) run, and returns the function that frees the slot: a thousand
// functions deployed at once build a few at a time instead of all
// competing for the cores and memory.
func (e *Engine) buildSlot(ctx context.Context) (func(), error) {
	select {
	case e.builds <- struct{}{}:
		return func() { <-e.builds }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Ready is closed once Run serves the API and the gateway.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// GatewayAddr is the gateway's actual address once Ready.
func (e *Engine) GatewayAddr() string { return e.gwAddr }

// Socket is the API's Unix socket.
func (e *Engine) Socket() string { return api.SocketPath(e.opts.Home) }

// Run runs the engine until ctx ends, then stops every instance.
func (e *Engine) Run(ctx context.Context) error {
	home := e.opts.Home
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("create engine home: %w", err)
	}
	unlock, err := store.Lock(home)
	if err != nil {
		var le *store.LockedError
		if errors.As(err, &le) && le.PID != 0 {
			return fmt.Errorf("another local engine (pid %d) already uses %s: stop it with kubeless local stop", le.PID, home)
		}
		return fmt.Errorf("lock engine home: %w", err)
	}
	defer unlock()

	st, err := store.NewFile(filepath.Join(home, "state"), e.logger)
	if err != nil {
		return fmt.Errorf("open engine state: %w", err)
	}
	stopBus, err := e.startBus(st)
	if err != nil {
		return err
	}
	defer stopBus() // after the event consumers stopped
	e.builder = &build.Builder{
		Catalog:  e.opts.Catalog,
		CacheDir: filepath.Join(home, "cache"),
		BaseEnv:  e.opts.BaseEnv,
		GoTools:  e.opts.GoTools,
		SelfExe:  e.opts.SelfExe,
		Logger:   e.logger,
		Salt:     e.opts.Version,
	}
	e.sup = supervisor.New(e.logger)
	defer e.sup.Close()
	e.gw = gateway.New(gateway.Options{Logger: e.logger, Wake: e.wake, MaxHeld: e.opts.MaxHeld, HoldTimeout: e.opts.StartTimeout})

	gwl, err := net.Listen("tcp", e.opts.GatewayAddr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s (set %s to use another address): %w", e.opts.GatewayAddr, api.EnvGateway, err)
	}
	e.gwAddr = gwl.Addr().String()
	if w := gateway.ExposureWarning(gwl.Addr()); w != "" {
		e.logger.Warn(w)
	}
	sock := e.Socket()
	_ = os.Remove(sock) // stale: the lock says nobody else serves it
	apil, err := net.Listen("unix", sock)
	if err != nil {
		gwl.Close()
		return fmt.Errorf("listen on %s: %w", sock, err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		gwl.Close()
		apil.Close()
		return fmt.Errorf("chmod %s: %w", sock, err)
	}
	defer os.Remove(sock)
	ml, err := e.listenMetrics(e.opts.MetricsAddr)
	if err != nil {
		gwl.Close()
		apil.Close()
		return err
	}
	// Only an engine that holds the lock and serves both addresses sweeps
	// what an earlier one left in its cgroups: one that fails to start
	// must not touch running instances.
	e.sandbox = newSandbox(home, e.logger)

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	e.mu.Lock()
	e.runCtx = runCtx
	e.store = st
	e.sched = cron.NewScheduler(cron.Options{Logger: e.logger})
	e.mu.Unlock()
	defer e.sched.Stop()
	if err := e.loadAll(); err != nil {
		e.logger.Error("load stored functions", "err", err)
	}
	pruneDone := make(chan struct{})
	defer close(pruneDone)
	go e.runCachePruner(pruneDone)

	gwSrv := gateway.NewServer(e.gw, gateway.ServerOptions{Logger: e.logger})
	apiSrv := &http.Server{Handler: e.withMetrics(api.NewHandler(e, e.logger)), ReadHeaderTimeout: 30 * time.Second}
	if ml != nil {
		e.serveMetrics(runCtx, ml)
	}
	errc := make(chan error, 2)
	go func() { errc <- gwSrv.Serve(gwl) }()
	go func() { errc <- apiSrv.Serve(apil) }()
	e.logger.Info("engine started", "home", home, "gateway", e.gwAddr, "socket", sock, "pid", os.Getpid())
	close(e.ready)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		runErr = fmt.Errorf("serve: %w", err)
	}
	e.logger.Info("engine stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = apiSrv.Shutdown(sctx)
	e.sched.Stop()
	cancelRun() // every reconcile goroutine stops its instances
	e.reconcile.Wait()
	e.eventsWG.Wait() // event consumers commit what they delivered
	_ = e.sup.StopAll(e.opts.StopGrace)
	_ = gwSrv.Shutdown(sctx)
	e.gw.CloseIdleConnections()
	e.mu.Lock()
	e.store = nil
	e.mu.Unlock()
	e.logger.Info("engine stopped")
	return runErr
}

func fnKey(ns, name string) string { return ns + "/" + name }

func storeKey(ns, name string) string { return "functions/" + ns + "/" + name }

// loadAll reads the stored functions and reconciles each.
func (e *Engine) loadAll() error {
	entries, listErr := e.store.List("functions/")
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ent := range entries {
		fn, err := decodeFunction(ent.Value)
		if err != nil {
			e.logger.Error("unreadable stored function", "key", ent.Key, "err", err)
			continue
		}
		k := fnKey(fn.Namespace, fn.Name)
		// What was stored described the old engine's instances.
		setCondition(fn, reasonBuilding, "engine restarted: building the function")
		fn.Status.SetReplicas(replicas(fn), 0)
		// A function at zero is called as before while it is built again
		// (a cache hit): its calls are held until it can start.
		p := policyOf(fn)
		e.fns[k] = &fnState{fn: fn, onDemand: p != nil && p.min == 0}
		e.logger.Info("function restored", "function", fn.Name, "namespace", fn.Namespace)
		e.startReconcileLocked(k)
	}
	e.loadTriggersLocked()
	e.updateRoutesLocked()
	return listErr
}

// active returns the store, or an Unavailable error when Run is not serving.
func (e *Engine) activeLocked() error {
	if e.store == nil || e.runCtx == nil || e.runCtx.Err() != nil {
		return backend.Errorf(backend.CodeUnavailable, "the local engine is not running")
	}
	return nil
}

// Status implements api.Backend.
func (e *Engine) Status(ctx context.Context) (*backend.Status, error) {
	st := &backend.Status{Version: e.opts.Version, Home: e.opts.Home, Gateway: e.gwAddr, PID: os.Getpid(), EventBus: e.busURL}
	if e.sandbox != nil {
		st.Sandbox = e.sandbox.Describe()
	}
	return st, nil
}

// Get implements api.Backend.
func (e *Engine) Get(ctx context.Context, namespace, name string) (*v1beta1.Function, error) {
	namespace = defaultNS(namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	st, ok := e.fns[fnKey(namespace, name)]
	if !ok {
		return nil, notFound(namespace, name)
	}
	return st.fn.DeepCopy(), nil
}

// List implements api.Backend.
func (e *Engine) List(ctx context.Context, namespace string) ([]v1beta1.Function, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	out := []v1beta1.Function{}
	for _, st := range e.fns {
		if namespace == "" || st.fn.Namespace == namespace {
			out = append(out, *st.fn.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Deploy implements api.Backend.
func (e *Engine) Deploy(ctx context.Context, in *v1beta1.Function) (*v1beta1.Function, error) {
	fn := in.DeepCopy()
	fn.Namespace = defaultNS(fn.Namespace)
	if err := e.validate(fn); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	k := fnKey(fn.Namespace, fn.Name)
	if _, ok := e.fns[k]; ok {
		return nil, backend.Errorf(backend.CodeAlreadyExists, "function %q already exists in namespace %q: use kubeless function update", fn.Name, fn.Namespace)
	}
	if fn.Labels == nil {
		fn.Labels = map[string]string{}
	}
	fn.Labels[v1beta1.LabelCreatedBy] = v1beta1.CreatedByKubeless
	fn.Labels[v1beta1.LabelFunction] = fn.Name
	fn.APIVersion = v1beta1.GroupVersion.String()
	fn.Kind = "Function"
	fn.Generation = 1
	fn.CreationTimestamp = nowMeta()
	fn.ResourceVersion = ""
	fn.Status = v1beta1.FunctionStatus{}
	setCondition(fn, reasonBuilding, "building the function")
	fn.Status.SetReplicas(replicas(fn), 0)
	if err := e.persistLocked(fn); err != nil {
		return nil, err
	}
	e.fns[k] = &fnState{fn: fn}
	e.startReconcileLocked(k)
	e.updateRoutesLocked()
	e.logger.Info("function deployed", "function", fn.Name, "namespace", fn.Namespace, "runtime", fn.Spec.Runtime)
	return fn.DeepCopy(), nil
}

// Update implements api.Backend: the non-empty parts of in replace those of
// the stored function; everything else is kept.
func (e *Engine) Update(ctx context.Context, in *v1beta1.Function) (*v1beta1.Function, error) {
	ns := defaultNS(in.Namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	k := fnKey(ns, in.Name)
	st, ok := e.fns[k]
	if !ok {
		return nil, backend.Errorf(backend.CodeNotFound, "Function %s is not found in namespace %q: deploy it with kubeless function deploy %s", in.Name, ns, in.Name)
	}
	fn, err := merge(st.fn, in)
	if err != nil {
		return nil, err
	}
	if err := e.validate(fn); err != nil {
		return nil, err
	}
	if c := readyCondition(st.fn); c != nil && (c.Reason == reasonReady || c.Reason == reasonIdle) &&
		equality.Semantic.DeepEqual(fn.Spec, st.fn.Spec) && equality.Semantic.DeepEqual(fn.Labels, st.fn.Labels) {
		// Nothing changed and it runs: keep it as it is.
		return st.fn.DeepCopy(), nil
	}
	fn.Generation = st.fn.Generation + 1
	setCondition(fn, reasonBuilding, "building the function")
	fn.Status.SetReplicas(replicas(fn), 0)
	if err := e.persistLocked(fn); err != nil {
		return nil, err
	}
	st.fn = fn
	// The routes keep the running instances until the new generation is
	// ready (startReconcileLocked).
	e.startReconcileLocked(k)
	e.updateRoutesLocked()
	e.logger.Info("function updated", "function", fn.Name, "namespace", fn.Namespace, "generation", fn.Generation)
	return fn.DeepCopy(), nil
}

// Delete implements api.Backend. It deletes the HTTP and cron triggers that
// call the function too.
func (e *Engine) Delete(ctx context.Context, namespace, name string) error {
	namespace = defaultNS(namespace)
	k := fnKey(namespace, name)
	e.mu.Lock()
	if err := e.activeLocked(); err != nil {
		e.mu.Unlock()
		return err
	}
	st, ok := e.fns[k]
	if !ok {
		e.mu.Unlock()
		return notFound(namespace, name)
	}
	if err := e.store.Delete(storeKey(namespace, name)); err != nil && !errors.Is(err, store.ErrNotFound) {
		e.mu.Unlock()
		return fmt.Errorf("delete function %q: %w", name, err)
	}
	delete(e.fns, k)
	if w := st.waking; w != nil {
		w.err = &gateway.WakeError{Reason: "the function was deleted"}
		st.waking = nil
		close(w.done)
	}
	e.gw.Forget(namespace, name)
	e.deleteTriggersOfLocked(namespace, name)
	e.updateRoutesLocked()
	if st.cancel != nil {
		st.cancel()
	}
	done := st.done
	older := st.older
	for _, g := range older {
		g.cancel()
	}
	e.mu.Unlock()
	if done != nil {
		<-done // its instances are stopped
	}
	for _, g := range older {
		<-g.done
	}
	e.kickCachePruner()
	e.logger.Info("function deleted", "function", name, "namespace", namespace)
	return nil
}

// Logs implements api.Backend.
func (e *Engine) Logs(ctx context.Context, namespace, name string, opts backend.LogOptions) (<-chan string, error) {
	namespace = defaultNS(namespace)
	e.mu.Lock()
	err := e.activeLocked()
	var fn *v1beta1.Function
	if st, ok := e.fns[fnKey(namespace, name)]; ok {
		fn = st.fn
	}
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, notFound(namespace, name)
	}
	prefix := fnKey(namespace, name) + "/"
	var procs []string
	for _, s := range e.sup.List() {
		if strings.HasPrefix(s.Name, prefix) {
			procs = append(procs, s.Name)
		}
	}
	out := make(chan string, 64)
	if len(procs) == 0 {
		// No instance now (failed, or still building): the log files.
		lines := tailFiles(e.logDir(namespace, name), opts.Tail)
		go func() {
			defer close(out)
			for _, l := range lines {
				select {
				case out <- l:
				case <-ctx.Done():
					return
				}
			}
		}()
		return out, nil
	}
	if !opts.Follow {
		go func() {
			defer close(out)
			for _, p := range procs {
				lines, _ := e.sup.Tail(p, opts.Tail)
				for _, l := range lines {
					select {
					case out <- l:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		return out, nil
	}
	since := opts.Tail
	if since < 0 {
		since = 1 << 30
	}
	var wg sync.WaitGroup
	for _, p := range procs {
		ch, err := e.sup.Follow(ctx, p, since)
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range ch {
				select {
				case out <- l:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()
	return out, nil
}

func (e *Engine) logDir(ns, name string) string {
	return filepath.Join(e.opts.Home, "logs", ns, name)
}

func notFound(ns, name string) error {
	return backend.Errorf(backend.CodeNotFound, "function %q not found in namespace %q", name, ns)
}

func defaultNS(ns string) string {
	if ns == "" {
		return gateway.DefaultNamespace
	}
	return ns
}

// persistLocked writes fn to the store.
func (e *Engine) persistLocked(fn *v1beta1.Function) error {
	b, err := encodeFunction(fn)
	if err != nil {
		return err
	}
	if err := e.store.Put(storeKey(fn.Namespace, fn.Name), b); err != nil {
		return fmt.Errorf("store function %q: %w", fn.Name, err)
	}
	return nil
}

// updateRoutesLocked installs the gateway's routing table.
func (e *Engine) updateRoutesLocked() {
	var r gateway.Routes
	for _, st := range e.fns {
		f := gateway.Function{
			Name:      st.fn.Name,
			Namespace: st.fn.Namespace,
			Backends:  append([]gateway.Backend(nil), st.backends...),
			OnDemand:  st.onDemand,
			Timeout:   timeout(st.fn),
		}
		if c := readyCondition(st.fn); c != nil {
			f.Status = c.Reason
			if c.Message != "" && c.Reason != reasonReady {
				f.Status += ": " + c.Message
			}
		}
		r.Functions = append(r.Functions, f)
	}
	r.Triggers = e.httpRoutesLocked()
	if err := e.gw.SetRoutes(r); err != nil {
		e.logger.Warn("gateway routes", "err", err)
	}
	e.syncEventsLocked()
}
