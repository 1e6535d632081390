package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// echoBackend answers "<id> <method> <request URI>" and, when the request
// has a body, " body=<body>".
func echoBackend(t *testing.T, id string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", id, r.Method, r.URL.RequestURI())
		if len(b) > 0 {
			fmt.Fprintf(w, " body=%s", b)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// deadBackend returns the URL of a port nothing listens on.
func deadBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// front serves g and returns its URL.
func front(t *testing.T, g *Gateway) string {
	t.Helper()
	s := httptest.NewServer(g)
	t.Cleanup(s.Close)
	return s.URL
}

type reply struct {
	status int
	body   string
	header http.Header
}

func send(t *testing.T, base, method, host, target string, body io.Reader, header http.Header) reply {
	t.Helper()
	req, err := http.NewRequest(method, base+target, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return reply{status: resp.StatusCode, body: string(b), header: resp.Header}
}

func TestRouting(t *testing.T) {
	a, b, c, d, e := echoBackend(t, "A"), echoBackend(t, "B"), echoBackend(t, "C"), echoBackend(t, "D"), echoBackend(t, "E")
	g := New(Options{})
	err := g.SetRoutes(Routes{
		Functions: []Function{
			{Name: "hello", Backends: urls(a.URL)},
			{Name: "api", Namespace: "default", Backends: urls(b.URL + "/")},
			{Name: "hello", Namespace: "team", Backends: urls(c.URL)},
			{Name: "x", Namespace: "hello", Backends: urls(d.URL)},
			{Name: "other", Namespace: "team", Backends: urls(e.URL)},
			{Name: "building", Status: "Building"},
			{Name: "failed", Status: "Failed: exit status 1\nTraceback..."},
			{Name: "waiting"},
		},
		Triggers: []HTTPTrigger{
			{Name: "shop", Function: "api", Path: "shop"},
			{Name: "cart", Namespace: "team", Function: "other", Path: "/shop/cart/"},
			{Name: "site", Function: "hello", Host: "Example.com"},
			{Name: "admin", Function: "api", Host: "example.com", Path: "/admin", BasicAuth: []string{"u:{SHA}" + shaOf("p")}, OpenByName: true},
			{Name: "ghost", Function: "ghost", Path: "/ghost-trigger"},
			{Name: "v6", Function: "api", Host: "::1"},
		},
	})
	if err != nil {
		t.Fatalf("SetRoutes: %v", err)
	}
	base := front(t, g)
	tests := []struct {
		name       string
		host       string
		target     string
		wantStatus int
		want       string
	}{
		{name: "function root", target: "/hello", wantStatus: 200, want: "A GET /"},
		{name: "function root slash", target: "/hello/", wantStatus: 200, want: "A GET /"},
		{name: "path and query pass through", target: "/hello/a/b?x=1&y=%20z", wantStatus: 200, want: "A GET /a/b?x=1&y=%20z"},
		{name: "escaped path kept", target: "/hello/a%2Fb/c%20d", wantStatus: 200, want: "A GET /a%2Fb/c%20d"},
		{name: "namespaced function", target: "/team/hello/z", wantStatus: 200, want: "C GET /z"},
		{name: "namespaced function root", target: "/team/other", wantStatus: 200, want: "E GET /"},
		{name: "default namespace spelled out", target: "/default/api/q?k=v", wantStatus: 200, want: "B GET /q?k=v"},
		{name: "default function beats namespace of the same name", target: "/hello/x", wantStatus: 200, want: "A GET /x"},
		{name: "unknown function", target: "/nope/a", wantStatus: 404,
			want: `function "nope" not found in namespace "default": deploy it with kubeless function deploy nope` + "\n"},
		{name: "unknown function in namespace", target: "/team/nope", wantStatus: 404,
			want: `function "nope" not found in namespace "team": deploy it with kubeless function deploy nope -n team` + "\n"},
		{name: "no function in path", target: "/", wantStatus: 404,
			want: `no function in the path: call /<function>[/path] for namespace "default" or /<namespace>/<function>[/path]` + "\n"},
		{name: "not ready", target: "/building", wantStatus: 503, want: `function "building" has no ready instance (status: Building)` + "\n"},
		{name: "not ready first line of status", target: "/failed", wantStatus: 503, want: `function "failed" has no ready instance (status: Failed: exit status 1)` + "\n"},
		{name: "not ready without status", target: "/waiting/x", wantStatus: 503, want: `function "waiting" has no ready instance (status: not ready)` + "\n"},
		{name: "trigger prefix replaced by slash", target: "/shop/item?id=3", wantStatus: 200, want: "B GET /item?id=3"},
		{name: "trigger prefix alone", target: "/shop", wantStatus: 200, want: "B GET /"},
		{name: "trigger prefix on segment boundary only", target: "/shopping", wantStatus: 404,
			want: `function "shopping" not found in namespace "default": deploy it with kubeless function deploy shopping` + "\n"},
		{name: "longest prefix wins", target: "/shop/cart/1", wantStatus: 200, want: "E GET /1"},
		{name: "host trigger with port", host: "example.com:8080", target: "/anything?q", wantStatus: 200, want: "A GET /anything?q"},
		{name: "host triggers hide any-host triggers", host: "example.com", target: "/shop/x", wantStatus: 200, want: "A GET /shop/x"},
		{name: "host match is case-insensitive", host: "EXAMPLE.COM", target: "/", wantStatus: 200, want: "A GET /"},
		{name: "other host uses any-host triggers", host: "localhost:{port}", target: "/shop/x", wantStatus: 200, want: "B GET /x"},
		{name: "ipv6 host", host: "[::1]:8080", target: "/z", wantStatus: 200, want: "B GET /z"},
		{name: "trigger to missing function", target: "/ghost-trigger/a", wantStatus: 404,
			want: `function "ghost" not found in namespace "default": deploy it with kubeless function deploy ghost` + "\n"},
		{name: "basic auth on host trigger", host: "example.com", target: "/admin/x", wantStatus: 401,
			want: `HTTP trigger "admin" requires basic authentication` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := strings.ReplaceAll(tt.host, "{port}", base[strings.LastIndexByte(base, ':')+1:])
			got := send(t, base, http.MethodGet, host, tt.target, nil, nil)
			if diff := cmp.Diff(reply{status: tt.wantStatus, body: tt.want}, reply{status: got.status, body: got.body}, cmp.AllowUnexported(reply{})); diff != "" {
				t.Errorf("GET %s (host %q) (-want +got):\n%s", tt.target, tt.host, diff)
			}
			if got.status >= 400 && got.header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("error Content-Type = %q", got.header.Get("Content-Type"))
			}
		})
	}
}

func TestSetRoutesReplacesTable(t *testing.T) {
	a, b := echoBackend(t, "A"), echoBackend(t, "B")
	g := New(Options{})
	base := front(t, g)
	if got := send(t, base, "GET", "", "/f", nil, nil); got.status != 404 {
		t.Errorf("empty table: status %d, want 404", got.status)
	}
	g.SetRoutes(Routes{Functions: []Function{{Name: "f", Backends: urls(a.URL)}}})
	if got := send(t, base, "GET", "", "/f", nil, nil); got.body != "A GET /" {
		t.Errorf("first table: %q", got.body)
	}
	g.SetRoutes(Routes{Functions: []Function{{Name: "g", Backends: urls(b.URL)}}})
	if got := send(t, base, "GET", "", "/f", nil, nil); got.status != 404 {
		t.Errorf("second table: /f status %d, want 404", got.status)
	}
	if got := send(t, base, "GET", "", "/g", nil, nil); got.body != "B GET /" {
		t.Errorf("second table: /g %q", got.body)
	}
}

func TestSetRoutesErrors(t *testing.T) {
	a := echoBackend(t, "A")
	tests := []struct {
		name    string
		routes  Routes
		wantErr string
		target  string // checked after SetRoutes
		status  int
		body    string
	}{
		{
			name:    "function without name",
			routes:  Routes{Functions: []Function{{Namespace: "x"}}},
			wantErr: `function in namespace "x" has no name`,
		},
		{
			name:    "duplicate function keeps the first",
			routes:  Routes{Functions: []Function{{Name: "f", Backends: urls(a.URL)}, {Name: "f", Namespace: "default"}}},
			wantErr: `function "f" in namespace "default" is listed twice; the first entry is used`,
			target:  "/f", status: 200, body: "A GET /",
		},
		{
			name:    "bad backend is dropped",
			routes:  Routes{Functions: []Function{{Name: "f", Backends: urls("127.0.0.1:80", a.URL, "http://h/base")}}},
			wantErr: `function "f" in namespace "default": backend "127.0.0.1:80" is not a base URL such as http://127.0.0.1:34567` + "\n" + `function "f" in namespace "default": backend "http://h/base" is not a base URL such as http://127.0.0.1:34567`,
			target:  "/f", status: 200, body: "A GET /",
		},
		{
			name:    "trigger without function",
			routes:  Routes{Triggers: []HTTPTrigger{{Name: "t"}}},
			wantErr: `HTTP trigger "t" in namespace "default" names no function`,
		},
		{
			name:    "trigger without name",
			routes:  Routes{Triggers: []HTTPTrigger{{Function: "f", Namespace: "n"}}},
			wantErr: `HTTP trigger in namespace "n" has no name`,
		},
		{
			name:    "trigger with bad host",
			routes:  Routes{Triggers: []HTTPTrigger{{Name: "t", Function: "f", Host: "http://x"}}},
			wantErr: `HTTP trigger "t" in namespace "default": host "http://x" is not a host name`,
		},
		{
			name: "duplicate trigger",
			routes: Routes{
				Functions: []Function{{Name: "f", Backends: urls(a.URL)}},
				Triggers:  []HTTPTrigger{{Name: "t1", Function: "f", Path: "/p"}, {Name: "t2", Function: "g", Path: "p/"}},
			},
			wantErr: `HTTP trigger "t2" in namespace "default": host "" and path "/p" are already used by trigger "t1" in namespace "default"; it is ignored`,
			target:  "/p/q", status: 200, body: "A GET /q",
		},
		{
			name: "plain text password makes the trigger answer 500",
			routes: Routes{
				Functions: []Function{{Name: "f", Backends: urls(a.URL)}},
				Triggers:  []HTTPTrigger{{Name: "t", Function: "f", Path: "/p", BasicAuth: []string{"user:secret"}}},
			},
			wantErr: `HTTP trigger "t" in namespace "default": basic auth entry for user "user": unsupported password hash (plain text and crypt are refused): ` + acceptedHashes,
			target:  "/p", status: 500,
			body: `HTTP trigger "t" in namespace "default": basic auth entry for user "user": unsupported password hash (plain text and crypt are refused): ` + acceptedHashes + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(Options{})
			err := g.SetRoutes(tt.routes)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("SetRoutes error = %v, want %q", err, tt.wantErr)
			}
			if tt.target == "" {
				return
			}
			got := send(t, front(t, g), "GET", "", tt.target, nil, nil)
			if got.status != tt.status || got.body != tt.body {
				t.Errorf("GET %s = %d %q, want %d %q", tt.target, got.status, got.body, tt.status, tt.body)
			}
		})
	}
}

