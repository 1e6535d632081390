package engine

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/internal/engine/supervisor"
	"github.com/kubeless/kubeless/internal/gobuild"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/localrt"

	"github.com/kubeless/kubeless/pkg/contract"
)

// buildingMsg is the Building condition's message; a build step is added
// as "<buildingMsg>: <step>" for people, and set in status.buildStep for
// programs (the CLI reads the field, never the message).
const buildingMsg = "building the function"

// pollInterval is how often instances' /healthz is asked.
var pollInterval = 200 * time.Millisecond

type instance struct {
	name     string // supervisor process name
	url      string
	token    string   // the engine's requests carry it; the instance refuses others
	listener *os.File // the socket the engine bound for it
}

// startReconcileLocked starts a reconcile goroutine for the function's
// current generation. A rolling update: a previous generation whose
// instances serve calls keeps serving until the new one is ready (or has
// failed), then drains (see retireOlder); one that never served is
// cancelled at once.
func (e *Engine) startReconcileLocked(k string) {
	st := e.fns[k]
	if st.cancel != nil {
		if st.serving {
			st.older = append(st.older, generation{cancel: st.cancel, done: st.done})
		} else {
			st.cancel()
			st.older = append(st.older, generation{cancel: st.cancel, done: st.done})
		}
	}
	st.serving = false
	ctx, cancel := context.WithCancel(e.runCtx)
	done := make(chan struct{})
	st.cancel, st.done = cancel, done
	fn := st.fn.DeepCopy()
	e.reconcile.Add(1)
	go func() {
		defer e.reconcile.Done()
		defer close(done)
		defer cancel()
		e.run(ctx, k, fn)
	}()
}

// generation is a reconcile goroutine that is no longer the current one.
type generation struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// drainDelay is how long the instances of a replaced generation keep
// running after the routes moved to the new one, so that calls that picked
// one of them just before the switch still reach it.
var drainDelay = time.Second

// retireOlder stops the generations older than gen of function k, when gen
// still is the current one: after drainDelay when gen just took over the
// routes (drain), at once otherwise; it waits until their instances are
// stopped.
func (e *Engine) retireOlder(k string, gen int64, drain bool) {
	if drain {
		time.Sleep(drainDelay)
	}
	e.mu.Lock()
	var older []generation
	if st, ok := e.fns[k]; ok && st.fn.Generation == gen {
		older, st.older = st.older, nil
	}
	e.mu.Unlock()
	if len(older) == 0 {
		return
	}
	if drain {
		e.gw.CloseIdleConnections()
	}
	for _, g := range older {
		g.cancel()
	}
	for _, g := range older {
		<-g.done
	}
}

// update applies mutate to the function's stored copy if it still is at
// generation gen and ctx is live, persists it and refreshes the routes.
func (e *Engine) update(ctx context.Context, k string, gen int64, mutate func(st *fnState)) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.fns[k]
	if !ok || ctx.Err() != nil || st.fn.Generation != gen || e.store == nil {
		return false
	}
	fn := st.fn.DeepCopy()
	st2 := &fnState{fn: fn, backends: st.backends, serving: st.serving, onDemand: st.onDemand}
	mutate(st2)
	fn.Status.ObservedGeneration = gen
	st.fn, st.backends, st.serving, st.onDemand = fn, st2.backends, st2.serving, st2.onDemand
	e.updateRoutesLocked()
	st.settleWakeLocked() // held calls go on before the status is written
	if err := e.persistLocked(fn); err != nil {
		e.logger.Error("persist function status", "function", fn.Name, "err", err)
	}
	return true
}

func (e *Engine) setPhase(ctx context.Context, k string, gen int64, reason, msg string, desired, ready int32, backends []gateway.Backend) bool {
	return e.update(ctx, k, gen, func(st *fnState) {
		setCondition(st.fn, reason, msg)
		st.fn.Status.SetReplicas(desired, ready)
		st.backends = backends
		st.serving = len(backends) > 0
	})
}

