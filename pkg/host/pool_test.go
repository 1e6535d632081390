package host

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kubeless/kubeless/pkg/contract"
)

// TestMain lets the test binary serve as a language worker (nomad testtask
// style): with KUBELESS_TEST_WORKER set it speaks the frames protocol.
func TestMain(m *testing.M) {
	if mode := os.Getenv("KUBELESS_TEST_WORKER"); mode != "" {
		testWorker(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testWorker answers by path: /sleep/<ms> sleeps, /meet/<n> answers "met"
// once n calls are in /meet at the same time, /busy never answers,
// /hold waits for a release file and answers the most calls it held at
// once, /after-cancel answers once the worker got a cancel frame, /crash exits,
// /env/<name> answers whether the variable is set and its value, /error
// fails, anything else answers the worker's pid.
func testWorker(mode string) {
	in := bufio.NewReader(os.NewFile(3, "in"))
	out := os.NewFile(4, "out")
	var mu sync.Mutex
	send := func(typ byte, id uint32, payload []byte) {
		mu.Lock()
		defer mu.Unlock()
		out.Write(append(appendFrameHeader(nil, typ, id, len(payload)), payload...))
	}
	if mode == "fatal" {
		send(frameFatal, 0, []byte(`cannot load function "hello.foo": hello.py:3: SyntaxError: invalid syntax`))
		os.Exit(1)
	}
	if mode == "die" {
		os.Exit(3)
	}
	if mode == "first-only" && os.Getenv("KUBELESS_WORKER_ID") != "1" {
		// Every worker but the first never loads: it stays starting until
		// the host closes its pipe.
		io.Copy(io.Discard, in)
		os.Exit(0)
	}
	if mode == "gate" {
		// The first worker loads at once; the others once the test opens
		// the FIFO KUBELESS_TEST_GATE_DIR/open for writing.
		dir := os.Getenv("KUBELESS_TEST_GATE_DIR")
		if f, err := os.OpenFile(dir+"/first", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		} else if g, err := os.Open(dir + "/open"); err == nil {
			g.Close()
		}
	}
	if mode == "loop" {
		testLoopWorker(in, send)
		return
	}
	send(frameReady, 0, nil)
	cancelled := make(chan struct{})
	var cancelOnce sync.Once
	var holding, maxHolding atomic.Int32 // /hold calls in this worker
	for {
		f, err := readFrame(in)
		if err != nil {
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, "test worker:", err)
			}
			return
		}
		if f.typ == frameCancel {
			cancelOnce.Do(func() { close(cancelled) })
		}
		if f.typ != frameInvoke {
			continue
		}
		head, _, _ := splitHead(f.payload)
		var h struct{ Path string }
		json.Unmarshal(head, &h)
		go func(id uint32, path string) {
			respond := func(body string) {
				hj := []byte(`{"status":200,"headers":[["Content-Type","text/plain; charset=utf-8"]]}`)
				p := binary.BigEndian.AppendUint32(nil, uint32(len(hj)))
				send(frameResponse, id, append(append(p, hj...), body...))
			}
			switch {
			case strings.HasPrefix(path, "/sleep/"):
				var ms int
				fmt.Sscan(strings.TrimPrefix(path, "/sleep/"), &ms)
				time.Sleep(time.Duration(ms) * time.Millisecond)
				respond("slept")
			case strings.HasPrefix(path, "/meet/"):
				// Waits until n calls, in any workers, are inside /meet/n:
				// each leaves a file in KUBELESS_TEST_MEET_DIR.
				var n int
				fmt.Sscan(strings.TrimPrefix(path, "/meet/"), &n)
				dir := os.Getenv("KUBELESS_TEST_MEET_DIR")
				os.WriteFile(fmt.Sprintf("%s/%d-%d", dir, os.Getpid(), id), nil, 0o600)
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
					if ents, _ := os.ReadDir(dir); len(ents) >= n {
						respond("met")
						break
					}
					if time.Now().After(deadline) {
						respond("alone")
						break
					}
				}
			case path == "/hold":
				// Leaves a file in KUBELESS_TEST_HOLD_DIR and waits for the
				// file "release" there; answers the most calls this worker
				// has held at once.
				n := holding.Add(1)
				for m := maxHolding.Load(); n > m && !maxHolding.CompareAndSwap(m, n); m = maxHolding.Load() {
				}
				dir := os.Getenv("KUBELESS_TEST_HOLD_DIR")
				os.WriteFile(fmt.Sprintf("%s/%d-%d", dir, os.Getpid(), id), nil, 0o600)
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
					if _, err := os.Stat(dir + "/release"); err == nil {
						break
					}
				}
				holding.Add(-1) // before the answer frees the slot
				respond(fmt.Sprint(maxHolding.Load()))
			case path == "/after-cancel":
				<-cancelled
				respond("slept")
			case path == "/busy":
				select {}
			case path == "/crash":
				os.Exit(2)
			case strings.HasPrefix(path, "/status/"):
				hj := []byte(`{"status":` + strings.TrimPrefix(path, "/status/") + `,"headers":[]}`)
				p := binary.BigEndian.AppendUint32(nil, uint32(len(hj)))
				send(frameResponse, id, append(p, hj...))
			case strings.HasPrefix(path, "/env/"):
				v, ok := os.LookupEnv(strings.TrimPrefix(path, "/env/"))
				respond(fmt.Sprintf("%v=%s", ok, v))
			case path == "/error":
				send(frameError, id, []byte("ValueError: boom"))
			default:
				respond(fmt.Sprint(os.Getpid()))
			}
		}(f.id, h.Path)
	}
}

