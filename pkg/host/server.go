package host

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kubeless/kubeless/pkg/contract"
)

// ErrQueueFull is answered 503: every invocation slot is busy and the queue
// of waiting invocations is full.
var ErrQueueFull = errors.New("too many requests: all invocation slots and the queue are full")

// Server is the HTTP side of the host: /healthz, /metrics, CORS preflight,
// and invocations with their time limit, concurrency limit, request log and
// metrics.
type Server struct {
	cfg      Config
	invoker  Invoker
	logger   *slog.Logger
	metrics  *metrics
	byMethod map[string]*methodMetrics
	gather   http.Handler
	log      *accessLog

	slots chan struct{} // one token per running invocation
	queue chan struct{} // one token per waiting invocation

	ready    atomic.Bool // the function is loaded
	draining atomic.Bool // SIGTERM received
	readyCh  chan struct{}
	inflight activeCalls

	onQueued   atomic.Pointer[func()]    // test hook: a call entered the queue
	onWaitLoad atomic.Pointer[func()]    // test hook: a /healthz waits for the load
	onBodyRead atomic.Pointer[func(int)] // test hook: n bytes of a body arrived
}

// NewServer returns a server for cfg that runs the function with inv. The
// contract metrics are registered on reg; the request log goes to logOut.
func NewServer(cfg Config, inv Invoker, reg *prometheus.Registry, logOut io.Writer, logger *slog.Logger) *Server {
	cfg = cfg.withDefaults(inv.DefaultConcurrency())
	s := &Server{
		cfg:     cfg,
		invoker: inv,
		logger:  logger,
		metrics: newMetrics(reg),
		gather:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		log:     &accessLog{w: logOut, json: cfg.LogJSON},
		slots:   make(chan struct{}, cfg.Concurrency),
		queue:   make(chan struct{}, cfg.Concurrency+cfg.QueueDepth),
		readyCh: make(chan struct{}),
	}
	s.byMethod = s.metrics.forMethods()
	return s
}

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// SetReady marks the function as loaded: /healthz answers 200 and waiting
// invocations proceed.
func (s *Server) SetReady() {
	if s.ready.CompareAndSwap(false, true) {
		close(s.readyCh)
	}
}

// StartDrain makes /healthz answer 503 and responses carry Connection: close.
func (s *Server) StartDrain() { s.draining.Store(true) }

// WaitIdle waits until no invocation is running, or ctx ends.
func (s *Server) WaitIdle(ctx context.Context) error {
	select {
	case <-s.inflight.idle():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP routes a request (docs/runtime-contract.md §1.2, §2.1, §7.2).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.InstanceToken != "" {
		// The local engine's instance: only the engine (its gateway, health
		// checks and metrics scrapes) knows the token. Anything else on the
		// machine that calls the port directly would bypass the gateway's
		// basic auth and Host checks.
		got := r.Header.Get(contract.HeaderInstanceToken)
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.InstanceToken)) != 1 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, errNotThroughGateway+"\n")
			return
		}
		r.Header.Del(contract.HeaderInstanceToken) // the function never sees it
	}
	switch r.URL.Path {
	case "/healthz":
		s.serveHealthz(w, r)
		return
	case "/metrics":
		s.gather.ServeHTTP(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead:
		s.serveInvoke(w, r)
	case http.MethodOptions:
		servePreflight(w, r, !s.cfg.NoCORS)
	default:
		w.Header().Set("Allow", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
		http.Error(w, "method "+r.Method+" is not supported: use GET, POST, PUT, PATCH, DELETE or HEAD", http.StatusMethodNotAllowed)
	}
}

// errNotThroughGateway answers a request without the instance token.
const errNotThroughGateway = "forbidden: this instance is reached through the kubeless gateway"

func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if nonce := r.Header.Get(contract.HeaderInstanceNonce); s.cfg.InstanceToken != "" && nonce != "" {
		// The engine's challenge: the proof shows that the token's owner
		// answers, without sending the token back.
		w.Header().Set(contract.HeaderInstanceProof, contract.InstanceProof(s.cfg.InstanceToken, nonce))
	}
	if s.cfg.InstanceToken != "" && r.Header.Get(contract.HeaderInstanceWaitReady) != "" && !s.ready.Load() {
		// The engine (it holds the token) waits for the load: answer when
		// it is done, or when the engine gives up.
		if hook := s.onWaitLoad.Load(); hook != nil {
			(*hook)()
		}
		select {
		case <-s.readyCh:
		case <-r.Context().Done():
		}
	}
	switch {
	case s.draining.Load():
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "draining\n")
	case !s.ready.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "loading\n")
	default:
		io.WriteString(w, "OK")
	}
}

