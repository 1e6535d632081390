package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTimeoutGrace is how long past a function's timeout the gateway
// waits before it answers 504, so that the instance's own 408 gets through.
const DefaultTimeoutGrace = time.Second

// Options configures a Gateway. The zero value is usable.
type Options struct {
	// Logger receives unreachable instances, timeouts and retries. Nil
	// discards them.
	Logger *slog.Logger
	// Transport sends requests to instances. Nil means a transport suited to
	// instances on this machine: no proxy from the environment, no
	// transparent compression, a 5 second connect timeout and a pool of
	// idle connections per instance.
	Transport http.RoundTripper
	// TimeoutGrace is added to a function's timeout; zero means
	// DefaultTimeoutGrace.
	TimeoutGrace time.Duration
	// Wake starts an instance of a function whose route is OnDemand and
	// has no backend, and returns once the routes have a ready instance
	// of it (nil), the start failed (a *WakeError says why) or ctx ended.
	// Nil: such a function answers 503 like any other without backends.
	Wake func(ctx context.Context, ns, name string) error
	// MaxHeld bounds the calls of one function that wait for it to
	// start; zero means DefaultMaxHeld.
	MaxHeld int
	// HoldTimeout is how long a call waits for its function to start;
	// zero means DefaultHoldTimeout.
	HoldTimeout time.Duration
}

// Gateway is an http.Handler that routes requests to function instances
// according to its routing table. It is safe for concurrent use; the table
// can be replaced at any time with SetRoutes.
type Gateway struct {
	log    *slog.Logger
	grace  time.Duration
	proxy  *httputil.ReverseProxy
	routes atomic.Pointer[table]
	logins *loginLimiter

	wake        func(ctx context.Context, ns, name string) error
	maxHeld     int
	holdTimeout time.Duration
	acts        sync.Map // fnKey → *activity
}

// New returns a Gateway with an empty routing table: every function is
// unknown until SetRoutes is called.
func New(opts Options) *Gateway {
	g := &Gateway{log: opts.Logger, grace: opts.TimeoutGrace, logins: newLoginLimiter(),
		wake: opts.Wake, maxHeld: opts.MaxHeld, holdTimeout: opts.HoldTimeout}
	if g.maxHeld <= 0 {
		g.maxHeld = DefaultMaxHeld
	}
	if g.holdTimeout <= 0 {
		g.holdTimeout = DefaultHoldTimeout
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.grace <= 0 {
		g.grace = DefaultTimeoutGrace
	}
	base := opts.Transport
	if base == nil {
		base = newTransport()
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      &failover{base: base, log: g.log},
		ModifyResponse: modifyResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	g.routes.Store(&table{})
	return g
}

func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// SetRoutes replaces the routing table. Requests already being served keep
// the table they started with.
//
// Problems are returned joined, one per entry, and do not stop the rest of
// the table from being installed: a function without a name or listed twice
// is left out, a backend that is not a base URL is dropped, a trigger that
// repeats another's host and path is left out, and a trigger whose basic
// auth cannot be used answers 500 rather than letting requests through
// unauthenticated.
func (g *Gateway) SetRoutes(r Routes) error {
	t, err := compile(r)
	g.routes.Store(t)
	return err
}

// CloseIdleConnections closes the kept-alive connections to instances, for
// example after instances were stopped or when the gateway shuts down.
func (g *Gateway) CloseIdleConnections() {
	if c, ok := g.proxy.Transport.(*failover).base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// ServeHTTP routes and proxies one request; see the package documentation.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := g.routes.Load()
	if refuseSmuggling(w, r) {
		return
	}
	host := strings.TrimSuffix(strings.ToLower(stripPort(r.Host)), ".")
	if msg := t.checkHost(r, host); msg != "" {
		textError(w, http.StatusForbidden, msg)
		return
	}
	path := r.URL.EscapedPath()
	if len(t.anyHost) > 0 || len(t.byHost) > 0 {
		if tr, rest := t.matchTrigger(host, path); tr != nil {
			g.serveTrigger(w, r, tr, rest)
			return
		}
	}
	fn, rest, ns, name := t.lookupFunction(path)
	if fn == nil {
		if name == "" {
			textError(w, http.StatusNotFound, "no function in the path: call /<function>[/path] for namespace \"default\" or /<namespace>/<function>[/path]")
			return
		}
		notFound(w, ns, name)
		return
	}
	if len(fn.guards) > 0 && !g.authorizeByName(w, r, fn) {
		return
	}
	g.serveFunction(w, r, fn, rest, nil)
}

// authorizeByName applies the basic auth of the triggers that protect fn
// to a call by the function's name: the credentials of any of them pass.
// It answers the request itself and returns false when they do not.
func (g *Gateway) authorizeByName(w http.ResponseWriter, r *http.Request, fn *function) bool {
	for _, tr := range fn.guards {
		if tr.broken != "" {
			textError(w, http.StatusInternalServerError, tr.broken)
			return false
		}
	}
	realm := fn.guards[0].name
	user, pass, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm=`+strconv.Quote(realm))
		textError(w, http.StatusUnauthorized, fmt.Sprintf("function %q is protected by the basic auth of HTTP trigger %q: send the credentials of one of its users", fn.name, realm))
		return false
	}
	for _, tr := range fn.guards {
		if tr.auth.cached(user, pass) {
			return true
		}
	}
	if !g.allowLogin(w, r) {
		return false
	}
	for _, tr := range fn.guards {
		if tr.auth.check(user, pass) {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm=`+strconv.Quote(realm))
	textError(w, http.StatusUnauthorized, fmt.Sprintf("wrong user name or password for function %q (protected by HTTP trigger %q)", fn.name, realm))
	return false
}

// allowLogin takes a password check from the client's budget; when the
// budget is spent it answers 429 and returns false.
func (g *Gateway) allowLogin(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := g.logins.allow(r)
	if ok {
		return true
	}
	secs := int(wait/time.Second) + 1
	g.log.Warn("too many login attempts", "client", r.RemoteAddr)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	textError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed logins from this client: retry in %ds", secs))
	return false
}

func (g *Gateway) serveTrigger(w http.ResponseWriter, r *http.Request, tr *trigger, rest string) {
	if tr.broken != "" {
		textError(w, http.StatusInternalServerError, tr.broken)
		return
	}
	if tr.cors != nil && r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		preflight(w, r, tr)
		return
	}
	if tr.auth != nil {
		user, pass, ok := r.BasicAuth()
		switch {
		case !ok:
			w.Header().Set("WWW-Authenticate", `Basic realm=`+strconv.Quote(tr.name))
			textError(w, http.StatusUnauthorized, fmt.Sprintf("HTTP trigger %q requires basic authentication", tr.name))
			return
		case tr.auth.cached(user, pass):
		case !g.allowLogin(w, r):
			return
		case !tr.auth.check(user, pass):
			w.Header().Set("WWW-Authenticate", `Basic realm=`+strconv.Quote(tr.name))
			textError(w, http.StatusUnauthorized, fmt.Sprintf("wrong user name or password for HTTP trigger %q", tr.name))
			return
		}
	}
	if tr.fn == nil {
		notFound(w, tr.ns, tr.fnName)
		return
	}
	g.serveFunction(w, r, tr.fn, rest, tr.cors)
}