// setPending records a step of a generation that is not ready yet; the
// routes keep the previous generation's instances.
func (e *Engine) setPending(ctx context.Context, k string, gen int64, reason, msg string, desired int32) {
	e.setBuildStep(ctx, k, gen, reason, msg, "", desired)
}

// setBuildStep is setPending with the build step in progress ("" for none)
// in status.buildStep.
func (e *Engine) setBuildStep(ctx context.Context, k string, gen int64, reason, msg string, step langruntime.BuildStep, desired int32) {
	e.update(ctx, k, gen, func(st *fnState) {
		setCondition(st.fn, reason, msg)
		st.fn.Status.BuildStep = string(step)
		st.fn.Status.SetReplicas(desired, 0)
	})
}

// failGeneration records why generation gen cannot serve: no instance is
// routed any more and the older generations stop.
func (e *Engine) failGeneration(ctx context.Context, k string, gen int64, reason, msg string, desired, ready int32) {
	e.setPhase(ctx, k, gen, reason, msg, desired, ready, nil)
	e.retireOlder(k, gen, false)
}

// run reconciles one generation of a function until ctx ends, then stops
// the instances it started.
func (e *Engine) run(ctx context.Context, k string, fn *v1beta1.Function) {
	gen := fn.Generation
	log := e.logger.With("function", fn.Name, "namespace", fn.Namespace, "generation", gen)
	n := replicas(fn)
	if p, _ := e.currentPolicy(k); p != nil {
		n = int32(p.min)
	}
	// A runtime name of the original's catalog (python3.7) runs on the
	// nearest version; the status says which.
	runtime := fn.Spec.Runtime
	if entry, err := e.opts.Catalog.Lookup(runtime); err == nil {
		runtime = entry.Name()
		e.update(ctx, k, gen, func(st *fnState) {
			st.fn.Status.SetRuntimeSubstitution(entry.Substitution(), gen)
		})
	}
	// Calls wait for this generation only if it may run no instance.
	e.update(ctx, k, gen, func(st *fnState) { st.onDemand = st.onDemand && n == 0 })
	e.setPending(ctx, k, gen, reasonBuilding, buildingMsg, n)

	userVars, memory := userEnv(fn)
	// A copy of the builder (a plain value) reports this build's steps.
	builder := *e.builder
	builder.OnPhase = func(step langruntime.BuildStep) {
		e.setBuildStep(ctx, k, gen, reasonBuilding, buildingMsg+": "+string(step), step, n)
	}
	var res *build.Result
	var err error
	for attempt := 0; ; attempt++ {
		release, serr := e.buildSlot(ctx)
		if serr != nil {
			return
		}
		res, err = builder.Build(ctx, build.Function{
			Name: fn.Name, Runtime: fn.Spec.Runtime, Handler: fn.Spec.Handler,
			Function: fn.Spec.Function, ContentType: fn.Spec.FunctionContentType,
			Checksum: fn.Spec.Checksum, Deps: fn.Spec.Deps, Env: userVars,
		})
		release()
		if err == nil || ctx.Err() != nil || !transientBuildError(err) {
			break
		}
		delay := buildRetryDelay(attempt)
		first := retryReason(err)
		log.Warn("build failed, will retry", "err", first, "retry_in", delay.String(), "attempt", attempt+1)
		e.setPending(ctx, k, gen, reasonBuilding, fmt.Sprintf("%s: retry %d in %s after a failure that may pass: %s", buildingMsg, attempt+1, delay, first), n)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		msg := err.Error()
		var pe *build.PhaseError
		if errors.As(err, &pe) && pe.Output != "" && !strings.Contains(msg, pe.Output) {
			msg += "\n" + pe.Output
		}
		log.Warn("build failed", "err", strings.SplitN(msg, "\n", 2)[0])
		e.failGeneration(ctx, k, gen, reasonBuildFailed, msg, n, 0)
		<-ctx.Done()
		return
	}
	log.Info("built", "dir", res.Dir, "cached", res.Cached)
	// Found once per runtime by the daemon, not by each instance start.
	interp := e.interps.get(ctx, res.Entry)
	cmd := instanceExec(e.opts.SelfExe, runtime, res)
	hostEnv, expose := e.hostCommand(interp, res, &cmd, log)
	defer e.cacheUse.use(res.Key, res.Dir)() // not pruned while it runs

	e.setPending(ctx, k, gen, reasonStarting, "starting instances", n)
	var insts []instance
	defer func() {
		for _, in := range insts {
			e.stopInstance(in, log)
		}
	}()
	// startInst starts instance i.
	startInst := func(i int) error {
		// The engine binds the port and hands the socket to the instance
		// (fd 3): nothing else can take the port between a choice and a
		// bind, and the socket outlives the instance's restarts.
		lf, port, err := bindInstance()
		if err != nil {
			return fmt.Errorf("instance %d: %w", i, err)
		}
		token, err := newToken()
		if err != nil {
			lf.Close()
			return fmt.Errorf("instance %d: %w", i, err)
		}
		env := e.instanceBaseEnv()
		for _, ev := range res.Env {
			env = append(env, ev.Name+"="+ev.Value)
		}
		env = append(env, userVars...)
		env = append(env,
			contract.EnvModName+"="+res.Handler.Module,
			contract.EnvFuncHandler+"="+res.Handler.Function,
			contract.EnvFuncPort+"="+strconv.Itoa(port),
			contract.EnvListenAddress+"=127.0.0.1",
			contract.EnvListenFD+"=3",
			contract.EnvInstanceToken+"="+token,
			contract.EnvInstallVolume+"="+res.Dir,
			contract.EnvFuncTimeout+"="+strconv.Itoa(int(timeout(fn)/time.Second)),
			contract.EnvFuncRuntime+"="+fn.Spec.Runtime,
			contract.EnvFuncMemoryLimit+"="+memory,
			"PYTHONDONTWRITEBYTECODE=1",
			contract.EnvCORS+"=off",
		)
		if interp != "" {
			env = append(env, localrt.EnvInterpreter+"="+interp)
		}
		env = setDefaults(env, hostEnv)
		// The generation in the name: a rolling update runs two at once.
		name := fmt.Sprintf("%s/%d.%d", k, gen, i)
		args, err := e.instanceCommand(name, cmd, res.Dir, expose, fn)
		if err != nil {
			lf.Close()
			return fmt.Errorf("instance %d: %w", i, err)
		}
		spec := supervisor.Spec{
			Name:       name,
			Args:       args,
			Env:        env,
			Dir:        res.Dir,
			ExtraFiles: []*os.File{lf},
			LogPath:    filepath.Join(e.logDir(fn.Namespace, fn.Name), strconv.Itoa(i)+".log"),
			Restart:    supervisor.RestartAlways,
		}
		if err := e.sup.Start(spec); err != nil {
			lf.Close()
			e.sandbox.Kill(name)
			return fmt.Errorf("instance %d: %w", i, err)
		}
		insts = append(insts, instance{name: name, url: "http://127.0.0.1:" + strconv.Itoa(port), token: token, listener: lf})
		return nil
	}
	// One instance that cannot start does not keep the others from
	// serving; the function fails only if none starts.
	var startErrs []string
	for i := range int(n) {
		if err := startInst(i); err != nil {
			log.Warn("instance not started", "instance", i, "err", err)
			startErrs = append(startErrs, err.Error())
		}
	}
	if n > 0 && len(insts) == 0 {
		e.failGeneration(ctx, k, gen, reasonInstanceFailed, strings.Join(startErrs, "\n"), n, 0)
		<-ctx.Done()
		return
	}

	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(e.opts.StartTimeout)
	started := false
	lastReady := -1
	failedStart := false       // the last start from zero failed
	exited := map[int]string{} // instances that exited while starting: why
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var sampler scaleSampler
	nextScale := time.Now().Add(autoscaleInterval)
	activeSince := time.Now() // for the idle window: when the instances started
	for {
		if p, _ := e.currentPolicy(k); p != nil && p.min == 0 && len(insts) == 0 && (started || n == 0) {
			// At zero: park until a call comes, then start one instance
			// for it.
			first := !started
			started = true
			if e.scaledToZero(ctx, k, gen, !first && failedStart) && first {
				go e.retireOlder(k, gen, true) // the routes moved here
			}
			if !e.waitForCall(ctx, k) {
				return
			}
			if p, _ := e.currentPolicy(k); p == nil || p.min > 0 {
				n = 0 // the bounds changed: rescale starts the instances
				nextScale = time.Now()
			} else {
				failedStart = !e.startFromZero(ctx, k, gen, startInst, &insts, log)
				if ctx.Err() != nil {
					return
				}
				if failedStart {
					continue
				}
				n, lastReady = 1, 1
				sampler = scaleSampler{}
				nextScale = time.Now().Add(autoscaleInterval)
				activeSince = time.Now()
			}
		}
		if started && len(insts) > 0 {
			act := e.gw.Activity(fn.Namespace, fn.Name)
			sampler.observe(act.InFlight)
			if p, _ := e.currentPolicy(k); p != nil && p.min == 0 && act.InFlight == 0 {
				last := activeSince
				if act.Last.After(last) {
					last = act.Last
				}
				if window := e.idleWindow(p); time.Since(last) >= window {
					e.stopAtZero(ctx, k, gen, fn, &insts, window, log)
					if ctx.Err() != nil {
						return
					}
					failedStart = false
					continue
				}
			}
		}
		if started && time.Now().After(nextScale) {
			nextScale = time.Now().Add(autoscaleInterval)
			if e.rescale(ctx, k, gen, &sampler, &insts, startInst, log) {
				lastReady = -1 // report the new count
			}
			n = int32(len(insts))
		}
		var backends []gateway.Backend
		for i, in := range insts {
			if !started && exited[i] == "" {
				// An instance that exits while starting is left to its
				// restarts; the function fails if every instance does.
				if s, err := e.sup.Status(in.name); err == nil && s.LastExit != nil &&
					(s.State == supervisor.StateBackoff || s.State == supervisor.StateFailed || s.State == supervisor.StateStopped) {
					msg := fmt.Sprintf("instance %d %s while starting", i, s.LastExit)
					if out := lastLines(s.Output, 10); out != "" {
						msg += ":\n" + out
					}
					log.Warn("instance failed", "instance", in.name, "reason", s.LastExit.String())
					exited[i] = msg
				}
			}
			if healthy(ctx, hc, in) {
				backends = append(backends, in.backend())
			}
		}
		if ctx.Err() != nil {
			return
		}
		ready := len(backends)
		if !started && len(exited) == len(insts) {
			e.failGeneration(ctx, k, gen, reasonInstanceFailed, exited[0]+startProblems(startErrs, exited, 0), n, 0)
			for _, in := range insts {
				_ = e.sup.Stop(in.name, e.opts.StopGrace)
			}
			<-ctx.Done()
			return
		}
		switch {
		case !started && ready == int(n):
			started = true
			log.Info("function ready", "instances", ready)
			if e.setPhase(ctx, k, gen, reasonReady, "", n, int32(ready), backends) {
				// The routes moved here: the previous generation drains.
				go e.retireOlder(k, gen, true)
			}
		case !started && ready > 0 && (ready+len(exited) == len(insts) || time.Now().After(deadline)):
			// Serve with the instances that started.
			started = true
			log.Warn("function partly ready", "instances", ready, "desired", n)
			if e.setPhase(ctx, k, gen, reasonNotReady, fmt.Sprintf("%d of %d instances ready", ready, n)+
				startProblems(startErrs, exited, -1), n, int32(ready), backends) {
				go e.retireOlder(k, gen, true)
			}
			lastReady = ready
		case !started && time.Now().After(deadline):
			msg := fmt.Sprintf("%d of %d instances answered /healthz within %s", ready, len(insts), e.opts.StartTimeout)
			if s, err := e.sup.Status(insts[0].name); err == nil {
				if out := lastLines(s.Output, 10); out != "" {
					msg += ":\n" + out
				}
			}
			e.setPhase(ctx, k, gen, reasonInstanceFailed, msg, n, int32(ready), backends)
			e.retireOlder(k, gen, false)
			<-ctx.Done()
			return
		case started && ready != lastReady:
			if ready == int(n) {
				e.setPhase(ctx, k, gen, reasonReady, "", n, int32(ready), backends)
			} else {
				e.setPhase(ctx, k, gen, reasonNotReady, fmt.Sprintf("%d of %d instances ready", ready, n), n, int32(ready), backends)
			}
		}
		if started {
			lastReady = ready
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if started {
			// After start, check once a second.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second - pollInterval):
			}
		}
	}
}

