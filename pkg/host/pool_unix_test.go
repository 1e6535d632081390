//go:build unix

package host

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Start answers once the first worker has loaded the function; the other
// KUBELESS_WORKERS-1 start meanwhile, held here behind a FIFO until the
// first worker has served a call.
func TestPoolStartWaitsForTheFirstWorkerOnly(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	gate := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(gate, "open"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("FUNC_PROCESS="+self, "KUBELESS_INSTALL_VOLUME="+t.TempDir(), "KUBELESS_WORKERS=3", "KUBELESS_MAX_WORKERS=3")
	pool, err := NewPool(cfg, append(os.Environ(), "KUBELESS_TEST_WORKER=gate", "KUBELESS_TEST_GATE_DIR="+gate), io.Discard, os.Stderr, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	if err := pool.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	pool.mu.Lock()
	ready, starting := len(pool.workers), pool.starting
	pool.mu.Unlock()
	if ready != 1 || starting != 2 {
		t.Fatalf("after Start: %d workers ready and %d starting, want 1 and 2", ready, starting)
	}
	if err := <-invokeDirectPath(context.Background(), pool, "/pid"); err != nil {
		t.Fatalf("call while the other workers start: %v", err)
	}
	// Open the gate (and keep it open until every worker passed it).
	g, err := os.OpenFile(filepath.Join(gate, "open"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	waitWorkers(t, pool, 3)
}

// invokeDirectPath runs one call of path on the pool and sends Invoke's
// error, or why the answer is not a 200.
func invokeDirectPath(ctx context.Context, p *Pool, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		rec := httptest.NewRecorder()
		err := p.Invoke(ctx, &Call{Request: httptest.NewRequest(http.MethodGet, path, nil), Writer: newResponseWriter(rec)})
		if err == nil && rec.Code != http.StatusOK {
			err = fmt.Errorf("answered %d %q", rec.Code, rec.Body.String())
		}
		done <- err
	}()
	return done
}

// newLoopPool starts a pool of event-loop test workers (testLoopWorker) on
// the test's clock, one worker up to two (extra may change the settings),
// serves one call, and returns the pool with its server, the pid of its
// first worker and the FIFO that ends a /block call.
func newLoopPool(t *testing.T, clock *fakeClock, extra ...string) (*Pool, *httptest.Server, string, string) {
	t.Helper()
	gate := t.TempDir()
	unblock := filepath.Join(gate, "unblock")
	if err := syscall.Mkfifo(unblock, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBELESS_TEST_GATE_DIR", gate)
	pool, ts := newPoolServerWith(t, "loop", clock.setOn, append([]string{"KUBELESS_WORKERS=1", "KUBELESS_MAX_WORKERS=2",
		"KUBELESS_WORKER_CONCURRENCY=8", "FUNC_TIMEOUT=30"}, extra...)...)
	st, pid1, _ := get(t, ts.URL+"/pid")
	if st != 200 {
		t.Fatalf("first call: %d %q", st, pid1)
	}
	return pool, ts, pid1, unblock
}

// openGate opens the FIFO for writing, which ends the /block call reading
// it, and closes it.
func openGate(t *testing.T, fifo string) {
	t.Helper()
	g, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
}

// pickOrWait starts a call of url and reports whether the pool sent it to
// a worker (true) or made it wait (false), whichever happens first.
func pickOrWait(t *testing.T, p *Pool, url string) (<-chan result, bool) {
	t.Helper()
	decided := make(chan bool, 2)
	picked := func() { decided <- true }
	waits := func() {
		select {
		case decided <- false:
		default:
		}
	}
	p.onPick.Store(&picked)
	p.onWait.Store(&waits)
	ch := goFetch(url)
	sent := <-decided
	p.onPick.Store(nil)
	p.onWait.Store(nil)
	return ch, sent
}

// noSpare turns off the spare worker that event-loop workers get by default
// (KUBELESS_WORKER_MIN_SPARE), for the tests of the dispatch by L frames
// alone.
const noSpare = "KUBELESS_WORKER_MIN_SPARE=0"

// A worker that runs its calls on one event loop gets no further call while
// a call it started has not let its loop run (no L frame covers it): the
// call waits, the worker's next sign that its loop is free (here the
// blocking call's answer) wakes it, and it goes to that worker, which never
// saw it while blocked. The pool's
// clock does not move, so nothing counts as stalled.
func TestPoolEventLoopCallWaitsForLoopFree(t *testing.T) {
	pool, ts, pid1, unblock := newLoopPool(t, newFakeClock(), noSpare)
	busy := busyCall(t, pool, ts.URL+"/block")
	call, sent := pickOrWait(t, pool, ts.URL+"/pid")
	if sent {
		openGate(t, unblock)
		t.Fatalf("a call was sent to the worker whose event loop a call blocks (it answered %+v)", <-call)
	}
	openGate(t, unblock)
	if r := <-busy; r.err != nil || r.body != "unblocked" {
		t.Errorf("blocking call: %+v", r)
	}
	if r := <-call; r.err != nil || r.status != 200 || r.body != pid1 {
		t.Errorf("waiting call: %+v, want 200 from the first worker %s once its loop was free", r, pid1)
	}
	if n := workerCount(pool); n != 1 {
		t.Errorf("the pool has %d workers, want 1: none was stalled", n)
	}
}

// Once the blocked worker counts as stalled (the clock passes
// KUBELESS_WORKER_STALL_AFTER), the pool grows and the waiting call goes to
// the new worker, however long it takes to start (the blocked worker is no
// fallback after KUBELESS_WORKER_GROW_WAIT).
func TestPoolEventLoopCallGoesToNewWorkerOnceStalled(t *testing.T) {
	clock := newFakeClock()
	pool, ts, pid1, unblock := newLoopPool(t, clock, noSpare)
	busy := busyCall(t, pool, ts.URL+"/block")
	defer func() {
		openGate(t, unblock)
		<-busy
	}()
	call, sent := pickOrWait(t, pool, ts.URL+"/pid")
	if sent {
		t.Fatal("a call was sent to the worker whose event loop a call blocks")
	}
	clock.Add(time.Hour)
	if r := <-call; r.err != nil || r.status != 200 || r.body == pid1 || r.body == "starved" {
		t.Errorf("call beside a blocked loop: %+v, want 200 from a new worker (the blocked one is %s)", r, pid1)
	}
}

// A call that is running but lets the event loop run (it waits on I/O)
// does not hold further calls back: its worker serves them at once, and the
// pool does not grow.
func TestPoolEventLoopServesBesideAYieldingCall(t *testing.T) {
	pool, ts, pid1, _ := newLoopPool(t, newFakeClock(), noSpare)
	busy := busyCall(t, pool, ts.URL+"/yield") // never answers by itself
	for i := 0; i < 3; i++ {
		if st, pid, _ := get(t, ts.URL+"/pid"); st != 200 || pid != pid1 {
			t.Errorf("call %d beside a yielding one: %d %q, want the first worker %s", i, st, pid, pid1)
		}
	}
	if n := workerCount(pool); n != 1 {
		t.Errorf("the pool has %d workers, want 1", n)
	}
	pool.Close(context.Background())
	<-busy
}

// A stalled worker whose event loop has not proved free never serves a
// call as a stalled worker would when the pool cannot grow: the call waits
// until the loop is free (the blocking call's answer here), and the worker
// never sees it while blocked.
func TestPoolEventLoopBlockedWorkerIsNoFallback(t *testing.T) {
	clock := newFakeClock()
	pool, ts, pid1, unblock := newLoopPool(t, clock, noSpare)
	pool.mu.Lock()
	pool.cfg.MaxWorkers = 1 // the pool cannot grow
	pool.mu.Unlock()
	busy := busyCall(t, pool, ts.URL+"/block")
	clock.Add(time.Hour) // the blocked worker is stalled
	call, sent := pickOrWait(t, pool, ts.URL+"/pid")
	openGate(t, unblock)
	if sent {
		t.Fatalf("a call was sent to the stalled worker whose event loop a call blocks (it answered %+v)", <-call)
	}
	if r := <-busy; r.err != nil || r.body != "unblocked" {
		t.Errorf("blocking call: %+v", r)
	}
	if r := <-call; r.err != nil || r.status != 200 || r.body != pid1 {
		t.Errorf("waiting call: %+v, want 200 from the first worker %s once its loop was free", r, pid1)
	}
}

// watchPasses waits until the pool's watch has ended n passes after it was
// called (the first may have begun before; the others began after).
func watchPasses(t *testing.T, p *Pool, n int) {
	t.Helper()
	passes := make(chan struct{}, 1)
	hook := func() {
		select {
		case passes <- struct{}{}:
		default:
		}
	}
	p.onWatch.Store(&hook)
	defer p.onWatch.Store(nil)
	for i := 0; i < n; i++ {
		select {
		case <-passes:
		case <-time.After(10 * time.Second):
			t.Fatalf("the pool's watch ended %d passes in 10 s, want %d", i, n)
		}
	}
}

// With the default spare of event-loop workers (KUBELESS_WORKER_MIN_SPARE
// unset), the pool keeps an idle worker started beside those running calls:
// a call sent right after another one blocked its worker's loop goes to the
// spare at once, without waiting for the stall threshold or for a worker's
// start (the pool's clock does not move, so nothing is stalled); as it
// takes the spare, the pool starts a new one.
func TestPoolEventLoopSpareTakesACallAtOnce(t *testing.T) {
	pool, ts, pid1, unblock := newLoopPool(t, newFakeClock(), "KUBELESS_MAX_WORKERS=3")
	waitWorkers(t, pool, 2) // the first call started a spare
	busy := busyCall(t, pool, ts.URL+"/block")
	defer func() {
		openGate(t, unblock)
		if r := <-busy; r.err != nil || r.body != "unblocked" {
			t.Errorf("blocking call: %+v", r)
		}
	}()
	call, sent := pickOrWait(t, pool, ts.URL+"/pid")
	if !sent {
		t.Error("a call sent beside a blocked loop waited, want it sent at once to the idle spare")
	}
	if r := <-call; r.err != nil || r.status != 200 || r.body == pid1 || r.body == "starved" {
		t.Errorf("call beside a blocked loop: %+v, want 200 from the spare (the blocked worker is %s)", r, pid1)
	}
	waitWorkers(t, pool, 3) // a new spare
}

// Idle workers beyond KUBELESS_WORKERS stop after KUBELESS_WORKER_IDLE_AFTER
// but the spare kept while a call runs; with no call running, the spare
// stops too.
func TestPoolEventLoopSurplusSparesStopWhenIdle(t *testing.T) {
	clock := newFakeClock()
	pool, ts, _, unblock := newLoopPool(t, clock, "KUBELESS_MAX_WORKERS=3", "KUBELESS_WORKER_IDLE_AFTER=30")
	waitWorkers(t, pool, 2)
	busy := busyCall(t, pool, ts.URL+"/block")
	blocked := true
	defer func() {
		if blocked {
			openGate(t, unblock)
			<-busy
		}
	}()
	// The call takes the spare, and the pool starts a third worker.
	if st, body, _ := get(t, ts.URL+"/pid"); st != 200 || body == "starved" {
		t.Fatalf("call beside a blocked loop: %d %q", st, body)
	}
	waitWorkers(t, pool, 3)
	// Both idle workers have been idle for longer than the idle rule: one
	// stops, the other stays as the spare.
	clock.Add(30*time.Second + 1)
	watchPasses(t, pool, 2)
	if n := workerCount(pool); n != 2 {
		t.Errorf("with one call running, the pool has %d workers after the idle rule, want 2 (the busy one and one spare)", n)
	}
	openGate(t, unblock)
	blocked = false
	if r := <-busy; r.err != nil || r.body != "unblocked" {
		t.Errorf("blocking call: %+v", r)
	}
	clock.Add(30*time.Second + 1)
	waitWorkers(t, pool, 1)
}

// Workers that do not run their calls on one event loop get no spare
// unless KUBELESS_WORKER_MIN_SPARE asks for one.
func TestPoolSpareByDefaultOnlyForEventLoopWorkers(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra []string
		want  int
	}{
		{name: "default", want: 1},
		{name: "KUBELESS_WORKER_MIN_SPARE=1", extra: []string{"KUBELESS_WORKER_MIN_SPARE=1"}, want: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pool, ts := newPoolServerWith(t, "ok", newFakeClock().setOn, append([]string{"KUBELESS_WORKERS=1",
				"KUBELESS_MAX_WORKERS=3", "KUBELESS_WORKER_CONCURRENCY=8", "FUNC_TIMEOUT=30"}, tt.extra...)...)
			busy := busyCall(t, pool, ts.URL+"/after-cancel") // never answers by itself
			// Before the server's Close, which waits for the call.
			t.Cleanup(func() {
				pool.Close(context.Background())
				<-busy
			})
			waitWorkers(t, pool, tt.want)
			watchPasses(t, pool, 2)
			pool.mu.Lock()
			n, starting := len(pool.workers), pool.starting
			pool.mu.Unlock()
			if n != tt.want || starting != 0 {
				t.Errorf("with one call running: %d workers and %d starting, want %d and 0", n, starting, tt.want)
			}
		})
	}
}

// Spares count towards KUBELESS_MAX_WORKERS: with two asked for and room
// for one, the pool starts one.
func TestPoolSparesStopAtMaxWorkers(t *testing.T) {
	pool, ts := newPoolServerWith(t, "ok", newFakeClock().setOn, "KUBELESS_WORKERS=1", "KUBELESS_MAX_WORKERS=2",
		"KUBELESS_WORKER_CONCURRENCY=8", "FUNC_TIMEOUT=30", "KUBELESS_WORKER_MIN_SPARE=2")
	busy := busyCall(t, pool, ts.URL+"/after-cancel") // never answers by itself
	// Before the server's Close, which waits for the call.
	t.Cleanup(func() {
		pool.Close(context.Background())
		<-busy
	})
	pool.mu.Lock()
	n, starting := len(pool.workers), pool.starting
	pool.mu.Unlock()
	if n+starting != 2 {
		t.Errorf("with one call running: %d workers and %d starting, want 2 in all (KUBELESS_MAX_WORKERS)", n, starting)
	}
	waitWorkers(t, pool, 2)
}