func TestRoundRobin(t *testing.T) {
	a, b, c := echoBackend(t, "A"), echoBackend(t, "B"), echoBackend(t, "C")
	g := New(Options{})
	g.SetRoutes(Routes{Functions: []Function{{Name: "f", Backends: urls(a.URL, b.URL, c.URL)}}})
	base := front(t, g)
	var got []string
	for range 6 {
		got = append(got, send(t, base, "GET", "", "/f", nil, nil).body)
	}
	want := []string{"A GET /", "B GET /", "C GET /", "A GET /", "B GET /", "C GET /"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round-robin (-want +got):\n%s", diff)
	}
}

func TestFailover(t *testing.T) {
	a := echoBackend(t, "A")
	dead := deadBackend(t)

	// closing hangs up on every request: not a connection error, so no retry.
	var closingHits, afterClosingHits atomic.Int32
	closing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		closingHits.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(closing.Close)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		afterClosingHits.Add(1)
	}))
	t.Cleanup(counting.Close)

	g := New(Options{})
	g.SetRoutes(Routes{Functions: []Function{
		{Name: "half", Backends: urls(dead, a.URL)},
		{Name: "gone", Backends: urls(dead, deadBackend(t))},
		{Name: "one", Backends: urls(dead)},
		{Name: "hangup", Backends: urls(closing.URL, counting.URL)},
	}})
	base := front(t, g)

	t.Run("GET skips the dead instance", func(t *testing.T) {
		for i := range 4 {
			if got := send(t, base, "GET", "", "/half/x", nil, nil); got.body != "A GET /x" {
				t.Errorf("request %d: %d %q", i, got.status, got.body)
			}
		}
	})
	t.Run("POST with a body is replayed", func(t *testing.T) {
		for i := range 4 {
			got := send(t, base, "POST", "", "/half", strings.NewReader("payload"), nil)
			if got.body != "A POST / body=payload" {
				t.Errorf("request %d: %d %q", i, got.status, got.body)
			}
		}
	})
	t.Run("chunked POST is replayed", func(t *testing.T) {
		for i := range 2 {
			// io.MultiReader hides the length, so the body goes chunked.
			got := send(t, base, "POST", "", "/half", io.MultiReader(strings.NewReader("chunked")), nil)
			if got.body != "A POST / body=chunked" {
				t.Errorf("request %d: %d %q", i, got.status, got.body)
			}
		}
	})
	for _, fn := range []string{"gone", "one"} {
		t.Run("all instances dead: "+fn, func(t *testing.T) {
			got := send(t, base, "GET", "", "/"+fn, nil, nil)
			wantPrefix := fmt.Sprintf("function %q is unreachable: dial tcp 127.0.0.1:", fn)
			if got.status != 502 || !strings.HasPrefix(got.body, wantPrefix) || !strings.HasSuffix(got.body, "connection refused\n") ||
				strings.Count(got.body, "\n") != 1 {
				t.Errorf("got %d %q, want 502 %q…connection refused", got.status, got.body, wantPrefix)
			}
		})
	}
	t.Run("other errors are not retried", func(t *testing.T) {
		got := send(t, base, "POST", "", "/hangup", strings.NewReader("once"), nil)
		if got.status != 502 || !strings.HasPrefix(got.body, `function "hangup" is unreachable: `) {
			t.Errorf("got %d %q, want 502", got.status, got.body)
		}
		if n, m := closingHits.Load(), afterClosingHits.Load(); n != 1 || m != 0 {
			t.Errorf("hang-up instance hit %d times, next instance %d times; want 1 and 0", n, m)
		}
	})
}

