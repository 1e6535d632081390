package activator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeWaker reports each Wake on entered and answers it with what is sent
// on result (or ctx's error when ctx ends first).
type fakeWaker struct {
	entered chan Function
	result  chan wakeResult
}

type wakeResult struct {
	u   *url.URL
	err error
}

func newFakeWaker() *fakeWaker {
	return &fakeWaker{entered: make(chan Function, 100), result: make(chan wakeResult)}
}

func (f *fakeWaker) Wake(ctx context.Context, fn Function) (*url.URL, error) {
	f.entered <- fn
	select {
	case r := <-f.result:
		return r.u, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var hello = Function{Namespace: "default", Name: "hello", TargetPort: 8080}

type answer struct {
	code             int
	body, retryAfter string
}

// call sends a GET to h in the background; its answer arrives on the
// returned channel.
func call(t *testing.T, h http.Handler, body string) <-chan answer {
	t.Helper()
	out := make(chan answer, 1)
	go func() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Host = "hello.default.svc"
		h.ServeHTTP(rec, req)
		out <- answer{rec.Code, rec.Body.String(), rec.Header().Get("Retry-After")}
	}()
	return out
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(2 * time.Minute):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestHeldCallsAreForwardedOnceThePodIsReady(t *testing.T) {
	var mu sync.Mutex
	var hosts []string
	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		io.WriteString(w, "echo "+string(b))
	}))
	defer pod.Close()
	u, _ := url.Parse(pod.URL)

	w := newFakeWaker()
	reg := prometheus.NewRegistry()
	a, err := New(Options{Waker: w, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(hello)
	const n = 5
	var answers []<-chan answer
	for i := range n {
		answers = append(answers, call(t, h, string(rune('a'+i))))
	}
	for range n {
		if got := wait(t, w.entered, "a held call"); got != hello {
			t.Fatalf("Wake(%v), want %v", got, hello)
		}
	}
	if got := testutil.ToFloat64(a.held.WithLabelValues("default", "hello")); got != n {
		t.Errorf("held calls = %v, want %d", got, n)
	}
	if _, inFlight := a.LastCall(hello); inFlight != n {
		t.Errorf("in flight = %d, want %d", inFlight, n)
	}
	for range n {
		w.result <- wakeResult{u: u}
	}
	got := map[string]bool{}
	for _, ch := range answers {
		ans := wait(t, ch, "an answer")
		if ans.code != http.StatusOK {
			t.Fatalf("answer %d %q, want 200", ans.code, ans.body)
		}
		got[ans.body] = true
	}
	for i := range n {
		if want := "echo " + string(rune('a'+i)); !got[want] {
			t.Errorf("no answer %q among %v", want, got)
		}
	}
	mu.Lock()
	for _, h := range hosts {
		if h != "hello.default.svc" {
			t.Errorf("the pod saw Host %q, want the caller's hello.default.svc", h)
		}
	}
	mu.Unlock()
	last, inFlight := a.LastCall(hello)
	if inFlight != 0 || last.IsZero() {
		t.Errorf("LastCall = %v, %d; want a time and 0 in flight", last, inFlight)
	}
	want := `
# HELP kubeless_activator_calls_total Calls received by the activator for functions at zero, by outcome (forwarded, queue_full, timeout, start_failed, client_gone).
# TYPE kubeless_activator_calls_total counter
kubeless_activator_calls_total{outcome="forwarded"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kubeless_activator_calls_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(a.wakeTime); got != 1 {
		t.Errorf("wake histogram series = %d, want 1", got)
	}
}

func TestHoldBoundsAndFailures(t *testing.T) {
	tests := []struct {
		name        string
		maxHeld     int
		timeout     time.Duration
		result      *wakeResult // nil: none, the hold times out
		first       bool        // a first call stays held
		wantCode    int
		wantBody    string
		wantRetry   string
		wantOutcome string
	}{
		{
			name: "queue full", maxHeld: 1, first: true, timeout: time.Hour,
			wantCode: 503, wantRetry: "1", wantOutcome: "queue_full",
			wantBody: `function "hello" is starting and 1 calls already wait for it: retry later`,
		},
		{
			name: "hold timeout", timeout: time.Millisecond,
			wantCode: 504, wantOutcome: "timeout",
			wantBody: `function "hello" was at zero instances and did not start within 1ms: the call was not sent to it`,
		},
		{
			name: "start fails", timeout: time.Hour,
			result:   &wakeResult{err: &StartError{Reason: "pod hello-1: container function: ImagePullBackOff\nmore"}},
			wantCode: 503, wantOutcome: "start_failed",
			wantBody: `function "hello" could not start: pod hello-1: container function: ImagePullBackOff`,
		},
		{
			name: "API error", timeout: time.Hour,
			result:   &wakeResult{err: errors.New("deployments.apps \"hello\" is forbidden")},
			wantCode: 503, wantOutcome: "start_failed",
			wantBody: `function "hello" could not start: deployments.apps "hello" is forbidden`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFakeWaker()
			a, err := New(Options{Waker: w, MaxHeld: tt.maxHeld, HoldTimeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			h := a.Handler(hello)
			var first <-chan answer
			if tt.first {
				first = call(t, h, "")
				wait(t, w.entered, "the first call held")
			}
			ch := call(t, h, "")
			if tt.result != nil {
				wait(t, w.entered, "the call held")
				w.result <- *tt.result
			}
			got := wait(t, ch, "the answer")
			if got.code != tt.wantCode || strings.TrimSpace(got.body) != tt.wantBody || got.retryAfter != tt.wantRetry {
				t.Errorf("answer %d %q Retry-After %q, want %d %q %q", got.code, got.body, got.retryAfter, tt.wantCode, tt.wantBody, tt.wantRetry)
			}
			if n := testutil.ToFloat64(a.calls.WithLabelValues(tt.wantOutcome)); n != 1 {
				t.Errorf("calls{outcome=%q} = %v, want 1", tt.wantOutcome, n)
			}
			if first != nil {
				w.result <- wakeResult{err: &StartError{Reason: "done"}}
				wait(t, first, "the first answer")
			}
		})
	}
}

func TestNewNeedsAWaker(t *testing.T) {
	if _, err := New(Options{}); err == nil || err.Error() != "activator: no Waker" {
		t.Errorf("New(no Waker) = %v", err)
	}
}