// servePreflight answers a CORS preflight without calling the function.
func servePreflight(w http.ResponseWriter, r *http.Request, cors bool) {
	if !cors {
		w.WriteHeader(http.StatusOK)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if m := r.Header.Get("Access-Control-Request-Method"); m != "" {
		h.Set("Access-Control-Allow-Methods", m)
	}
	if hs := r.Header.Get("Access-Control-Request-Headers"); hs != "" {
		h.Set("Access-Control-Allow-Headers", hs)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) serveInvoke(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.inflight.add()
	defer s.inflight.done()
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	method := r.Method
	mm := s.byMethod[method].get()
	mm.calls.Inc()

	rw := newResponseWriter(w)
	rw.noCORS = s.cfg.NoCORS
	if !rw.noCORS {
		rw.header.Set("Access-Control-Allow-Origin", "*")
	}
	call := &Call{Request: r, Writer: rw}
	deadline := start.Add(s.cfg.Timeout)
	// The invocation's own deadline, not the connection's: a caller that
	// goes away does not stop the function before its time limit.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	o := s.run(ctx, call)
	elapsed := time.Since(start)
	if o.timedOut {
		mm.timeouts.Inc()
	}
	if o.failed {
		mm.failures.Inc()
	}
	mm.duration.Observe(elapsed.Seconds())
	st, n := rw.result()
	s.log.log(logEntry{
		Time: start, Remote: r.RemoteAddr, Method: method, URI: r.RequestURI, Proto: r.Proto,
		Status: st, Bytes: n, Referer: r.Referer(), UserAgent: r.UserAgent(),
		Duration: elapsed, EventID: call.Event.ID,
	})
	if o.abort {
		// The function had started its response when it failed or ran out
		// of time: cut the connection so the caller sees it is incomplete.
		panic(http.ErrAbortHandler)
	}
}

// outcome is how an invocation ended, for the metrics.
type outcome struct {
	failed, timedOut, abort bool
}

// run performs one invocation and answers the host's own statuses. It
// returns whether the function failed or timed out.
func (s *Server) run(ctx context.Context, call *Call) outcome {
	r, rw := call.Request, call.Writer
	answer := func(code int, msg string) outcome {
		rw.finish(code, msg+"\n")
		return outcome{}
	}
	timeout := func() outcome {
		return outcome{timedOut: true, abort: !rw.finish(http.StatusRequestTimeout, "Timeout exceeded")}
	}

	// Wait for a slot, bounded by the queue and the deadline.
	select {
	case s.queue <- struct{}{}:
	default:
		return answer(http.StatusServiceUnavailable, ErrQueueFull.Error())
	}
	defer func() { <-s.queue }()
	if hook := s.onQueued.Load(); hook != nil {
		(*hook)()
	}
	if !s.ready.Load() {
		select {
		case <-s.readyCh:
		case <-ctx.Done():
			return timeout()
		}
	}
	// The body is read before the call takes a slot, within the call's
	// deadline: a slow or lying client holds a connection and a place in
	// the queue, never a slot a function could run in.
	body, err := s.readBody(rw.w, r, ctx)
	if err != nil {
		rw.header.Set("Connection", "close")
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return answer(http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body is larger than the limit of %d bytes (%s)", s.cfg.MaxBody, contract.EnvFuncMaxBody))
		case errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil:
			return timeout()
		}
		return answer(http.StatusBadRequest, "cannot read request body: "+oneLine(err))
	}
	call.Body = body

	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return timeout()
	}
	defer func() { <-s.slots }()
	ct := r.Header.Get("Content-Type")
	if len(body) > 0 && isJSON(ct) {
		if !json.Valid(body) {
			var v any
			err := json.Unmarshal(body, &v)
			return answer(http.StatusBadRequest, "request body is not valid JSON (Content-Type: "+ct+"): "+oneLine(err))
		}
		call.JSON = true
	}
	call.Event = eventFor(r, ct, time.Now())

	err = s.invoker.Invoke(ctx, call)
	var fe *FunctionError
	switch {
	case err == nil:
		rw.finish(0, "")
		return outcome{}
	case errors.As(err, &fe):
		if fe.Answered {
			rw.finish(0, "")
			return outcome{failed: true}
		}
		return outcome{failed: true, abort: !rw.finish(http.StatusInternalServerError, "Error: "+fe.Message)}
	case ctx.Err() != nil:
		return timeout()
	default:
		return outcome{failed: true, abort: !rw.finish(http.StatusBadGateway, "function could not be run: "+oneLine(err))}
	}
}

// readBody reads the request body, at most MaxBody bytes, until ctx's
// deadline. The buffer grows with the bytes that arrive: a declared
// Content-Length reserves at most bodyChunk up front, so a client that
// declares a large body and sends little costs little.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, ctx context.Context) (_ []byte, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	limit := s.cfg.MaxBody
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	// The deadline is lifted once the body is read; after an error it stays,
	// so that the server does not wait for the rest of the body either.
	rc := http.NewResponseController(w)
	if d, ok := ctx.Deadline(); ok && rc.SetReadDeadline(d) == nil {
		defer func() {
			if err == nil {
				rc.SetReadDeadline(time.Time{}) //nolint:errcheck // best effort
			}
		}()
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	size := int64(512)
	if r.ContentLength > 0 {
		size = min(r.ContentLength+1, bodyChunk)
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if hook := s.onBodyRead.Load(); hook != nil && n > 0 {
			(*hook)(n)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// bodyChunk is the most a declared Content-Length reserves before the bytes
// arrive.
const bodyChunk = 16 << 10

func isJSON(contentType string) bool {
	if contentType == "" {
		return false
	}
	if contentType == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// eventFor fills in the event metadata, defaulting absent headers.
func eventFor(r *http.Request, contentType string, now time.Time) Event {
	h := r.Header
	e := Event{
		ID:        h.Get("Event-Id"),
		Type:      h.Get("Event-Type"),
		Time:      h.Get("Event-Time"),
		Namespace: h.Get("Event-Namespace"),
	}
	if e.ID == "" {
		e.ID = newID()
	}
	if e.Type == "" {
		e.Type = contentType
	}
	if e.Time == "" {
		e.Time = rfc3339(now)
	}
	return e
}

type cachedTime struct {
	sec int64
	s   string
}

var lastTime atomic.Pointer[cachedTime]

// rfc3339 formats now in RFC 3339 (UTC, seconds), once per second.
func rfc3339(now time.Time) string {
	sec := now.Unix()
	if c := lastTime.Load(); c != nil && c.sec == sec {
		return c.s
	}
	c := &cachedTime{sec: sec, s: now.UTC().Format(time.RFC3339)}
	lastTime.Store(c)
	return c.s
}

var idCounter atomic.Uint64
var idPrefix = func() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// newID returns a unique event id: a random per-process prefix and a counter.
func newID() string {
	var b [40]byte
	n := copy(b[:], idPrefix)
	return string(strconv.AppendUint(b[:n], idCounter.Add(1), 16))
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// listen returns the listener: the inherited one, or a new one on Addr.
func listen(cfg Config) (net.Listener, error) {
	if cfg.ListenFD >= 0 {
		return inheritedListener(cfg.ListenFD)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w (is another process using FUNC_PORT %s?)", cfg.Addr, unwrapSyscall(err), portOf(cfg.Addr))
	}
	return ln, nil
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func unwrapSyscall(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se interface{ Unwrap() error }
		if errors.As(oe.Err, &se) {
			return se.Unwrap()
		}
		return oe.Err
	}
	return err
}

// activeCalls counts the invocations running. Unlike a sync.WaitGroup, a
// call may start while another goroutine waits for the count to reach zero
// (a drain or a restart waits while new calls still arrive).
type activeCalls struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0; nil while n is 0
}

func (a *activeCalls) add() {
	a.mu.Lock()
	if a.n == 0 {
		a.zero = make(chan struct{})
	}
	a.n++
	a.mu.Unlock()
}

func (a *activeCalls) done() {
	a.mu.Lock()
	a.n--
	if a.n == 0 {
		close(a.zero)
		a.zero = nil
	}
	a.mu.Unlock()
}

// idle returns a channel that is closed once no invocation is running.
func (a *activeCalls) idle() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return a.zero
}