// testLoopWorker plays a worker that runs its calls one at a time on one
// event loop, as Node.js does, and says so in its R frame: after each call
// it starts, while calls are running, it sends an L frame (its loop ran
// free) with the count of calls it started. /block blocks the loop until the test opens the FIFO
// KUBELESS_TEST_GATE_DIR/unblock for writing, then answers "unblocked";
// /yield stays running without blocking the loop (it never answers); any
// other call answers the worker's pid, or "starved" when its frame arrived
// while a call blocked the loop.
func testLoopWorker(in *bufio.Reader, send func(byte, uint32, []byte)) {
	send(frameReady, 0, []byte(`{"runtime":"test loop","event_loop":true}`))
	type call struct {
		id      uint32
		path    string
		starved bool
	}
	calls := make(chan call, 64)
	var blocked atomic.Bool
	go func() {
		var started uint32
		running := 0 // calls started and not answered
		for c := range calls {
			started++
			switch c.path {
			case "/block":
				if g, err := os.Open(os.Getenv("KUBELESS_TEST_GATE_DIR") + "/unblock"); err == nil {
					g.Close()
				}
				blocked.Store(false)
				respondFrame(send, c.id, "unblocked")
			case "/yield":
				running++
			default:
				if c.starved {
					respondFrame(send, c.id, "starved")
				} else {
					respondFrame(send, c.id, fmt.Sprint(os.Getpid()))
				}
			}
			if running > 0 {
				send(frameLoopFree, 0, binary.BigEndian.AppendUint32(nil, started))
			}
		}
	}()
	for {
		f, err := readFrame(in)
		if err != nil {
			close(calls)
			return
		}
		if f.typ != frameInvoke {
			continue
		}
		head, _, _ := splitHead(f.payload)
		var h struct{ Path string }
		json.Unmarshal(head, &h)
		c := call{id: f.id, path: h.Path, starved: blocked.Load()}
		if h.Path == "/block" {
			blocked.Store(true) // the loop starts it before it reads a further frame
		}
		calls <- c
	}
}

// respondFrame sends a 200 text answer to call id.
func respondFrame(send func(byte, uint32, []byte), id uint32, body string) {
	hj := []byte(`{"status":200,"headers":[["Content-Type","text/plain; charset=utf-8"]]}`)
	p := binary.BigEndian.AppendUint32(nil, uint32(len(hj)))
	send(frameResponse, id, append(append(p, hj...), body...))
}

