package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kubeless/kubeless/pkg/functions"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func baseEnv(extra ...string) []string {
	return append([]string{"MOD_NAME=hello", "FUNC_HANDLER=foo"}, extra...)
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		check   func(Config) string
		wantErr string
	}{
		{name: "defaults", env: baseEnv(), check: func(c Config) string {
			return cmp.Diff([]any{":8080", 180 * time.Second, "/kubeless", 10 * time.Second, int64(100 << 20), 1, 1, ModeFrames, -1},
				[]any{c.Addr, c.Timeout, c.InstallVolume, c.ShutdownTimeout, c.MaxBody, c.Workers, c.WorkerConcurrency, c.WorkerMode, c.ListenFD})
		}},
		{name: "decimal timeout", env: baseEnv("FUNC_TIMEOUT=0.5", "FUNC_PORT=9000"), check: func(c Config) string {
			return cmp.Diff([]any{500 * time.Millisecond, ":9000"}, []any{c.Timeout, c.Addr})
		}},
		{name: "worker pool timing defaults", env: baseEnv(), check: func(c Config) string {
			return cmp.Diff([]time.Duration{50 * time.Millisecond, 250 * time.Millisecond, 10 * time.Second},
				[]time.Duration{c.StallAfter, c.GrowWait, c.IdleAfter})
		}},
		{name: "worker pool timing", env: baseEnv("KUBELESS_WORKER_STALL_AFTER=0.2", "KUBELESS_WORKER_GROW_WAIT=1", "KUBELESS_WORKER_IDLE_AFTER=60"), check: func(c Config) string {
			return cmp.Diff([]time.Duration{200 * time.Millisecond, time.Second, time.Minute},
				[]time.Duration{c.StallAfter, c.GrowWait, c.IdleAfter})
		}},
		{name: "bad stall threshold", env: baseEnv("KUBELESS_WORKER_STALL_AFTER=50ms"), wantErr: `KUBELESS_WORKER_STALL_AFTER="50ms" is not a number of seconds: use for example 180 or 0.5`},
		{name: "min spare by kind of worker", env: baseEnv(), check: func(c Config) string {
			return cmp.Diff(-1, c.MinSpare)
		}},
		{name: "min spare", env: baseEnv("KUBELESS_WORKER_MIN_SPARE=2"), check: func(c Config) string {
			return cmp.Diff(2, c.MinSpare)
		}},
		{name: "bad min spare", env: baseEnv("KUBELESS_WORKER_MIN_SPARE=-1"), wantErr: `KUBELESS_WORKER_MIN_SPARE="-1" is not a whole number of at least 0`},
		{name: "bad grow wait", env: baseEnv("KUBELESS_WORKER_GROW_WAIT=-1"), wantErr: `KUBELESS_WORKER_GROW_WAIT="-1" is not a number of seconds`},
		{name: "json log", env: baseEnv("FUNC_LOG_FORMAT=json"), check: func(c Config) string {
			return cmp.Diff(true, c.LogJSON)
		}},
		{name: "missing MOD_NAME", env: []string{"FUNC_HANDLER=foo"}, wantErr: "MOD_NAME is not set"},
		{name: "missing FUNC_HANDLER", env: []string{"MOD_NAME=hello"}, wantErr: "FUNC_HANDLER is not set"},
		{name: "bad port", env: baseEnv("FUNC_PORT=http"), wantErr: `FUNC_PORT="http" is not a port number`},
		{name: "bad timeout", env: baseEnv("FUNC_TIMEOUT=soon"), wantErr: `FUNC_TIMEOUT="soon" is not a number of seconds`},
		{name: "zero timeout", env: baseEnv("FUNC_TIMEOUT=0"), wantErr: "must be greater than 0"},
		{name: "bad workers", env: baseEnv("KUBELESS_WORKERS=0"), wantErr: `KUBELESS_WORKERS="0" is not a whole number of at least 1`},
		{name: "bad mode", env: baseEnv("KUBELESS_WORKER_MODE=grpc"), wantErr: "use frames or http"},
		{name: "bad log format", env: baseEnv("FUNC_LOG_FORMAT=xml"), wantErr: "use text or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := tt.check(c); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// fakeInvoker runs fn for each call.
type fakeInvoker struct {
	concurrency int
	fn          func(ctx context.Context, call *Call) error
}

func (f *fakeInvoker) Start(context.Context) error { return nil }
func (f *fakeInvoker) Invoke(ctx context.Context, c *Call) error {
	return f.fn(ctx, c)
}
func (f *fakeInvoker) DefaultConcurrency() int     { return f.concurrency }
func (f *fakeInvoker) Close(context.Context) error { return nil }

func newTestServer(t *testing.T, cfg Config, inv Invoker) (*Server, *prometheus.Registry, *bytes.Buffer, *httptest.Server) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var log safeBuffer
	s := NewServer(cfg, inv, reg, &log, discard)
	s.SetReady()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, reg, &log.buf, ts
}

type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func testConfig(extra ...string) Config {
	c, err := FromEnv(baseEnv(extra...))
	if err != nil {
		panic(err)
	}
	return c
}

// get is fetch for the test's own goroutine: it fails the test on error.
func get(t *testing.T, url string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	st, body, h, err := fetch(url, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return st, body, h
}

// fetch GETs url with the given header pairs. It never touches a
// *testing.T, so other goroutines may call it and report its error.
func fetch(url string, hdr ...string) (int, string, http.Header, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, "", nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, err
}

// result is the outcome of a fetch run in another goroutine.
type result struct {
	status int
	body   string
	err    error
}

// goFetch runs fetch in a goroutine and delivers its result on the channel.
func goFetch(url string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		st, body, _, err := fetch(url)
		ch <- result{st, body, err}
	}()
	return ch
}

func TestServerStatusesAndMetrics(t *testing.T) {
	inv := &fakeInvoker{concurrency: 4, fn: func(ctx context.Context, c *Call) error {
		switch c.Request.URL.Path {
		case "/ok":
			c.Writer.Write([]byte("fine"))
			return nil
		case "/fail":
			return &FunctionError{Message: "ValueError: boom"}
		case "/slow":
			<-ctx.Done()
			return ctx.Err()
		case "/gone":
			return errors.New("worker 1 exited")
		}
		return nil
	}}
	// The time limit only ends /slow: the other calls must be answered
	// within it however loaded the machine (0.2 s was not always enough).
	srv, reg, log, ts := newTestServer(t, testConfig("FUNC_TIMEOUT=2"), inv)

	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/ok", 200, "fine"},
		{"/fail", 500, "Error: ValueError: boom"},
		{"/slow", 408, "Timeout exceeded"},
		{"/gone", 502, "function could not be run: worker 1 exited"},
		{"/healthz", 200, "OK"},
	}
	for _, tt := range tests {
		st, body, hdr := get(t, ts.URL+tt.path, "Event-Id", "id"+tt.path)
		if st != tt.wantStatus || body != tt.wantBody {
			t.Errorf("GET %s = %d %q, want %d %q", tt.path, st, body, tt.wantStatus, tt.wantBody)
		}
		if tt.path != "/healthz" && hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: no CORS header", tt.path)
		}
	}
	want := `
# HELP function_calls_total Number of calls to user function
# TYPE function_calls_total counter
function_calls_total{method="GET"} 4
# HELP function_failures_total Number of exceptions in user function
# TYPE function_failures_total counter
function_failures_total{method="GET"} 2
# HELP function_timeouts_total Number of calls to user function that exceeded the time limit
# TYPE function_timeouts_total counter
function_timeouts_total{method="GET"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"function_calls_total", "function_failures_total", "function_timeouts_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "function_duration_seconds"); n != 1 {
		t.Errorf("function_duration_seconds has %d series, want 1", n)
	}
	srv.log.flush()
	for _, want := range []string{`"GET /ok HTTP/1.1" 200 4 ""`, `"GET /slow HTTP/1.1" 408`, "event-id=id/fail"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("request log lacks %q:\n%s", want, log.String())
		}
	}
}

func TestServerBadRequests(t *testing.T) {
	called := 0
	inv := &fakeInvoker{concurrency: 1, fn: func(ctx context.Context, c *Call) error { called++; return nil }}
	_, _, _, ts := newTestServer(t, testConfig("FUNC_MAX_BODY=10"), inv)
	post := func(ct, body string) (int, string) {
		resp, err := http.Post(ts.URL, ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := post("application/json", `{"a":`); st != 400 || !strings.Contains(body, "not valid JSON") {
		t.Errorf("broken JSON: %d %q", st, body)
	}
	if st, _ := post("text/plain", strings.Repeat("x", 11)); st != 413 {
		t.Errorf("large body: %d, want 413", st)
	}
	if called != 0 {
		t.Errorf("function called %d times for rejected requests", called)
	}
	req, _ := http.NewRequest("TRACE", ts.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("TRACE: %d, want 405", resp.StatusCode)
	}
}

func TestServerQueueFull(t *testing.T) {
	release := make(chan struct{})
	inv := &fakeInvoker{concurrency: 1, fn: func(ctx context.Context, c *Call) error {
		<-release
		return nil
	}}
	s, _, _, ts := newTestServer(t, testConfig("FUNC_CONCURRENCY=1", "KUBELESS_QUEUE_DEPTH=1"), inv)
	queued := make(chan struct{}, 2)
	hook := func() { queued <- struct{}{} }
	s.onQueued.Store(&hook)
	var results []<-chan result
	for i := 0; i < 2; i++ { // one runs, one waits
		results = append(results, goFetch(ts.URL))
		<-queued
	}
	if st, body, _ := get(t, ts.URL); st != 503 || !strings.Contains(body, "too many requests") {
		t.Errorf("third request: %d %q, want 503", st, body)
	}
	close(release)
	for _, ch := range results {
		if r := <-ch; r.err != nil || r.status != 200 {
			t.Errorf("queued request: %d %v, want 200", r.status, r.err)
		}
	}
}

func TestHealthzWhileLoadingAndDraining(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := NewServer(testConfig(), &fakeInvoker{fn: func(context.Context, *Call) error { return nil }}, reg, io.Discard, discard)
	ts := httptest.NewServer(s)
	defer ts.Close()
	if st, _, _ := get(t, ts.URL+"/healthz"); st != 503 {
		t.Errorf("before load: %d, want 503", st)
	}
	s.SetReady()
	if st, _, _ := get(t, ts.URL+"/healthz"); st != 200 {
		t.Errorf("loaded: %d, want 200", st)
	}
	s.StartDrain()
	if st, _, _ := get(t, ts.URL+"/healthz"); st != 503 {
		t.Errorf("draining: %d, want 503", st)
	}
}

func goHandlerServer(t *testing.T, fn functions.Handler, extra ...string) (*GoInvoker, *httptest.Server) {
	t.Helper()
	cfg := testConfig(extra...)
	inv := NewGoInvoker(cfg, fn, discard)
	_, _, _, ts := newTestServer(t, cfg, inv)
	return inv, ts
}

func TestGoInvokerPanicIs500AndServerLives(t *testing.T) {
	_, ts := goHandlerServer(t, func(e functions.Event, c functions.Context) (string, error) {
		if e.Extensions.Request.URL.Path == "/panic" {
			panic("oh no")
		}
		return "alive", nil
	})
	if st, body, _ := get(t, ts.URL+"/panic"); st != 500 || body != "Error: panic: oh no" {
		t.Errorf("panic: %d %q", st, body)
	}
	if st, body, _ := get(t, ts.URL+"/"); st != 200 || body != "alive" {
		t.Errorf("after panic: %d %q", st, body)
	}
}

// 64 calls run at once: each waits until all 64 are inside the function
// (one at a time, or fewer at once, the first would give up after 30 s).
func TestGoInvoker64ConcurrentCalls(t *testing.T) {
	const n = 64
	var arrived atomic.Int32
	all := make(chan struct{})
	_, ts := goHandlerServer(t, func(e functions.Event, c functions.Context) (string, error) {
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
			return "met", nil
		case <-time.After(30 * time.Second):
			return "", fmt.Errorf("only %d of %d calls ran at once", arrived.Load(), n)
		}
	})
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(ts.URL)
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "met" {
				errs <- fmt.Sprintf("%s %q", resp.Status, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestGoInvokerStatusAndContextCancel(t *testing.T) {
	cancelled := make(chan bool, 1)
	_, ts := goHandlerServer(t, func(e functions.Event, c functions.Context) (string, error) {
		if e.Extensions.Request.URL.Path == "/status" {
			e.Extensions.Response.Header().Set("X-A", "b")
			e.Extensions.Response.WriteHeader(201)
			return "made", nil
		}
		<-e.Extensions.Context.Done()
		cancelled <- true
		return "", e.Extensions.Context.Err()
	}, "FUNC_TIMEOUT=2") // /status must be answered within it, however loaded the machine
	if st, body, hdr := get(t, ts.URL+"/status"); st != 201 || body != "made" || hdr.Get("X-A") != "b" {
		t.Errorf("status: %d %q %v", st, body, hdr)
	}
	if st, body, _ := get(t, ts.URL+"/wait"); st != 408 || body != "Timeout exceeded" {
		t.Errorf("timeout: %d %q", st, body)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Error("the function's context was not cancelled at the deadline")
	}
}

// A Go function that never returns makes the instance restart itself on the
// same socket once the other running invocations are answered.
func TestRunRestartsAfterStuckFunction(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	// Run takes over a raw descriptor, as after an exec: no *os.File may
	// keep it (its finalizer would close whatever reuses the number).
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// The stuck call's grace ends when the test says so: once the other
	// call runs, so the restart has to wait for it.
	cfg := testConfig("FUNC_TIMEOUT=2")
	cfg.ListenFD = fd
	var inv *GoInvoker
	otherRuns := make(chan struct{})
	graceWaits := make(chan struct{}, 1)
	graceEnd := make(chan time.Time)
	fn := func(e functions.Event, c functions.Context) (string, error) {
		if e.Extensions.Request.URL.Path == "/stuck" {
			select {} // ignores its context
		}
		close(otherRuns)
		// Still running when the restart is requested.
		<-inv.RestartRequested()
		return "other finished", nil
	}
	inv = NewGoInvoker(cfg, fn, discard, WithStuckGraceEnd(func() <-chan time.Time {
		graceWaits <- struct{}{}
		return graceEnd
	}))
	addrCh := make(chan net.Addr, 1)
	execed := make(chan *os.File, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(cfg, inv, Options{
			Stdout: io.Discard, Logger: discard, Signals: make(chan os.Signal),
			Ready: func(a net.Addr) { addrCh <- a },
			Exec:  func(ln *os.File) error { execed <- ln; return nil },
		})
	}()
	base := "http://" + (<-addrCh).String()
	if st, _, _ := get(t, base+"/stuck"); st != 408 {
		t.Errorf("stuck call: %d, want 408", st)
	}
	<-graceWaits // the stuck call's grace has begun
	// Runs until the restart is requested: the restart waits for it. The
	// test ends the grace as soon as it runs, so its time limit (2 s) is
	// only a failure bound.
	other := goFetch(base + "/other")
	<-otherRuns
	select {
	case <-execed:
		t.Fatal("the instance restarted before the stuck call's grace ended")
	default:
	}
	close(graceEnd)
	if r := <-other; r.err != nil || r.body != "other finished" {
		t.Errorf("the call running beside the stuck one got %q %v", r.body, r.err)
	}
	select {
	case lnf := <-execed:
		// The handed-over socket is still the listening one.
		l2, err := net.FileListener(lnf)
		if err != nil {
			t.Fatalf("inherited socket: %v", err)
		}
		l2.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("instance did not restart")
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRunPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := testConfig(fmt.Sprintf("FUNC_PORT=%d", port), "KUBELESS_LISTEN_ADDRESS=127.0.0.1")
	err = Run(cfg, &fakeInvoker{}, Options{Stdout: io.Discard, Logger: discard})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(port)) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Run on a busy port: %v, want one line naming port %d", err, port)
	}
}

func TestRunDrainsOnSIGTERM(t *testing.T) {
	cfg := testConfig("FUNC_PORT=0", "KUBELESS_LISTEN_ADDRESS=127.0.0.1", "SHUTDOWN_TIMEOUT=5")
	running, finish := make(chan struct{}), make(chan struct{})
	fn := func(e functions.Event, c functions.Context) (string, error) {
		close(running)
		<-finish
		return "finished", nil
	}
	sigs := make(chan os.Signal, 1)
	addrCh := make(chan net.Addr, 1)
	closed := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(cfg, NewGoInvoker(cfg, fn, discard), Options{
			Stdout: io.Discard, Logger: discard, Signals: sigs, Ready: func(a net.Addr) { addrCh <- a },
			onDrain: func() { close(closed) },
		})
	}()
	addr := (<-addrCh).String()
	res := goFetch("http://" + addr + "/")
	<-running
	sigs <- os.Interrupt
	<-closed
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("a connection was accepted while draining")
	}
	close(finish)
	if r := <-res; r.err != nil || r.body != "finished" {
		t.Errorf("running call got %q %v during drain", r.body, r.err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Run did not return after the drain")
	}
}
