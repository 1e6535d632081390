// Package activator answers the calls of Kubernetes functions that are at
// zero replicas (docs/scale-to-zero.md). While a function is at zero, its
// Service's endpoints name the activator; a call is held here (a bounded
// number per function, for a bounded time), the function's Deployment is
// scaled to one replica, and once a pod is ready the held calls are
// forwarded to it. Past the bounds, or when the function cannot start, the
// call is answered with one line that says why (503 or 504), never
// dropped.
package activator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxHeld is how many calls of one function may wait for it to start
// (the local engine's gateway holds as many).
const DefaultMaxHeld = 1000

// DefaultHoldTimeout is how long a call waits for its function to start.
const DefaultHoldTimeout = 60 * time.Second

// Function names a function and the port of its pods that calls go to.
type Function struct {
	Namespace, Name string
	// TargetPort is the pods' port (the Service's targetPort).
	TargetPort int32
}

func (f Function) String() string { return f.Namespace + "/" + f.Name }

// Waker makes sure a function has a ready pod.
type Waker interface {
	// Wake scales fn up when it is at zero and returns the base URL of a
	// ready pod, waiting for one until ctx ends. A start that cannot
	// succeed (the Deployment is gone, a pod failed) is a *StartError.
	Wake(ctx context.Context, fn Function) (*url.URL, error)
}

// StartError says why a function could not start; its message is quoted
// in the 503 answer.
type StartError struct{ Reason string }

func (e *StartError) Error() string { return e.Reason }

// Options configure an Activator.
type Options struct {
	Waker Waker
	// MaxHeld bounds the calls of one function held at once
	// (DefaultMaxHeld when 0).
	MaxHeld int
	// HoldTimeout bounds how long a call is held (DefaultHoldTimeout when
	// 0).
	HoldTimeout time.Duration
	// Registry receives the activator's metrics (none when nil).
	Registry prometheus.Registerer
	Log      *slog.Logger
}

// Activator holds and forwards calls. Its counters say, per function, when
// it last saw a call, which the idle check uses.
type Activator struct {
	waker       Waker
	maxHeld     int
	holdTimeout time.Duration
	log         *slog.Logger
	transport   http.RoundTripper

	mu   sync.Mutex
	acts map[string]*activity

	calls    *prometheus.CounterVec
	held     *prometheus.GaugeVec
	wakeTime prometheus.Histogram
}

// activity is what the activator saw of one function's calls.
type activity struct {
	held     atomic.Int64
	inFlight atomic.Int64
	last     atomic.Int64 // unix nanoseconds
}

// New returns an Activator.
func New(opts Options) (*Activator, error) {
	if opts.Waker == nil {
		return nil, errors.New("activator: no Waker")
	}
	a := &Activator{
		waker: opts.Waker, maxHeld: opts.MaxHeld, holdTimeout: opts.HoldTimeout,
		log: opts.Log, acts: map[string]*activity{}, transport: http.DefaultTransport,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubeless_activator_calls_total",
			Help: "Calls received by the activator for functions at zero, by outcome (forwarded, queue_full, timeout, start_failed, client_gone).",
		}, []string{"outcome"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kubeless_activator_held_calls",
			Help: "Calls waiting for their function to start.",
		}, []string{"namespace", "function"}),
		wakeTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kubeless_activator_wake_seconds",
			Help:    "Time from a held call's arrival to a ready pod of its function.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60},
		}),
	}
	if a.maxHeld <= 0 {
		a.maxHeld = DefaultMaxHeld
	}
	if a.holdTimeout <= 0 {
		a.holdTimeout = DefaultHoldTimeout
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if opts.Registry != nil {
		for _, c := range []prometheus.Collector{a.calls, a.held, a.wakeTime} {
			if err := opts.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

func (a *Activator) activityOf(fn Function) *activity {
	a.mu.Lock()
	defer a.mu.Unlock()
	act, ok := a.acts[fn.String()]
	if !ok {
		act = &activity{}
		a.acts[fn.String()] = act
	}
	return act
}

// Forget drops the counters of a function that no longer routes here.
func (a *Activator) Forget(fn Function) {
	a.mu.Lock()
	delete(a.acts, fn.String())
	a.mu.Unlock()
	a.held.DeleteLabelValues(fn.Namespace, fn.Name)
}

// LastCall is when the activator last saw a call of fn begin or end, and
// how many are in its hands now (held or being forwarded).
func (a *Activator) LastCall(fn Function) (time.Time, int) {
	a.mu.Lock()
	act, ok := a.acts[fn.String()]
	a.mu.Unlock()
	if !ok {
		return time.Time{}, 0
	}
	var t time.Time
	if n := act.last.Load(); n != 0 {
		t = time.Unix(0, n)
	}
	return t, int(act.inFlight.Load())
}

// Handler returns the handler of fn's calls.
func (a *Activator) Handler(fn Function) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, fn) })
}

