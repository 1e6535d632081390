package host

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubeless/kubeless/pkg/contract"
)

// TestInstanceTokenGuardsEveryPath: with KUBELESS_INSTANCE_TOKEN set (the
// local engine), a request without the token or with another one is
// refused with 403 on every path, before the function runs; with the token
// it is served and the function does not see the token.
func TestInstanceTokenGuardsEveryPath(t *testing.T) {
	const token = "tok-123"
	var mu sync.Mutex
	var calls int
	var seen []string // token headers the function saw
	inv := &fakeInvoker{fn: func(_ context.Context, c *Call) error {
		mu.Lock()
		calls++
		seen = append(seen, c.Request.Header.Values(contract.HeaderInstanceToken)...)
		mu.Unlock()
		c.Writer.Write([]byte("fn"))
		return nil
	}}
	cfg := testConfig(contract.EnvInstanceToken + "=" + token)
	if cfg.InstanceToken != token {
		t.Fatalf("InstanceToken = %q, want %q", cfg.InstanceToken, token)
	}
	_, _, _, ts := newTestServer(t, cfg, inv)

	for _, path := range []string{"/", "/secret/x", "/healthz", "/metrics"} {
		for _, tt := range []struct {
			name string
			hdr  []string
		}{
			{"no token", nil},
			{"wrong token", []string{contract.HeaderInstanceToken, "tok-124"}},
			{"token prefix", []string{contract.HeaderInstanceToken, "tok-12"}},
		} {
			st, body, _ := get(t, ts.URL+path, tt.hdr...)
			if st != 403 || body != errNotThroughGateway+"\n" {
				t.Errorf("%s %s: %d %q, want 403 %q", path, tt.name, st, body, errNotThroughGateway+"\n")
			}
		}
	}
	if calls != 0 {
		t.Fatalf("the function ran %d times for refused requests", calls)
	}

	for _, path := range []string{"/", "/healthz", "/metrics"} {
		st, body, hdr := get(t, ts.URL+path, contract.HeaderInstanceToken, token)
		if st != 200 {
			t.Errorf("%s with the token: %d %q, want 200", path, st, body)
		}
		if hdr.Get(contract.HeaderInstanceToken) != "" {
			t.Errorf("%s answered the token in %s", path, contract.HeaderInstanceToken)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 || len(seen) != 0 {
		t.Errorf("function ran %d times and saw the token headers %q; want 1 call, none seen", calls, seen)
	}
}

// TestHealthzProvesTokenWithoutRevealingIt: /healthz answers the engine's
// nonce with HMAC-SHA256(token, nonce) and never sends the token itself.
func TestHealthzProvesTokenWithoutRevealingIt(t *testing.T) {
	const token = "tok-123"
	_, _, _, ts := newTestServer(t, testConfig(contract.EnvInstanceToken+"="+token),
		&fakeInvoker{fn: func(context.Context, *Call) error { return nil }})
	st, _, hdr := get(t, ts.URL+"/healthz", contract.HeaderInstanceToken, token, contract.HeaderInstanceNonce, "n-1")
	if st != 200 {
		t.Fatalf("status %d", st)
	}
	want := contract.InstanceProof(token, "n-1")
	if got := hdr.Get(contract.HeaderInstanceProof); got != want {
		t.Errorf("%s = %q, want %q", contract.HeaderInstanceProof, got, want)
	}
	if want == contract.InstanceProof(token, "n-2") || want == contract.InstanceProof("tok-124", "n-1") {
		t.Error("the proof does not depend on both the token and the nonce")
	}
	for k, vs := range hdr {
		for _, v := range vs {
			if strings.Contains(v, token) {
				t.Errorf("header %s reveals the token: %q", k, v)
			}
		}
	}
}

// TestNoInstanceTokenNothingChanges: without KUBELESS_INSTANCE_TOKEN
// (Kubernetes, kubeless runtime run) every request is served as before,
// and the function sees whatever headers the caller sent.
func TestNoInstanceTokenNothingChanges(t *testing.T) {
	var seen string
	inv := &fakeInvoker{fn: func(_ context.Context, c *Call) error {
		seen = c.Request.Header.Get(contract.HeaderInstanceToken)
		c.Writer.Write([]byte("fn"))
		return nil
	}}
	_, _, _, ts := newTestServer(t, testConfig(), inv)
	for _, path := range []string{"/", "/healthz", "/metrics"} {
		if st, body, _ := get(t, ts.URL+path); st != 200 {
			t.Errorf("%s: %d %q, want 200", path, st, body)
		}
	}
	_, _, hdr := get(t, ts.URL+"/healthz", contract.HeaderInstanceNonce, "n-1")
	if hdr.Get(contract.HeaderInstanceProof) != "" {
		t.Errorf("a proof without a token: %q", hdr.Get(contract.HeaderInstanceProof))
	}
	if st, body, _ := get(t, ts.URL+"/", contract.HeaderInstanceToken, "anything"); st != 200 || body != "fn" || seen != "anything" {
		t.Errorf("with a stray token header: %d %q, function saw %q", st, body, seen)
	}
}

// TestHealthzWaitsForTheLoad: the engine's /healthz with
// HeaderInstanceWaitReady answers once the function is loaded, with the
// proof; without the token configured (Kubernetes) the header changes
// nothing: a loading instance answers 503 at once.
func TestHealthzWaitsForTheLoad(t *testing.T) {
	const token = "tok-123"
	s := NewServer(testConfig(contract.EnvInstanceToken+"="+token), &fakeInvoker{fn: func(context.Context, *Call) error { return nil }},
		prometheus.NewRegistry(), io.Discard, discard)
	ts := httptest.NewServer(s)
	defer ts.Close()
	waiting := make(chan struct{}, 1)
	hook := func() { waiting <- struct{}{} }
	s.onWaitLoad.Store(&hook)
	type answer struct {
		status int
		hdr    http.Header
	}
	done := make(chan answer, 1)
	go func() {
		st, _, hdr, err := fetch(ts.URL+"/healthz", contract.HeaderInstanceToken, token, contract.HeaderInstanceNonce, "n-1",
			contract.HeaderInstanceWaitReady, "1")
		if err != nil {
			t.Error(err)
		}
		done <- answer{st, hdr}
	}()
	<-waiting
	select {
	case a := <-done:
		t.Fatalf("answered %d before the function was loaded", a.status)
	default:
	}
	s.SetReady()
	a := <-done
	if a.status != 200 || a.hdr.Get(contract.HeaderInstanceProof) != contract.InstanceProof(token, "n-1") {
		t.Errorf("after the load: %d, proof %q; want 200 with the proof", a.status, a.hdr.Get(contract.HeaderInstanceProof))
	}

	plain := NewServer(testConfig(), &fakeInvoker{fn: func(context.Context, *Call) error { return nil }}, prometheus.NewRegistry(), io.Discard, discard)
	plain.onWaitLoad.Store(&hook)
	pts := httptest.NewServer(plain)
	defer pts.Close()
	if st, _, _ := get(t, pts.URL+"/healthz", contract.HeaderInstanceWaitReady, "1"); st != 503 {
		t.Errorf("without a token, loading: %d, want 503 at once", st)
	}
	select {
	case <-waiting:
		t.Error("a /healthz without the instance token waited for the load")
	default:
	}
}
