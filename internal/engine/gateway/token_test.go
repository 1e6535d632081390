package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/kubeless/kubeless/pkg/contract"
	"github.com/kubeless/kubeless/pkg/functions"
	"github.com/kubeless/kubeless/pkg/host"
)

// urls returns backends without a token for the given base URLs.
func urls(us ...string) []Backend {
	bs := make([]Backend, len(us))
	for i, u := range us {
		bs[i] = Backend{URL: u}
	}
	return bs
}

// TestInstancePortRefusesCallsThatBypassTheGateway: an instance started
// with a token (as the local engine starts them) answers through the
// gateway, whose basic auth applies, and refuses a direct call with 403:
// the basic auth cannot be skipped by calling the instance's port.
func TestInstancePortRefusesCallsThatBypassTheGateway(t *testing.T) {
	const token = "instance-secret"
	cfg, err := host.FromEnv([]string{contract.EnvModName + "=m", contract.EnvFuncHandler + "=f",
		contract.EnvInstanceToken + "=" + token, contract.EnvCORS + "=off"})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 10) // the token headers the function saw
	fn := func(e functions.Event, _ functions.Context) (string, error) {
		seen <- strings.Join(e.Extensions.Request.Header.Values(contract.HeaderInstanceToken), ",")
		return "secret data", nil
	}
	logger := slog.New(slog.DiscardHandler)
	srv := host.NewServer(cfg, host.NewGoInvoker(cfg, fn, logger), prometheus.NewRegistry(), io.Discard, logger)
	srv.SetReady()
	inst := httptest.NewServer(srv)
	t.Cleanup(inst.Close)

	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	g := New(Options{})
	if err := g.SetRoutes(Routes{
		Functions: []Function{{Name: "secret", Backends: []Backend{{URL: inst.URL, Token: token}}}},
		Triggers:  []HTTPTrigger{{Name: "private", Function: "secret", Path: "/private", BasicAuth: []string{"bob:" + string(bc)}}},
	}); err != nil {
		t.Fatal(err)
	}
	base := front(t, g)

	bob := http.Header{"Authorization": {basic("bob", "pw")}}
	if got := send(t, base, "GET", "", "/private", nil, bob); got.status != 200 || got.body != "secret data" {
		t.Fatalf("through the gateway with bob: %d %q, want 200", got.status, got.body)
	}
	if s := <-seen; s != "" {
		t.Errorf("the function saw %s: %q", contract.HeaderInstanceToken, s)
	}
	// A token the client sends is replaced by the instance's own.
	forged := http.Header{"Authorization": {basic("bob", "pw")}, contract.HeaderInstanceToken: {"forged"}}
	if got := send(t, base, "GET", "", "/private", nil, forged); got.status != 200 {
		t.Fatalf("through the gateway with a forged token header: %d %q, want 200", got.status, got.body)
	}
	<-seen
	if got := send(t, base, "GET", "", "/private", nil, nil); got.status != 401 {
		t.Errorf("through the gateway without a user: %d %q, want 401", got.status, got.body)
	}
	for _, target := range []string{"/", "/private", "/healthz", "/metrics"} {
		got := send(t, inst.URL, "GET", "", target, nil, bob)
		if got.status != 403 || !strings.Contains(got.body, "reached through the kubeless gateway") {
			t.Errorf("direct GET %s: %d %q, want 403", target, got.status, got.body)
		}
	}
	if len(seen) != 0 {
		t.Errorf("the function ran for a refused call")
	}
}

// TestGatewayDropsClientInstanceToken: a client's X-Kubeless-Instance-Token
// never reaches an instance; the gateway sends the instance's own token, or
// none when the route has none.
func TestGatewayDropsClientInstanceToken(t *testing.T) {
	got := make(chan []string, 2)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Values(contract.HeaderInstanceToken)
	}))
	t.Cleanup(b.Close)
	g := New(Options{})
	if err := g.SetRoutes(Routes{Functions: []Function{
		{Name: "with", Backends: []Backend{{URL: b.URL, Token: "own"}}},
		{Name: "without", Backends: urls(b.URL)},
	}}); err != nil {
		t.Fatal(err)
	}
	base := front(t, g)
	forged := http.Header{contract.HeaderInstanceToken: {"forged", "again"}}
	for _, tt := range []struct {
		target string
		want   string
	}{{"/with", "own"}, {"/without", ""}} {
		if r := send(t, base, "GET", "", tt.target, nil, forged); r.status != 200 {
			t.Fatalf("GET %s: %d %q", tt.target, r.status, r.body)
		}
		if vs := <-got; strings.Join(vs, ",") != tt.want {
			t.Errorf("GET %s: the instance got %s %q, want %q", tt.target, contract.HeaderInstanceToken, vs, tt.want)
		}
	}
}