func TestStreaming(t *testing.T) {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Custom", "kept")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "second\n")
	}))
	t.Cleanup(s.Close)
	g := New(Options{})
	g.SetRoutes(Routes{Functions: []Function{{Name: "stream", Backends: urls(s.URL), Timeout: time.Minute}}})
	base := front(t, g)

	resp, err := http.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Custom") != "kept" {
		t.Errorf("status %d, X-Custom %q; want 202 and kept", resp.StatusCode, resp.Header.Get("X-Custom"))
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n') // arrives before the backend is released
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk = %q, %v", line, err)
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second\n" {
		t.Errorf("rest = %q, %v", rest, err)
	}
}

func TestTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	var timeout408 = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Request timeout exceeded", http.StatusRequestTimeout)
	}))
	t.Cleanup(timeout408.Close)
	g := New(Options{TimeoutGrace: 30 * time.Millisecond})
	g.SetRoutes(Routes{Functions: []Function{
		{Name: "slow", Backends: urls(slow.URL), Timeout: 20 * time.Millisecond},
		// A backend's own 408 passes through: it answers at once, and its
		// time limit is long, so a loaded machine cannot make it a 504.
		{Name: "own408", Backends: urls(timeout408.URL), Timeout: 30 * time.Second},
	}})
	base := front(t, g)
	tests := []struct {
		target string
		want   reply
	}{
		{"/slow", reply{status: 504, body: `function "slow" did not answer within 50ms` + "\n"}},
		{"/own408", reply{status: 408, body: "Request timeout exceeded\n"}},
	}
	for _, tt := range tests {
		got := send(t, base, "GET", "", tt.target, nil, nil)
		if diff := cmp.Diff(tt.want, reply{status: got.status, body: got.body}, cmp.AllowUnexported(reply{})); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.target, diff)
		}
	}
}

