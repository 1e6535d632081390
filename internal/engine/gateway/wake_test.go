package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWakeHoldsCallsUntilStarted(t *testing.T) {
	be := echoBackend(t, "a")
	started := make(chan struct{})
	var g *Gateway
	g = New(Options{Wake: func(ctx context.Context, ns, name string) error {
		<-started
		return nil
	}})
	if err := g.SetRoutes(Routes{Functions: []Function{{Name: "f", OnDemand: true}}}); err != nil {
		t.Fatal(err)
	}
	url := front(t, g)
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, 3)
	for range 3 {
		go func() {
			code, body := get(t, url+"/f/x")
			answers <- answer{code, body}
		}()
	}
	for g.Activity("", "f").Held < 3 {
		time.Sleep(time.Millisecond)
	}
	if err := g.SetRoutes(Routes{Functions: []Function{{Name: "f", OnDemand: true, Backends: []Backend{{URL: be.URL}}}}}); err != nil {
		t.Fatal(err)
	}
	close(started)
	for range 3 {
		if a := <-answers; a.code != 200 || a.body != "a GET /x" {
			t.Errorf("held call = %d %q", a.code, a.body)
		}
	}
	if a := g.Activity("", "f"); a.InFlight != 0 || a.Held != 0 || a.Last.IsZero() {
		t.Errorf("activity after the calls = %+v", a)
	}
}

func TestWakeBoundsAndErrors(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	for _, tt := range []struct {
		name     string
		wake     func(ctx context.Context, ns, name string) error
		timeout  time.Duration
		code     int
		contains string
	}{
		{"start failed", func(context.Context, string, string) error {
			return &WakeError{Reason: "the instance exited with status 1 while starting (boom)\nmore"}
		}, 0, 503, `function "f" could not start: the instance exited with status 1 while starting (boom)`},
		{"start too slow", func(ctx context.Context, _, _ string) error {
			<-ctx.Done()
			return ctx.Err()
		}, time.Millisecond, 504, `function "f" was at zero instances and did not start within 1ms: the call was not sent to it`},
		{"started without instance", func(context.Context, string, string) error { return nil }, 0, 503,
			`function "f" started but has no ready instance (status: Idle)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := New(Options{Wake: tt.wake, HoldTimeout: tt.timeout})
			g.SetRoutes(Routes{Functions: []Function{{Name: "f", OnDemand: true, Status: "Idle"}}})
			code, body := get(t, front(t, g)+"/f")
			if code != tt.code || !strings.Contains(body, tt.contains) || strings.Count(body, "\n") != 1 {
				t.Errorf("= %d %q, want %d %q", code, body, tt.code, tt.contains)
			}
		})
	}

	// A full queue refuses at once, saying why.
	g := New(Options{MaxHeld: 1, Wake: func(ctx context.Context, _, _ string) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return ctx.Err()
	}})
	g.SetRoutes(Routes{Functions: []Function{{Name: "f", OnDemand: true}}})
	url := front(t, g)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/f", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for g.Activity("", "f").Held < 1 {
		time.Sleep(time.Millisecond)
	}
	code, body := get(t, url+"/f")
	if code != 503 || !strings.Contains(body, `function "f" is starting and 1 calls already wait for it: retry later`) {
		t.Errorf("over the bound = %d %q", code, body)
	}

	// Without OnDemand a function without instance answers 503 at once.
	g2 := New(Options{Wake: func(context.Context, string, string) error { t.Error("woken"); return nil }})
	g2.SetRoutes(Routes{Functions: []Function{{Name: "f", Status: "Building"}}})
	if code, body := get(t, front(t, g2)+"/f"); code != 503 || !strings.Contains(body, "has no ready instance (status: Building)") {
		t.Errorf("not on demand = %d %q", code, body)
	}
}