func newPoolServer(t *testing.T, mode string, extra ...string) (*Pool, *httptest.Server) {
	t.Helper()
	return newPoolServerWith(t, mode, nil, extra...)
}

// newPoolServerWith is newPoolServer with setup applied to the pool before
// it starts.
func newPoolServerWith(t *testing.T, mode string, setup func(*Pool), extra ...string) (*Pool, *httptest.Server) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(append([]string{"FUNC_PROCESS=" + self, "KUBELESS_INSTALL_VOLUME=" + t.TempDir()}, extra...)...)
	env := append(os.Environ(), "KUBELESS_TEST_WORKER="+mode)
	pool, err := NewPool(cfg, env, io.Discard, os.Stderr, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(pool)
	}
	if err := pool.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { pool.Close(context.Background()) })
	s := NewServer(cfg, pool, prometheus.NewRegistry(), io.Discard, discard)
	s.SetReady()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return pool, ts
}

func TestPoolLoadFailure(t *testing.T) {
	self, _ := os.Executable()
	for _, tt := range []struct{ mode, want string }{
		{"fatal", `cannot load function "hello.foo": hello.py:3: SyntaxError: invalid syntax`},
		{"die", "stopped before loading function hello.foo (exit status 3)"},
	} {
		cfg := testConfig("FUNC_PROCESS="+self, "KUBELESS_WORKERS=2")
		pool, _ := NewPool(cfg, append(os.Environ(), "KUBELESS_TEST_WORKER="+tt.mode), io.Discard, io.Discard, discard)
		err := pool.Start(context.Background())
		pool.Close(context.Background())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Start = %v, want %q", tt.mode, err, tt.want)
		}
	}
}

func TestPoolErrorAndCrashReplacement(t *testing.T) {
	_, ts := newPoolServer(t, "ok", "KUBELESS_WORKERS=1", "KUBELESS_WORKER_CONCURRENCY=4")
	if st, body, _ := get(t, ts.URL+"/error"); st != 500 || body != "Error: ValueError: boom" {
		t.Errorf("error: %d %q", st, body)
	}
	_, pid1, _ := get(t, ts.URL+"/pid")
	if st, _, _ := get(t, ts.URL+"/crash"); st != 502 {
		t.Errorf("crash: %d, want 502", st)
	}
	// The next call waits in the pool until the replacement is ready.
	st, pid2, _ := get(t, ts.URL+"/pid")
	if st != 200 || pid2 == pid1 {
		t.Errorf("after a crash the pool answers from pid %q (before: %q), want a new worker", pid2, pid1)
	}
}

// A timed-out invocation retires its worker: a replacement serves new
// calls, and the old worker is killed only after its other call is answered.
// The calls go to the pool directly, with deadlines the test ends itself:
// the busy call's once both run on the worker, the other's never.
func TestPoolRetireKeepsOtherInvocations(t *testing.T) {
	pool, ts := newPoolServer(t, "ok", "KUBELESS_WORKERS=1", "KUBELESS_MAX_WORKERS=1", "KUBELESS_WORKER_CONCURRENCY=8", "FUNC_TIMEOUT=60")
	_, pid1, _ := get(t, ts.URL+"/pid")
	picked := make(chan struct{}, 2)
	hook := func() { picked <- struct{}{} }
	pool.onPick.Store(&hook)
	busyCtx, timeOut := context.WithCancel(context.Background())
	defer timeOut()
	busy := invokeDirect(busyCtx, pool, "/busy")
	<-picked
	// /after-cancel answers once its worker got a cancel frame: the busy
	// call's, sent when that call times out.
	otherCtx, cancelOther := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelOther()
	other := invokeDirect(otherCtx, pool, "/after-cancel")
	<-picked
	pool.onPick.Store(nil)
	timeOut() // the busy call's deadline
	if err := <-busy; !errors.Is(err, context.Canceled) {
		t.Errorf("busy call: %v, want it abandoned at its deadline", err)
	}
	_, pid2, _ := get(t, ts.URL+"/pid")
	if pid2 == pid1 {
		t.Errorf("a new call went to the retired worker %s", pid1)
	}
	if err := <-other; err != nil {
		t.Errorf("call beside the timed-out one: %v, want it answered by the retired worker", err)
	}
}