func TestLargeBodies(t *testing.T) {
	const size = 8 << 20
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("X-Request-Sum", fmt.Sprintf("%d %x", n, h.Sum(nil)))
		// Answer with the same number of bytes, unknown length (streamed).
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for sent := int64(0); sent < n; sent += int64(len(chunk)) {
			w.Write(chunk[:min(int64(len(chunk)), n-sent)])
		}
	}))
	t.Cleanup(s.Close)
	g := New(Options{})
	g.SetRoutes(Routes{Functions: []Function{{Name: "big", Backends: urls(s.URL)}}})
	base := front(t, g)

	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	sum := sha256.Sum256(body)
	got := send(t, base, "POST", "", "/big", bytes.NewReader(body), nil)
	if want := fmt.Sprintf("%d %s", size, hex.EncodeToString(sum[:])); got.header.Get("X-Request-Sum") != want {
		t.Errorf("instance saw %q, want %q", got.header.Get("X-Request-Sum"), want)
	}
	if got.status != 200 || len(got.body) != size {
		t.Errorf("answer: status %d, %d bytes; want 200, %d", got.status, len(got.body), size)
	}
}

func TestForwardedHeaders(t *testing.T) {
	var seen http.Header
	var seenHost string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, seenHost = r.Header.Clone(), r.Host
	}))
	t.Cleanup(s.Close)
	g := New(Options{})
	g.SetRoutes(Routes{Functions: []Function{{Name: "f", Backends: urls(s.URL)}},
		Triggers: []HTTPTrigger{{Name: "t", Function: "f", Host: "fn.example", Path: "/f"}}})
	base := front(t, g)
	send(t, base, "GET", "fn.example:8080", "/f", nil, http.Header{
		"X-Forwarded-For": {"10.1.2.3"},
		"Authorization":   {"Bearer t"},
		"Connection":      {"X-Hop"},
		"X-Hop":           {"dropped"},
		"Event-Id":        {"e1"},
	})
	got := map[string]string{
		"Host":              seenHost,
		"X-Forwarded-For":   seen.Get("X-Forwarded-For"),
		"X-Forwarded-Host":  seen.Get("X-Forwarded-Host"),
		"X-Forwarded-Proto": seen.Get("X-Forwarded-Proto"),
		"Authorization":     seen.Get("Authorization"),
		"X-Hop":             seen.Get("X-Hop"),
		"Event-Id":          seen.Get("Event-Id"),
	}
	want := map[string]string{
		"Host":              "fn.example:8080",
		"X-Forwarded-For":   "10.1.2.3, 127.0.0.1",
		"X-Forwarded-Host":  "fn.example:8080",
		"X-Forwarded-Proto": "http",
		"Authorization":     "Bearer t",
		"X-Hop":             "",
		"Event-Id":          "e1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers seen by the instance (-want +got):\n%s", diff)
	}
}