// ctxKey carries the *call from ServeHTTP to the proxy's hooks.
type ctxKey struct{}

// call is what the proxy hooks need to know about one request.
type call struct {
	fn     *function
	path   string // escaped path for the instance
	cors   *corsPolicy
	origin string // the request's Origin header
}

func (g *Gateway) serveFunction(w http.ResponseWriter, r *http.Request, fn *function, path string, cors *corsPolicy) {
	act := g.activityOf(fnKey{fn.ns, fn.name})
	act.inFlight.Add(1)
	act.touch()
	defer func() {
		act.touch()
		act.inFlight.Add(-1)
	}()
	if len(fn.backends) == 0 && fn.onDemand && g.wake != nil {
		if fn = g.hold(w, r, fn, act); fn == nil {
			return
		}
	}
	if len(fn.backends) == 0 {
		textError(w, http.StatusServiceUnavailable, fmt.Sprintf("function %q has no ready instance (status: %s)", fn.name, fn.status))
		return
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, &call{fn: fn, path: path, cors: cors, origin: r.Header.Get("Origin")})
	if fn.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fn.timeout+g.grace)
		defer cancel()
	}
	g.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// rewrite prepares the outbound request; the failover transport fills in
// the instance.
func rewrite(pr *httputil.ProxyRequest) {
	c := pr.Out.Context().Value(ctxKey{}).(*call)
	out := pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = "instance"
	if strings.IndexByte(c.path, '%') >= 0 {
		out.URL.RawPath = c.path
		if p, err := url.PathUnescape(c.path); err == nil {
			out.URL.Path = p
		} else {
			out.URL.Path, out.URL.RawPath = c.path, ""
		}
	} else {
		out.URL.Path, out.URL.RawPath = c.path, ""
	}
	out.Host = pr.In.Host
	if xff, ok := pr.In.Header["X-Forwarded-For"]; ok {
		out.Header["X-Forwarded-For"] = xff
	}
	pr.SetXForwarded()
}

func modifyResponse(resp *http.Response) error {
	c, _ := resp.Request.Context().Value(ctxKey{}).(*call)
	if c == nil {
		return nil
	}
	c.cors.apply(resp.Header, c.origin)
	return nil
}

// proxyError answers a request that got no response from an instance.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c := r.Context().Value(ctxKey{}).(*call)
	fn := c.fn
	switch {
	case errors.Is(r.Context().Err(), context.DeadlineExceeded):
		limit := fn.timeout + g.grace
		g.log.Warn("function timed out", "function", fn.name, "namespace", fn.ns, "timeout", limit.String())
		textError(w, http.StatusGatewayTimeout, fmt.Sprintf("function %q did not answer within %s", fn.name, limit))
	case r.Context().Err() != nil:
		// The client went away; nobody is left to answer.
		g.log.Debug("client went away", "function", fn.name, "namespace", fn.ns)
	default:
		g.log.Warn("function unreachable", "function", fn.name, "namespace", fn.ns, "error", err)
		textError(w, http.StatusBadGateway, fmt.Sprintf("function %q is unreachable: %s", fn.name, firstLine(err.Error())))
	}
}

func notFound(w http.ResponseWriter, ns, name string) {
	hint := "kubeless function deploy " + name
	if ns != DefaultNamespace {
		hint += " -n " + ns
	}
	textError(w, http.StatusNotFound, fmt.Sprintf("function %q not found in namespace %q: deploy it with %s", name, ns, hint))
}

// textError answers with one plain-text line.
func textError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}