// invokeDirect runs one call of path on the pool under ctx, without the
// server (and its deadline), and sends Invoke's error.
func invokeDirect(ctx context.Context, p *Pool, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		rec := httptest.NewRecorder()
		call := &Call{Request: httptest.NewRequest(http.MethodGet, path, nil), Writer: newResponseWriter(rec)}
		err := p.Invoke(ctx, call)
		if err == nil && rec.Body.String() != "slept" {
			err = fmt.Errorf("answered %d %q, want \"slept\"", rec.Code, rec.Body.String())
		}
		done <- err
	}()
	return done
}

func TestPoolPerWorkerConcurrency(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBELESS_TEST_HOLD_DIR", dir) // the workers' environment
	_, ts := newPoolServer(t, "ok", "KUBELESS_WORKERS=2", "KUBELESS_MAX_WORKERS=2", "KUBELESS_WORKER_CONCURRENCY=2", "FUNC_CONCURRENCY=8")
	type answer struct {
		status int
		body   string
		err    error
	}
	answers := make(chan answer, 8)
	for i := 0; i < 8; i++ {
		go func() {
			st, body, _, err := fetch(ts.URL + "/hold")
			answers <- answer{st, body, err}
		}()
	}
	// The barrier: 4 calls (2 workers × 2) are held in the workers at once,
	// 2 in each; the 4 others wait for a slot.
	var held []os.DirEntry
	for deadline := time.Now().Add(30 * time.Second); len(held) < 4; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls reached the workers, want 4", len(held))
		}
		held, _ = os.ReadDir(dir)
	}
	perWorker := map[string]int{}
	for _, e := range held {
		perWorker[strings.SplitN(e.Name(), "-", 2)[0]]++
	}
	if len(held) != 4 || len(perWorker) != 2 {
		t.Errorf("held at the barrier: %d calls in workers %v, want 2 in each of 2", len(held), perWorker)
	}
	if err := os.WriteFile(dir+"/release", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		a := <-answers
		if most, err := strconv.Atoi(a.body); a.err != nil || a.status != 200 || err != nil || most > 2 {
			t.Errorf("call %d: %d %q %v; want 200 and at most 2 calls held at once in its worker", i, a.status, a.body, a.err)
		}
	}
}

// A worker that answers an out-of-range status gets the caller a 502, and
// its slot is free again.
func TestPoolOutOfRangeStatusIs502(t *testing.T) {
	_, ts := newPoolServer(t, "ok", "KUBELESS_WORKERS=1", "KUBELESS_MAX_WORKERS=1", "FUNC_CONCURRENCY=1")
	for i := 0; i < 3; i++ {
		if st, body, _ := get(t, ts.URL+"/status/1000"); st != 502 || !strings.Contains(body, "status 1000") {
			t.Fatalf("status 1000: %d %q, want 502 naming the status", st, body)
		}
	}
	if st, _, _ := get(t, ts.URL+"/status/201"); st != 201 {
		t.Errorf("status 201: %d", st)
	}
}

// A worker stalled in a call gets no new calls: the pool starts another
// and serves them there; once idle, the extra worker stops.
func TestPoolStalledWorkerGetsNoNewCalls(t *testing.T) {
	pool, ts := newPoolServer(t, "ok", "KUBELESS_WORKERS=1", "KUBELESS_MAX_WORKERS=2", "KUBELESS_WORKER_CONCURRENCY=8", "FUNC_TIMEOUT=30")
	_, pid1, _ := get(t, ts.URL+"/pid")
	picked := make(chan struct{}, 1)
	hook := func() { picked <- struct{}{} }
	pool.onPick.Store(&hook)
	busy := goFetch(ts.URL + "/after-cancel") // never answers by itself
	<-picked
	pool.onPick.Store(nil)
	// Past StallAfter without progress the pool starts a spare worker.
	waitWorkers(t, pool, 2)
	for i := 0; i < 5; i++ {
		st, pid, _ := get(t, ts.URL+"/pid")
		if st != 200 || pid == pid1 {
			t.Errorf("call %d beside a stalled one: %d from pid %s (the stalled worker is %s)", i, st, pid, pid1)
			break
		}
	}
	select {
	case r := <-busy:
		t.Fatalf("the stalled call answered: %+v", r)
	default:
	}
	pool.Close(context.Background())
	<-busy
}