func (a *Activator) serve(w http.ResponseWriter, r *http.Request, fn Function) {
	act := a.activityOf(fn)
	act.last.Store(time.Now().UnixNano())
	act.inFlight.Add(1)
	defer func() {
		act.inFlight.Add(-1)
		act.last.Store(time.Now().UnixNano())
	}()
	target := a.hold(w, r, fn, act)
	if target == nil {
		return
	}
	a.calls.WithLabelValues("forwarded").Inc()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport: a.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			a.log.Warn("forward a held call", "function", fn.Name, "namespace", fn.Namespace, "err", err)
			textError(w, http.StatusBadGateway, fmt.Sprintf("function %q started but its pod did not answer: %v", fn.Name, err))
		},
	}
	proxy.ServeHTTP(w, r)
}

// hold waits for fn to have a ready pod and returns its URL; when it
// cannot, it answers the call and returns nil.
func (a *Activator) hold(w http.ResponseWriter, r *http.Request, fn Function, act *activity) *url.URL {
	if act.held.Add(1) > int64(a.maxHeld) {
		act.held.Add(-1)
		a.calls.WithLabelValues("queue_full").Inc()
		a.log.Warn("call refused: too many calls wait for the function to start", "function", fn.Name, "namespace", fn.Namespace, "held", a.maxHeld)
		w.Header().Set("Retry-After", "1")
		textError(w, http.StatusServiceUnavailable, fmt.Sprintf("function %q is starting and %d calls already wait for it: retry later", fn.Name, a.maxHeld))
		return nil
	}
	g := a.held.WithLabelValues(fn.Namespace, fn.Name)
	g.Inc()
	defer func() {
		act.held.Add(-1)
		g.Dec()
	}()
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), a.holdTimeout)
	defer cancel()
	u, err := a.waker.Wake(ctx, fn)
	if err == nil {
		a.wakeTime.Observe(time.Since(start).Seconds())
		return u
	}
	var se *StartError
	switch {
	case r.Context().Err() != nil:
		a.calls.WithLabelValues("client_gone").Inc()
		a.log.Debug("client went away while its function started", "function", fn.Name, "namespace", fn.Namespace)
	case errors.Is(err, context.DeadlineExceeded):
		a.calls.WithLabelValues("timeout").Inc()
		a.log.Warn("function did not start in time", "function", fn.Name, "namespace", fn.Namespace, "timeout", a.holdTimeout.String())
		textError(w, http.StatusGatewayTimeout, fmt.Sprintf("function %q was at zero instances and did not start within %s: the call was not sent to it", fn.Name, a.holdTimeout))
	case errors.As(err, &se):
		a.calls.WithLabelValues("start_failed").Inc()
		textError(w, http.StatusServiceUnavailable, fmt.Sprintf("function %q could not start: %s", fn.Name, firstLine(se.Reason)))
	default:
		a.calls.WithLabelValues("start_failed").Inc()
		a.log.Warn("function start", "function", fn.Name, "namespace", fn.Namespace, "err", err)
		textError(w, http.StatusServiceUnavailable, fmt.Sprintf("function %q could not start: %s", fn.Name, firstLine(err.Error())))
	}
	return nil
}

func textError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
