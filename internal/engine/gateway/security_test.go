package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// hostLikeBackend answers like a function host with CORS on: "ok" with
// Access-Control-Allow-Origin: *, and a preflight that echoes what it is
// asked.
func hostLikeBackend(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if m := r.Header.Get("Access-Control-Request-Method"); m != "" {
			w.Header().Set("Access-Control-Allow-Methods", m)
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(s.Close)
	return s
}

func portOf(base string) string { return base[strings.LastIndexByte(base, ':')+1:] }

// A web page on another origin must not read a function's answers unless a
// trigger enables CORS for that origin.
func TestCORSOnlyWhereATriggerAllowsIt(t *testing.T) {
	b := hostLikeBackend(t)
	g := New(Options{})
	if err := g.SetRoutes(Routes{
		Functions: []Function{{Name: "f", Backends: urls(b.URL)}, {Name: "any", Backends: urls(b.URL)}},
		Triggers: []HTTPTrigger{
			{Name: "web", Function: "f", Path: "/web", CORS: true, CORSOrigins: []string{"https://app.example"}},
			{Name: "open", Function: "any", Path: "/open", CORS: true},
		},
	}); err != nil {
		t.Fatal(err)
	}
	base := front(t, g)
	preflightFrom := func(origin string) http.Header {
		return http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"DELETE"}}
	}
	tests := []struct {
		name       string
		method     string
		target     string
		header     http.Header
		wantStatus int
		wantOrigin string
		wantMethod string
	}{
		{"by name: answer without CORS", "GET", "/f", http.Header{"Origin": {"https://evil.example"}}, 200, "", ""},
		{"by name: preflight not granted", "OPTIONS", "/f", preflightFrom("https://evil.example"), 200, "", ""},
		{"trigger: allowed origin preflight", "OPTIONS", "/web", preflightFrom("https://app.example"), 204, "https://app.example", corsAllowMethods},
		{"trigger: other origin preflight refused", "OPTIONS", "/web", preflightFrom("https://evil.example"), 403, "", ""},
		{"trigger: allowed origin answer", "GET", "/web", http.Header{"Origin": {"https://app.example"}}, 200, "https://app.example", ""},
		{"trigger: other origin answer has no allow-origin", "GET", "/web", http.Header{"Origin": {"https://evil.example"}}, 200, "", ""},
		{"trigger without origins: any", "OPTIONS", "/open", preflightFrom("https://x.example"), 204, "*", corsAllowMethods},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := send(t, base, tt.method, "", tt.target, nil, tt.header)
			if got.status != tt.wantStatus || got.header.Get("Access-Control-Allow-Origin") != tt.wantOrigin ||
				got.header.Get("Access-Control-Allow-Methods") != tt.wantMethod {
				t.Errorf("%s %s: status %d, allow-origin %q, allow-methods %q; want %d, %q, %q (body %q)", tt.method, tt.target,
					got.status, got.header.Get("Access-Control-Allow-Origin"), got.header.Get("Access-Control-Allow-Methods"),
					tt.wantStatus, tt.wantOrigin, tt.wantMethod, got.body)
			}
		})
	}
	if err := g.SetRoutes(Routes{Triggers: []HTTPTrigger{{Name: "bad", Function: "f", CORS: true, CORSOrigins: []string{"app.example"}}}}); err == nil ||
		!strings.Contains(err.Error(), `CORS origin "app.example" is not an origin: use scheme://host[:port]`) {
		t.Errorf("bad origin: %v", err)
	}
}

// DNS rebinding: a page of evil.example whose name now resolves to
// 127.0.0.1 sends Host: evil.example:<port>; the gateway refuses it.
func TestHostHeaderChecked(t *testing.T) {
	a := echoBackend(t, "A")
	g := New(Options{})
	g.SetRoutes(Routes{
		Functions: []Function{{Name: "f", Backends: urls(a.URL)}},
		Triggers:  []HTTPTrigger{{Name: "site", Function: "f", Host: "fn.example"}, {Name: "all", Function: "f", Path: "/all"}},
	})
	base := front(t, g)
	port := portOf(base)
	tests := []struct {
		host       string
		target     string
		wantStatus int
	}{
		{"evil.example:" + port, "/f", 403},
		{"evil.example:" + port, "/all", 403},
		{"evil.example", "/f", 403},
		{"127.0.0.1:" + port, "/f", 200},
		{"localhost:" + port, "/f", 200},
		{"LOCALHOST.:" + port, "/f", 200},
		{"localhost:1", "/f", 403},
		{"localhost", "/f", 403},
		{"fn.example", "/", 200},
		{"fn.example:8080", "/", 200},
	}
	for _, tt := range tests {
		got := send(t, base, "GET", tt.host, tt.target, nil, nil)
		if got.status != tt.wantStatus {
			t.Errorf("Host %q %s: status %d, want %d (%q)", tt.host, tt.target, got.status, tt.wantStatus, got.body)
		}
		if tt.wantStatus == 403 && !strings.Contains(got.body, "is not served by this gateway") {
			t.Errorf("Host %q: body %q", tt.host, got.body)
		}
	}
}

// countBcrypt counts bcrypt checks for the test's duration.
func countBcrypt(t *testing.T) *atomic.Int32 {
	var n atomic.Int32
	old := compareBcrypt
	compareBcrypt = func(h, p []byte) error { n.Add(1); return old(h, p) }
	t.Cleanup(func() { compareBcrypt = old })
	return &n
}