// fakeClock is a pool's clock that moves only when the test moves it.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *fakeClock) setOn(p *Pool)       { p.now = c.Now }

func workerCount(p *Pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.workers)
}

// busyCall starts a call and returns once the pool has chosen its worker.
func busyCall(t *testing.T, p *Pool, url string) <-chan result {
	t.Helper()
	picked := make(chan struct{}, 1)
	hook := func() { picked <- struct{}{} }
	p.onPick.Store(&hook)
	ch := goFetch(url)
	<-picked
	p.onPick.Store(nil)
	return ch
}

// A worker running a call is stalled once it has shown no progress for
// more than KUBELESS_WORKER_STALL_AFTER by the pool's clock, which the test
// moves: up to the threshold, calls beside the busy one still go to its
// worker and the pool does not grow; past it, the next call goes to a new
// worker. The threshold is 2 s here, not the default 50 ms.
func TestPoolStallAfterFollowsItsClock(t *testing.T) {
	clock := newFakeClock()
	pool, ts := newPoolServerWith(t, "ok", clock.setOn, "KUBELESS_WORKERS=1", "KUBELESS_MAX_WORKERS=2",
		"KUBELESS_WORKER_CONCURRENCY=8", "FUNC_TIMEOUT=30", "KUBELESS_WORKER_STALL_AFTER=2")
	// A call waits for the new worker however long it takes to start.
	never := func(time.Duration) <-chan time.Time { return make(chan time.Time) }
	pool.growTimer.Store(&never)
	_, pid1, _ := get(t, ts.URL+"/pid")
	busy := busyCall(t, pool, ts.URL+"/after-cancel") // never answers by itself
	for i := 0; i < 3; i++ {
		// Each answer is progress of the worker: the clock moves 2 s (not
		// past the threshold) since the last one.
		clock.Add(2 * time.Second)
		if st, pid, _ := get(t, ts.URL+"/pid"); st != 200 || pid != pid1 {
			t.Errorf("call %d, 2 s after the worker's last progress: %d from pid %s, want the busy worker %s", i, st, pid, pid1)
		}
	}
	if n := workerCount(pool); n != 1 {
		t.Errorf("the pool has %d workers while none is stalled, want 1", n)
	}
	clock.Add(2*time.Second + 1)
	if st, pid, _ := get(t, ts.URL+"/pid"); st != 200 || pid == pid1 {
		t.Errorf("call past the threshold: %d from pid %s, want a new worker (the stalled one is %s)", st, pid, pid1)
	}
	pool.Close(context.Background())
	<-busy
}

// When only a stalled worker is left and the new worker does not come, a
// call waits KUBELESS_WORKER_GROW_WAIT for it, then the stalled worker
// serves it. The test ends the wait itself, once the call waits.
func TestPoolStalledWorkerServesAfterGrowWait(t *testing.T) {
	clock := newFakeClock()
	pool, ts := newPoolServerWith(t, "first-only", clock.setOn, "KUBELESS_WORKERS=1", "KUBELESS_MAX_WORKERS=2",
		"KUBELESS_WORKER_CONCURRENCY=8", "FUNC_TIMEOUT=30", "KUBELESS_WORKER_GROW_WAIT=0.5")
	waits := make(chan time.Duration, 1)
	waitOver := make(chan time.Time)
	after := func(d time.Duration) <-chan time.Time {
		waits <- d
		return waitOver
	}
	pool.growTimer.Store(&after)
	_, pid1, _ := get(t, ts.URL+"/pid")
	busy := busyCall(t, pool, ts.URL+"/after-cancel") // never answers by itself
	clock.Add(time.Hour)                              // the busy worker is stalled
	call := goFetch(ts.URL + "/pid")
	if d := <-waits; d != 500*time.Millisecond {
		t.Errorf("the call waits %v for a new worker, want KUBELESS_WORKER_GROW_WAIT's 500ms", d)
	}
	select {
	case r := <-call:
		t.Fatalf("the call was answered while it waited for a new worker: %+v", r)
	default:
	}
	close(waitOver)
	if r := <-call; r.err != nil || r.status != 200 || r.body != pid1 {
		t.Errorf("after the wait: %+v, want 200 from the stalled worker %s", r, pid1)
	}
	if n := workerCount(pool); n != 1 {
		t.Errorf("the pool has %d ready workers, want 1 (the second never loads)", n)
	}
	pool.Close(context.Background())
	<-busy
}

