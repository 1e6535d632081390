package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/internal/engine/supervisor"
)

// Scale to zero on the local engine. A function whose autoscaler has
// minReplicas 0 starts with no instance once built (Ready, reason Idle),
// and goes back to none when the gateway saw no call of it for its idle
// window (the autoscaler's v1beta1.AnnotationIdleWindow, else
// Options.IdleWindow). Its route is then OnDemand: a call that finds no
// instance asks the engine (wake) to start one, and the gateway holds it,
// with the calls that arrive meanwhile, until the instance answers /healthz
// or the start fails. An idle function costs the daemon its stored spec,
// its route, and one parked goroutine; nothing runs for it.

// wakeWait is a start asked for by held calls; done closes when it is
// settled, with err nil when the function has a ready instance.
type wakeWait struct {
	done chan struct{}
	err  error
}

// wakeChanLocked returns the channel that wakes the function's reconcile
// goroutine at zero.
func (st *fnState) wakeChanLocked() chan struct{} {
	if st.wakeCh == nil {
		st.wakeCh = make(chan struct{}, 1)
	}
	return st.wakeCh
}

// settleWakeLocked answers the held calls once the function has a ready
// instance or its start failed.
func (st *fnState) settleWakeLocked() {
	w := st.waking
	if w == nil {
		return
	}
	c := readyCondition(st.fn)
	switch {
	case len(st.backends) > 0:
	case c != nil && (v1beta1.IsFailureReason(c.Reason) || v1beta1.IsBadInputReason(c.Reason)):
		w.err = &gateway.WakeError{Reason: c.Message}
	default:
		return
	}
	st.waking = nil
	close(w.done)
}

