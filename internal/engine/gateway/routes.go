package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultNamespace is the namespace of functions addressed as /<function>,
// and the namespace of a Function or HTTPTrigger that names none.
const DefaultNamespace = "default"

// Routes is a complete routing table, installed with [Gateway.SetRoutes].
type Routes struct {
	// Functions are the deployed functions, whether they have a ready
	// instance or not (a function without one answers 503, not 404).
	Functions []Function
	// Triggers are the HTTP triggers; each names a function of its own
	// namespace.
	Triggers []HTTPTrigger
}

// Function is one deployed function and where its ready instances listen.
type Function struct {
	// Name is the function's name.
	Name string
	// Namespace is the function's namespace; empty means "default".
	Namespace string
	// Backends are the ready instances. Empty when no instance is ready.
	Backends []Backend
	// Status says why no instance is ready (for example "Building" or
	// "Failed: exit status 1"); it is quoted in the 503 answer. Only its
	// first line is used.
	Status string
	// OnDemand says that the function may run no instance (it scales to
	// zero): a call that finds no backend asks Options.Wake to start one
	// and waits for it.
	OnDemand bool
	// Timeout is the function's timeout. The gateway gives an instance this
	// long plus a grace period (Options.TimeoutGrace) to answer before it
	// answers 504 itself. Zero means no gateway deadline.
	Timeout time.Duration
}

// Backend is one ready instance of a function.
type Backend struct {
	// URL is the instance's base URL, scheme and host only, for example
	// "http://127.0.0.1:34567".
	URL string
	// Token, when set, is sent with every proxied request in the
	// X-Kubeless-Instance-Token header (contract.HeaderInstanceToken): an
	// instance of the local engine refuses requests without it, so that
	// nothing reaches it but through the gateway. A token a client sends
	// is never passed on.
	Token string
}

// HTTPTrigger exposes a function on a host name and path prefix, the local
// counterpart of an HTTPTrigger resource (docs/compatibility.md §1.3).
type HTTPTrigger struct {
	// Name is the trigger's name, used in messages and as the basic-auth
	// realm.
	Name string
	// Namespace is the namespace of the trigger and of its function; empty
	// means "default".
	Namespace string
	// Function is the name of the function the trigger calls.
	Function string
	// Host is the host name the trigger answers for, matched exactly
	// (case-insensitively, port ignored). Empty matches any host for which
	// no trigger names the host.
	Host string
	// Path is the path prefix, with or without slashes ("api" and "/api/"
	// are the same); empty or "/" matches every path. The prefix is replaced
	// by "/" before the request reaches the function.
	Path string
	// BasicAuth holds htpasswd lines ("user:hash"); when there is at least
	// one, requests must carry matching credentials, through the trigger
	// and also when the function is called by its name (/<function>),
	// unless OpenByName is set. See the package documentation for the
	// accepted hashes.
	BasicAuth []string
	// OpenByName leaves calls by the function's name without this trigger's
	// basic auth.
	OpenByName bool
	// CORS makes the trigger answer preflight requests and add
	// Access-Control-Allow-Origin to the function's answers, for the
	// origins in CORSOrigins (scheme://host[:port]; empty means any origin).
	// Without it, the trigger's answers carry no Access-Control-* header.
	CORS        bool
	CORSOrigins []string
}

// table is the compiled, immutable form of Routes.
type table struct {
	functions  map[fnKey]*function
	namespaces map[string]bool // namespaces with at least one function
	byHost     map[string][]*trigger
	anyHost    []*trigger // each trigger list is sorted longest prefix first
}

type fnKey struct{ ns, name string }

type function struct {
	name, ns string
	backends []backend
	status   string
	onDemand bool
	timeout  time.Duration
	next     atomic.Uint32 // round-robin cursor
	guards   []*trigger    // triggers whose basic auth also guards calls by name
}

type backend struct {
	scheme, host string
	token        string
}

type trigger struct {
	name, ns string
	fnName   string
	fn       *function // nil when the function does not exist
	host     string
	prefix   string // escaped, starts with "/" and has no trailing "/"; "" matches all
	auth     *basicAuth
	cors     *corsPolicy // nil: CORS off
	broken   string      // why the trigger cannot be used; answered with 500
}

func namespaceOr(ns string) string {
	if ns == "" {
		return DefaultNamespace
	}
	return ns
}

