package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Scale to zero. A Function with OnDemand set may have no backend: a call
// that finds none asks Options.Wake to start an instance and is held until
// Wake returns, then proxied with the routes Wake left. At most
// Options.MaxHeld calls of one function are held at once, each for at most
// Options.HoldTimeout; past those bounds, or when the start fails, the call
// is answered with one line saying why (503 or 504), never dropped.

// DefaultMaxHeld is how many calls of one function may wait for it to start.
const DefaultMaxHeld = 1000

// DefaultHoldTimeout is how long a call waits for its function to start.
const DefaultHoldTimeout = 60 * time.Second

// Activity is what the gateway saw of one function's calls.
type Activity struct {
	// InFlight counts the calls being served, held ones included.
	InFlight int
	// Held counts the calls waiting for an instance to start.
	Held int
	// Last is when a call last began or ended; zero if never.
	Last time.Time
}

// activity is the live counters of one function; it outlives the routing
// tables.
type activity struct {
	inFlight atomic.Int64
	held     atomic.Int64
	last     atomic.Int64 // unix nanoseconds
}

func (a *activity) touch() { a.last.Store(time.Now().UnixNano()) }

// activityOf returns the counters of the function, made on first use.
func (g *Gateway) activityOf(key fnKey) *activity {
	if a, ok := g.acts.Load(key); ok {
		return a.(*activity)
	}
	a, _ := g.acts.LoadOrStore(key, &activity{})
	return a.(*activity)
}

// Activity returns what the gateway saw of the calls of function name in
// namespace ns ("" for "default").
func (g *Gateway) Activity(ns, name string) Activity {
	a, ok := g.acts.Load(fnKey{namespaceOr(ns), name})
	if !ok {
		return Activity{}
	}
	act := a.(*activity)
	out := Activity{InFlight: int(act.inFlight.Load()), Held: int(act.held.Load())}
	if n := act.last.Load(); n != 0 {
		out.Last = time.Unix(0, n)
	}
	return out
}

// Forget drops the counters of a function that was deleted.
func (g *Gateway) Forget(ns, name string) { g.acts.Delete(fnKey{namespaceOr(ns), name}) }

// WakeError is what a Wake function returns when the start failed; its
// message is quoted in the 503 answer.
type WakeError struct{ Reason string }

func (e *WakeError) Error() string { return e.Reason }

// hold waits for fn, which has no backend, to be started by Options.Wake,
// and returns its fresh route; when it cannot, it answers the request and
// returns nil.
func (g *Gateway) hold(w http.ResponseWriter, r *http.Request, fn *function, act *activity) *function {
	if act.held.Add(1) > int64(g.maxHeld) {
		act.held.Add(-1)
		g.log.Warn("call refused: too many calls wait for the function to start", "function", fn.name, "namespace", fn.ns, "held", g.maxHeld)
		w.Header().Set("Retry-After", "1")
		textError(w, http.StatusServiceUnavailable, fmt.Sprintf("function %q is starting and %d calls already wait for it: retry later", fn.name, g.maxHeld))
		return nil
	}
	defer act.held.Add(-1)
	ctx, cancel := context.WithTimeout(r.Context(), g.holdTimeout)
	defer cancel()
	err := g.wake(ctx, fn.ns, fn.name)
	if err == nil {
		cur := g.routes.Load().functions[fnKey{fn.ns, fn.name}]
		switch {
		case cur == nil:
			notFound(w, fn.ns, fn.name)
			return nil
		case len(cur.backends) == 0:
			textError(w, http.StatusServiceUnavailable, fmt.Sprintf("function %q started but has no ready instance (status: %s)", fn.name, cur.status))
			return nil
		}
		return cur
	}
	var we *WakeError
	switch {
	case r.Context().Err() != nil:
		g.log.Debug("client went away while its function started", "function", fn.name, "namespace", fn.ns)
	case errors.Is(err, context.DeadlineExceeded):
		g.log.Warn("function did not start in time", "function", fn.name, "namespace", fn.ns, "timeout", g.holdTimeout.String())
		textError(w, http.StatusGatewayTimeout, fmt.Sprintf("function %q was at zero instances and did not start within %s: the call was not sent to it", fn.name, g.holdTimeout))
	case errors.As(err, &we):
		textError(w, http.StatusServiceUnavailable, fmt.Sprintf("function %q could not start: %s", fn.name, firstLine(we.Reason)))
	default:
		g.log.Warn("function start", "function", fn.name, "namespace", fn.ns, "err", err)
		textError(w, http.StatusServiceUnavailable, fmt.Sprintf("function %q could not start: %s", fn.name, firstLine(err.Error())))
	}
	return nil
}