// wake implements gateway.Options.Wake: it asks the function's reconcile
// goroutine to start an instance and waits until it is ready or failed.
func (e *Engine) wake(ctx context.Context, ns, name string) error {
	k := fnKey(ns, name)
	e.mu.Lock()
	st, ok := e.fns[k]
	if !ok {
		e.mu.Unlock()
		return &gateway.WakeError{Reason: "the function was deleted"}
	}
	if len(st.backends) > 0 {
		e.mu.Unlock()
		return nil
	}
	if c := readyCondition(st.fn); c != nil && c.Reason != reasonInstanceFailed &&
		(v1beta1.IsFailureReason(c.Reason) || v1beta1.IsBadInputReason(c.Reason)) {
		// No start can help (a failed build): say why at once.
		e.mu.Unlock()
		return &gateway.WakeError{Reason: c.Message}
	}
	if st.waking == nil {
		st.waking = &wakeWait{done: make(chan struct{})}
	}
	w := st.waking
	ch := st.wakeChanLocked()
	e.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default: // already signalled
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hasWaiter reports whether calls wait for the function to start.
func (e *Engine) hasWaiter(k string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.fns[k]
	return ok && st.waking != nil
}

// idleWindow is the function's idle window.
func (e *Engine) idleWindow(p *scalePolicy) time.Duration {
	if p != nil && p.idle > 0 {
		return p.idle
	}
	return e.opts.IdleWindow
}

// scaledToZero records that generation gen runs no instance: Ready, reason
// Idle, and its route starts one on demand. Unless keepReason, the
// condition becomes Idle (a failed start keeps its reason, so that ls and
// describe say why).
func (e *Engine) scaledToZero(ctx context.Context, k string, gen int64, keepReason bool) bool {
	return e.update(ctx, k, gen, func(st *fnState) {
		if !keepReason {
			setCondition(st.fn, reasonIdle, "no instance runs: the next call starts one")
		}
		st.fn.Status.SetReplicas(0, 0)
		st.backends = nil
		st.serving = false
		st.onDemand = true
	})
}

// waitForCall parks the reconcile goroutine of a function at zero until a
// held call asks for an instance, or its autoscaler stops allowing zero; it
// returns false when ctx ends.
func (e *Engine) waitForCall(ctx context.Context, k string) bool {
	e.mu.Lock()
	st, ok := e.fns[k]
	if !ok {
		e.mu.Unlock()
		<-ctx.Done()
		return false
	}
	ch := st.wakeChanLocked()
	e.mu.Unlock()
	for {
		if e.hasWaiter(k) {
			return true
		}
		if p, _ := e.currentPolicy(k); p == nil || p.min > 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
}

// wakeClient asks a starting instance for /healthz. The engine bound the
// instance's socket before starting it, so a request waits in the socket's
// backlog until the instance serves, and the instance answers it once the
// function is loaded (contract.HeaderInstanceWaitReady): the answer comes
// as soon as it is ready, with no polling interval added to a cold start.
// Past the timeout (a load slower than that) the engine asks again.
var wakeClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// wakePoll is the pause between two failed health checks of a starting
// instance (a refused or timed-out request).
var wakePoll = 5 * time.Millisecond

// waitStarted waits until instance in answers /healthz; it returns why it
// will not (it exited, or did not answer within the start timeout).
func (e *Engine) waitStarted(ctx context.Context, in instance) error {
	deadline := time.Now().Add(e.opts.StartTimeout)
	for {
		if checkHealth(ctx, wakeClient, in, true) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s, err := e.sup.Status(in.name); err == nil && s.LastExit != nil &&
			(s.State == supervisor.StateBackoff || s.State == supervisor.StateFailed || s.State == supervisor.StateStopped) {
			msg := fmt.Sprintf("the instance %s while starting", s.LastExit)
			if out := lastLines(s.Output, 10); out != "" {
				// The last line first: the gateway's answer quotes
				// only the first line.
				msg += " (" + lastLines(s.Output, 1) + "):\n" + out
			}
			return errors.New(msg)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the instance did not answer /healthz within %s", e.opts.StartTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wakePoll):
		}
	}
}

// drainCalls waits, after the routes stopped naming the instances, until
// the calls already sent to them are answered (held calls excepted, as
// they wait for a new instance), at most the function's timeout.
func (e *Engine) drainCalls(ctx context.Context, ns, name string, limit time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(drainDelay):
	}
	end := time.Now().Add(limit)
	for time.Now().Before(end) && ctx.Err() == nil {
		a := e.gw.Activity(ns, name)
		if a.InFlight-a.Held <= 0 {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// recordScale adds a scale event to the function's status and calls the
// test hook.
func (e *Engine) recordScale(ctx context.Context, k string, gen int64, from, to int, reason string, log *slog.Logger) {
	ev := v1beta1.ScaleEvent{Time: nowMeta(), From: int32(from), To: int32(to), Reason: reason}
	log.Info("scaled function", "from", from, "to", to, "reason", reason)
	e.update(ctx, k, gen, func(st *fnState) { st.fn.Status.AddScaleEvent(ev) })
	if h := e.scaleHook; h != nil {
		h(k, ev)
	}
}

// startFromZero starts one instance for the held calls of a function at
// zero and waits until it answers; it reports whether it serves. A start
// that fails is recorded as the Ready condition (InstanceFailed, with the
// instance's last lines), which answers the held calls.
func (e *Engine) startFromZero(ctx context.Context, k string, gen int64, startInst func(int) error, insts *[]instance, log *slog.Logger) bool {
	// A few starts at a time: a hundred functions called at once on a
	// small machine would otherwise all compete for the cores and all
	// answer late; this way the first ones answer at once.
	select {
	case e.starts <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	err := startInst(0)
	if err == nil {
		err = e.waitStarted(ctx, (*insts)[0])
	}
	<-e.starts
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		for _, in := range *insts {
			e.stopInstance(in, log)
		}
		*insts = nil
		log.Warn("start from zero failed", "err", firstLineOf(err.Error()))
		e.update(ctx, k, gen, func(st *fnState) {
			setCondition(st.fn, reasonInstanceFailed, "starting an instance for a call failed: "+err.Error())
			st.fn.Status.SetReplicas(1, 0)
			st.backends = nil
			st.serving = false
			st.onDemand = true
		})
		e.recordScale(ctx, k, gen, 0, 0, "a call came but the instance failed to start", log)
		return false
	}
	in := (*insts)[0]
	e.setPhase(ctx, k, gen, reasonReady, "", 1, 1, []gateway.Backend{in.backend()})
	e.recordScale(ctx, k, gen, 0, 1, "a call came", log)
	return true
}

// stopAtZero stops every instance of a function idle for window: the
// routes stop naming them first, then the calls sent to them finish.
func (e *Engine) stopAtZero(ctx context.Context, k string, gen int64, fn *v1beta1.Function, insts *[]instance, window time.Duration, log *slog.Logger) {
	from := len(*insts)
	e.scaledToZero(ctx, k, gen, false)
	e.drainCalls(ctx, fn.Namespace, fn.Name, timeout(fn))
	for _, in := range *insts {
		e.stopInstance(in, log)
	}
	*insts = nil
	e.recordScale(ctx, k, gen, from, 0, fmt.Sprintf("no call for %s", window), log)
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