// A trigger's basic auth also guards the function's name route, and the
// credentials work on both.
func TestBasicAuthGuardsCallsByName(t *testing.T) {
	a := echoBackend(t, "A")
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	g := New(Options{})
	err := g.SetRoutes(Routes{
		Functions: []Function{{Name: "secret", Backends: urls(a.URL)}, {Name: "public", Backends: urls(a.URL)},
			{Name: "team", Namespace: "ops", Backends: urls(a.URL)}, {Name: "opted", Backends: urls(a.URL)}},
		Triggers: []HTTPTrigger{
			{Name: "private", Function: "secret", Path: "/private", BasicAuth: []string{"bob:" + string(bc)}},
			{Name: "opsauth", Namespace: "ops", Function: "team", Path: "/ops", BasicAuth: []string{"ann:{SHA}" + shaOf("x")}},
			{Name: "optout", Function: "opted", Path: "/o", BasicAuth: []string{"ann:{SHA}" + shaOf("x")}, OpenByName: true},
			{Name: "pub", Function: "public", Path: "/pub"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	base := front(t, g)
	bob := http.Header{"Authorization": {basic("bob", "pw")}}
	ann := http.Header{"Authorization": {basic("ann", "x")}}
	tests := []struct {
		target     string
		header     http.Header
		wantStatus int
	}{
		{"/secret", nil, 401},
		{"/secret/x", http.Header{"Authorization": {basic("bob", "wrong")}}, 401},
		{"/default/secret", nil, 401},
		{"/secret", bob, 200},
		{"/private", nil, 401},
		{"/private", bob, 200},
		{"/ops/team", nil, 401},
		{"/ops/team", ann, 200},
		{"/opted", nil, 200},
		{"/public", nil, 200},
	}
	for _, tt := range tests {
		got := send(t, base, "GET", "", tt.target, nil, tt.header)
		if got.status != tt.wantStatus {
			t.Errorf("GET %s: status %d, want %d (%q)", tt.target, got.status, tt.wantStatus, got.body)
		}
		if got.status == 401 && got.header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s: 401 without WWW-Authenticate", tt.target)
		}
	}
	// An unusable auth entry refuses calls by name too.
	g.SetRoutes(Routes{
		Functions: []Function{{Name: "secret", Backends: urls(a.URL)}},
		Triggers:  []HTTPTrigger{{Name: "broken", Function: "secret", Path: "/p", BasicAuth: []string{"bob:plain"}}},
	})
	if got := send(t, base, "GET", "", "/secret", nil, nil); got.status != 500 {
		t.Errorf("broken auth, call by name: status %d (%q)", got.status, got.body)
	}
}

// An unknown user costs a bcrypt check like a wrong password, so user names
// cannot be told apart by timing.
func TestUnknownUserCostsABcryptCheck(t *testing.T) {
	n := countBcrypt(t)
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	a, err := parseBasicAuth([]string{"bob:" + string(bc)})
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"bob", "nobody"} {
		n.Store(0)
		if a.check(user, "wrong") {
			t.Fatalf("%s accepted with a wrong password", user)
		}
		if got := n.Load(); got != 1 {
			t.Errorf("user %q: %d bcrypt checks, want 1", user, got)
		}
	}
	c, _ := bcrypt.Cost([]byte(a.dummy.hash))
	if a.dummy.kind != hashBcrypt || c != bcrypt.MinCost {
		t.Errorf("dummy credential %+v (cost %d), want bcrypt at cost %d", a.dummy, c, bcrypt.MinCost)
	}
}

// Guessing passwords from one client is limited to loginBurst bcrypt
// checks, then refused with 429 without a check; a login that already
// passed, and other functions, still work.
func TestFailedLoginsRateLimited(t *testing.T) {
	n := countBcrypt(t)
	a := echoBackend(t, "A")
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	g := New(Options{})
	g.SetRoutes(Routes{
		Functions: []Function{{Name: "secret", Backends: urls(a.URL)}, {Name: "public", Backends: urls(a.URL)}},
		Triggers:  []HTTPTrigger{{Name: "private", Function: "secret", Path: "/private", BasicAuth: []string{"bob:" + string(bc)}}},
	})
	base := front(t, g)
	if got := send(t, base, "GET", "", "/private", nil, http.Header{"Authorization": {basic("bob", "pw")}}); got.status != 200 {
		t.Fatalf("first login: %d %q", got.status, got.body)
	}
	var statuses []int
	for i := range 30 {
		target := "/private"
		if i%2 == 1 {
			target = "/secret"
		}
		got := send(t, base, "GET", "", target, nil, http.Header{"Authorization": {basic("bob", "guess")}})
		statuses = append(statuses, got.status)
		if got.status == 429 && got.header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	var refused int
	for _, s := range statuses {
		if s == 429 {
			refused++
		}
	}
	if checks := n.Load(); checks > loginBurst+1 || refused < 30-loginBurst-1 {
		t.Errorf("30 guesses: %d bcrypt checks, %d refused with 429 (statuses %v); want at most %d checks", checks, refused, statuses, loginBurst+1)
	}
	for _, tt := range []struct {
		target string
		header http.Header
	}{{"/private", http.Header{"Authorization": {basic("bob", "pw")}}}, {"/public", nil}} {
		if got := send(t, base, "GET", "", tt.target, nil, tt.header); got.status != 200 {
			t.Errorf("after the guesses, GET %s: %d %q", tt.target, got.status, got.body)
		}
	}
}