// Calls beyond every worker's concurrency grow the pool up to
// KUBELESS_MAX_WORKERS; idle workers beyond KUBELESS_WORKERS then stop.
// The four calls meet: each waits until all four run at once, which four
// single-call workers allow and a smaller pool never does.
func TestPoolGrowsAndShrinks(t *testing.T) {
	t.Setenv("KUBELESS_TEST_MEET_DIR", t.TempDir())
	clock := newFakeClock()
	pool, ts := newPoolServerWith(t, "ok", clock.setOn, "KUBELESS_WORKERS=1", "KUBELESS_MAX_WORKERS=4",
		"KUBELESS_WORKER_CONCURRENCY=1", "KUBELESS_WORKER_IDLE_AFTER=30")
	var chans []<-chan result
	for i := 0; i < 4; i++ {
		chans = append(chans, goFetch(ts.URL+"/meet/4"))
	}
	waitWorkers(t, pool, 4)
	if got := promtestutil.ToFloat64(pool.Collector()); got != 4 {
		t.Errorf("kubeless_host_workers = %v with 4 workers", got)
	}
	for _, ch := range chans {
		if r := <-ch; r.err != nil || r.body != "met" {
			t.Errorf("call: %q %v, want the four calls to run at once", r.body, r.err)
		}
	}
	// Idle, but not for KUBELESS_WORKER_IDLE_AFTER by the pool's clock: the
	// extra workers stay.
	if n := workerCount(pool); n != 4 {
		t.Errorf("the pool has %d workers before they were idle for 30 s, want 4", n)
	}
	clock.Add(30*time.Second + 1)
	waitWorkers(t, pool, 1)
	if got := promtestutil.ToFloat64(pool.Collector()); got != 1 {
		t.Errorf("kubeless_host_workers = %v after the pool shrank to 1", got)
	}
}

// waitWorkers waits until the pool has n routable workers.
func waitWorkers(t *testing.T, p *Pool, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		got, changed := len(p.workers), p.changed
		p.mu.Unlock()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the pool has %d workers after 10 s, want %d", got, n)
		}
	}
}

// TestWorkersDoNotInheritInstanceToken: the language workers, which run
// the function's code, get the host's environment but the instance token.
func TestWorkersDoNotInheritInstanceToken(t *testing.T) {
	self, _ := os.Executable()
	tok := contract.EnvInstanceToken + "=tok-123"
	cfg := testConfig("FUNC_PROCESS="+self, "KUBELESS_INSTALL_VOLUME="+t.TempDir(), tok)
	env := append(os.Environ(), "KUBELESS_TEST_WORKER=ok", tok, "OTHER_VAR=kept")
	pool, err := NewPool(cfg, env, io.Discard, os.Stderr, discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { pool.Close(context.Background()) })
	s := NewServer(cfg, pool, prometheus.NewRegistry(), io.Discard, discard)
	s.SetReady()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	for name, want := range map[string]string{contract.EnvInstanceToken: "false=", "OTHER_VAR": "true=kept"} {
		if st, body, _ := get(t, ts.URL+"/env/"+name, contract.HeaderInstanceToken, "tok-123"); st != 200 || body != want {
			t.Errorf("worker's %s: %d %q, want %q", name, st, body, want)
		}
	}
}