// instanceExec is the command of an instance of the build res of runtime
// rt: `self runtime run rt`, but a Go function's server that the build
// compiled starts as it is (runtime run would only check it and exec it,
// after the start of this whole binary).
func instanceExec(self, rt string, res *build.Result) []string {
	if res.Entry.Runtime != nil && res.Entry.Runtime.ID == "go" {
		if bin, ok := gobuild.Prebuilt(res.Dir); ok {
			return []string{bin}
		}
	}
	return []string{self, "runtime", "run", rt}
}

// startProblems lists, one a line, the instances that could not start and
// those that exited while starting, but the one numbered skip.
func startProblems(startErrs []string, exited map[int]string, skip int) string {
	var b strings.Builder
	for _, m := range startErrs {
		b.WriteString("\n" + m)
	}
	for i, m := range exited {
		if i != skip {
			b.WriteString("\n" + m)
		}
	}
	return b.String()
}

// backend is the instance as the gateway and the metrics scrape call it.
func (in instance) backend() gateway.Backend {
	return gateway.Backend{URL: in.url, Token: in.token}
}

// healthy reports whether the instance answers /healthz with 200 and
// proves it holds its token: it answers a fresh nonce with
// contract.InstanceProof. The token goes with the request (the instance
// refuses requests without it), never with the answer: an answer without
// the proof comes from another process that took the port.
func healthy(ctx context.Context, hc *http.Client, in instance) bool {
	return checkHealth(ctx, hc, in, false)
}