func TestCORS(t *testing.T) {
	a := echoBackend(t, "A")
	own := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
	}))
	t.Cleanup(own.Close)
	g := New(Options{})
	g.SetRoutes(Routes{
		Functions: []Function{{Name: "f", Backends: urls(a.URL)}, {Name: "own", Backends: urls(own.URL)}},
		Triggers: []HTTPTrigger{
			{Name: "cors", Function: "f", Path: "/c", CORS: true, BasicAuth: []string{"u:{SHA}" + shaOf("p")}},
			{Name: "owncors", Function: "own", Path: "/o", CORS: true},
			{Name: "plain", Function: "f", Path: "/p"},
		},
	})
	base := front(t, g)
	keys := []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"}
	pick := func(h http.Header) []string {
		var out []string
		for _, k := range keys {
			out = append(out, h.Get(k))
		}
		return out
	}
	tests := []struct {
		name       string
		method     string
		target     string
		header     http.Header
		wantStatus int
		want       []string
	}{
		{name: "preflight without credentials", method: "OPTIONS", target: "/c/x",
			header:     http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}},
			wantStatus: 204, want: []string{"*", corsAllowMethods, corsAllowHeaders, corsMaxAge}},
		{name: "answer gets allow-origin", method: "GET", target: "/c/x",
			header:     http.Header{"Authorization": {basic("u", "p")}},
			wantStatus: 200, want: []string{"*", "", "", ""}},
		{name: "function's own allow-origin kept", method: "GET", target: "/o",
			wantStatus: 200, want: []string{"https://app.example", "", "", ""}},
		{name: "no CORS: OPTIONS goes to the function", method: "OPTIONS", target: "/p",
			wantStatus: 200, want: []string{"", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := send(t, base, tt.method, "", tt.target, nil, tt.header)
			if got.status != tt.wantStatus {
				t.Errorf("status %d, want %d (%q)", got.status, tt.wantStatus, got.body)
			}
			if diff := cmp.Diff(tt.want, pick(got.header)); diff != "" {
				t.Errorf("CORS headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientGoneNoAnswer(t *testing.T) {
	started := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}))
	t.Cleanup(s.Close)
	g := New(Options{})
	g.SetRoutes(Routes{Functions: []Function{{Name: "f", Backends: urls(s.URL)}}})
	base := front(t, g)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/f", nil)
	go func() {
		<-started
		cancel()
	}()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("request succeeded after its context was cancelled")
	}
}