// compile builds the table. Entries with errors are left out (functions),
// dropped in part (backends) or kept in a state that answers 500 (triggers
// with an unusable basic auth); all problems are returned joined.
func compile(r Routes) (*table, error) {
	t := &table{
		functions:  make(map[fnKey]*function, len(r.Functions)),
		namespaces: make(map[string]bool),
	}
	var errs []error
	for _, f := range r.Functions {
		ns := namespaceOr(f.Namespace)
		if f.Name == "" {
			errs = append(errs, fmt.Errorf("function in namespace %q has no name", ns))
			continue
		}
		key := fnKey{ns, f.Name}
		if _, dup := t.functions[key]; dup {
			errs = append(errs, fmt.Errorf("function %q in namespace %q is listed twice; the first entry is used", f.Name, ns))
			continue
		}
		cf := &function{name: f.Name, ns: ns, status: firstLine(f.Status), timeout: f.Timeout, onDemand: f.OnDemand}
		if cf.status == "" {
			cf.status = "not ready"
		}
		for _, b := range f.Backends {
			be, err := parseBackend(b)
			if err != nil {
				errs = append(errs, fmt.Errorf("function %q in namespace %q: %w", f.Name, ns, err))
				continue
			}
			cf.backends = append(cf.backends, be)
		}
		t.functions[key] = cf
		t.namespaces[ns] = true
	}

	seen := make(map[[2]string]string)
	for _, tr := range r.Triggers {
		ns := namespaceOr(tr.Namespace)
		if tr.Name == "" {
			errs = append(errs, fmt.Errorf("HTTP trigger in namespace %q has no name", ns))
			continue
		}
		if tr.Function == "" {
			errs = append(errs, fmt.Errorf("HTTP trigger %q in namespace %q names no function", tr.Name, ns))
			continue
		}
		host := strings.ToLower(strings.TrimSpace(tr.Host))
		if strings.ContainsAny(host, "/ \t@") {
			errs = append(errs, fmt.Errorf("HTTP trigger %q in namespace %q: host %q is not a host name", tr.Name, ns, tr.Host))
			continue
		}
		host = stripPort(host)
		prefix := normalizePrefix(tr.Path)
		if other, dup := seen[[2]string{host, prefix}]; dup {
			errs = append(errs, fmt.Errorf("HTTP trigger %q in namespace %q: host %q and path %q are already used by trigger %s; it is ignored",
				tr.Name, ns, host, "/"+strings.TrimPrefix(prefix, "/"), other))
			continue
		}
		seen[[2]string{host, prefix}] = fmt.Sprintf("%q in namespace %q", tr.Name, ns)
		ct := &trigger{
			name:   tr.Name,
			ns:     ns,
			fnName: tr.Function,
			fn:     t.functions[fnKey{ns, tr.Function}],
			host:   host,
			prefix: prefix,
		}
		if tr.CORS {
			if p, err := newCORSPolicy(tr.CORSOrigins); err != nil {
				err = fmt.Errorf("HTTP trigger %q in namespace %q: %w", tr.Name, ns, err)
				errs = append(errs, err)
				ct.broken = err.Error()
			} else {
				ct.cors = p
			}
		}
		if auth, err := parseBasicAuth(tr.BasicAuth); err != nil {
			err = fmt.Errorf("HTTP trigger %q in namespace %q: %w", tr.Name, ns, err)
			errs = append(errs, err)
			ct.broken = err.Error()
			if ct.fn != nil && !tr.OpenByName {
				ct.fn.guards = append(ct.fn.guards, ct)
			}
		} else {
			ct.auth = auth
			if auth != nil && ct.fn != nil && !tr.OpenByName {
				ct.fn.guards = append(ct.fn.guards, ct)
			}
		}
		if host == "" {
			t.anyHost = append(t.anyHost, ct)
		} else {
			if t.byHost == nil {
				t.byHost = make(map[string][]*trigger)
			}
			t.byHost[host] = append(t.byHost[host], ct)
		}
	}
	longestFirst := func(a, b *trigger) int { return cmp.Compare(len(b.prefix), len(a.prefix)) }
	slices.SortStableFunc(t.anyHost, longestFirst)
	for _, ts := range t.byHost {
		slices.SortStableFunc(ts, longestFirst)
	}
	return t, errors.Join(errs...)
}

func parseBackend(b Backend) (backend, error) {
	s := b.URL
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return backend{}, fmt.Errorf("backend %q is not a base URL such as http://127.0.0.1:34567", s)
	}
	return backend{scheme: u.Scheme, host: u.Host, token: b.Token}, nil
}

// normalizePrefix turns a trigger path into its escaped prefix form: "" for
// the root, else "/a/b" with no trailing slash.
func normalizePrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return (&url.URL{Path: "/" + p}).EscapedPath()
}

// stripPort removes a port from a Host header value, and the brackets
// around an IPv6 address.
func stripPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.IndexByte(h, ':'); i >= 0 && strings.IndexByte(h[i+1:], ':') < 0 {
		return h[:i]
	}
	return h
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// matchTrigger finds the trigger for host (lowercase, no port) and the
// escaped path, and returns the path the function receives.
func (t *table) matchTrigger(host, path string) (*trigger, string) {
	candidates, ok := t.byHost[host]
	if !ok {
		candidates = t.anyHost
	}
	for _, tr := range candidates {
		if rest, ok := cutPrefix(path, tr.prefix); ok {
			return tr, rest
		}
	}
	return nil, ""
}

// cutPrefix matches prefix against path on a segment boundary and returns
// the rest of the path, which always starts with "/".
func cutPrefix(path, prefix string) (string, bool) {
	if prefix == "" {
		if path == "" {
			return "/", true
		}
		return path, true
	}
	if !strings.HasPrefix(path, prefix) {
		return "", false
	}
	if len(path) == len(prefix) {
		return "/", true
	}
	if path[len(prefix)] == '/' {
		return path[len(prefix):], true
	}
	return "", false
}

// lookupFunction resolves path-style addressing and returns the path the
// function receives. On failure fn is nil and ns/name say which function was
// looked for (name is empty when the path names none).
func (t *table) lookupFunction(path string) (fn *function, rest, ns, name string) {
	first, rest1 := cutSegment(strings.TrimPrefix(path, "/"))
	if first == "" {
		return nil, "", DefaultNamespace, ""
	}
	if f := t.functions[fnKey{DefaultNamespace, first}]; f != nil {
		return f, orRoot(rest1), "", ""
	}
	if t.namespaces[first] && rest1 != "" {
		second, rest2 := cutSegment(rest1[1:])
		if second != "" {
			if f := t.functions[fnKey{first, second}]; f != nil {
				return f, orRoot(rest2), "", ""
			}
			return nil, "", first, second
		}
	}
	return nil, "", DefaultNamespace, first
}

// cutSegment splits p at its first "/": the segment before it, and the rest
// starting with the "/" (empty when there is none).
func cutSegment(p string) (seg, rest string) {
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