// checkHealth is healthy; with waitLoad, a loading instance answers once
// the function is loaded (or hc's timeout passes) rather than at once.
func checkHealth(ctx context.Context, hc *http.Client, in instance, waitLoad bool) bool {
	if in.token == "" {
		return false
	}
	nonce, err := newToken()
	if err != nil {
		return false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.url+"/healthz", nil)
	if err != nil {
		return false
	}
	req.Header.Set(contract.HeaderInstanceToken, in.token)
	req.Header.Set(contract.HeaderInstanceNonce, nonce)
	if waitLoad {
		req.Header.Set(contract.HeaderInstanceWaitReady, "1")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	want := contract.InstanceProof(in.token, nonce)
	return resp.StatusCode == http.StatusOK &&
		subtle.ConstantTimeCompare([]byte(resp.Header.Get(contract.HeaderInstanceProof)), []byte(want)) == 1
}

// stopInstance stops and forgets an instance, ends what is left in its
// cgroups and closes its socket.
func (e *Engine) stopInstance(in instance, log *slog.Logger) {
	if err := e.sup.Remove(in.name, e.opts.StopGrace); err != nil && !errors.Is(err, supervisor.ErrNotFound) {
		log.Warn("stop instance", "instance", in.name, "err", err)
	}
	e.sandbox.Kill(in.name) // what left its process group
	if in.listener != nil {
		in.listener.Close()
	}
}

// bindInstance binds a port on 127.0.0.1 for an instance and returns the
// listening socket as a file to hand over, and its port.
func bindInstance() (*os.File, int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, fmt.Errorf("listen: %w", err)
	}
	defer l.Close() // the file is a descriptor of its own on the same socket
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		return nil, 0, fmt.Errorf("listener file: %w", err)
	}
	return f, l.Addr().(*net.TCPAddr).Port, nil
}

// newToken returns a random per-instance token.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("instance token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
