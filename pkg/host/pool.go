package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubeless/kubeless/pkg/contract"
)

// Pool runs the function in language worker processes started from
// FUNC_PROCESS and speaks docs/worker-protocol.md with them.
//
// Invocations go to the live worker with the fewest running invocations. A
// worker whose invocation overruns its deadline is retired: it gets no new
// invocations, a replacement is started at once, and it is killed (with its
// whole process group) as soon as its other running invocations are
// answered, so nothing running elsewhere is lost.
//
// While any call runs, the pool keeps KUBELESS_WORKER_MIN_SPARE idle
// workers started beside the busy ones, up to MaxWorkers (PHP-FPM's
// pm.min_spare_servers); by default one when the workers run their calls on
// one event loop, none otherwise (see Config.MinSpare).
type Pool struct {
	cfg    Config
	logger *slog.Logger
	stdout io.Writer
	stderr io.Writer
	env    []string

	mu      sync.Mutex
	workers []*worker        // routable workers (ready, not retired)
	all     map[*worker]bool // every started worker not yet reaped
	changed chan struct{}    // closed when workers changes
	closed  bool
	nextID  int
	sockDir string
	heads   headCache
	started bool
	// starting counts the workers started to grow the pool, not yet ready.
	starting int
	// eventLoop: the workers run their calls on one event loop (a ready
	// worker said so in its R frame).
	eventLoop bool

	onPick atomic.Pointer[func()] // test hook: a worker was chosen for a call
	onWait atomic.Pointer[func()] // test hook: a call waits in pick for a worker
	// onWatch is a test hook: watch ended one pass (spare and idle rules).
	onWatch atomic.Pointer[func()]
	// now is the clock of the stall and idle rules (time.Now; a test sets
	// another before Start, and moves it on events).
	now func() time.Time
	// growTimer, when set, replaces time.After for the wait of GrowWait
	// (test hook: the test ends the wait on an event).
	growTimer atomic.Pointer[func(time.Duration) <-chan time.Time]
}

// NewPool returns a pool for cfg. Workers inherit env (plus their own
// variables) but the instance token, which is the host's alone, and write
// to stdout and stderr.
func NewPool(cfg Config, env []string, stdout, stderr io.Writer, logger *slog.Logger) (*Pool, error) {
	if strings.TrimSpace(cfg.Process) == "" {
		return nil, fmt.Errorf("%s is not set: set it to the command that starts the language worker, for example FUNC_PROCESS=\"python3 /kubeless-runtime/python/kubeless.py\"", contract.EnvFuncProcess)
	}
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, contract.EnvInstanceToken+"=")
	})
	return &Pool{
		cfg: cfg, env: env, stdout: stdout, stderr: stderr, logger: logger,
		all: map[*worker]bool{}, changed: make(chan struct{}), now: time.Now,
	}, nil
}

// Collector returns the pool's own metric: kubeless_host_workers, the
// language workers that take calls (ready and not retired), which grows
// while workers are busy or stalled and shrinks when they idle.
func (p *Pool) Collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kubeless_host_workers",
		Help: "Language worker processes that take calls",
	}, func() float64 {
		p.mu.Lock()
		defer p.mu.Unlock()
		return float64(len(p.workers))
	})
}

// DefaultConcurrency is every worker's share added up, at the pool's
// largest.
func (p *Pool) DefaultConcurrency() int { return p.cfg.MaxWorkers * p.cfg.WorkerConcurrency }

// Start starts the first worker and waits until it has loaded the
// function; the other KUBELESS_WORKERS-1 start in the background, so that
// an instance answers after one worker's start (its first call of a start
// from zero waits for no more), and calls that find the first worker busy
// wait for the next one that is ready. A function that does not load fails
// in the first worker, whose error Start returns.
func (p *Pool) Start(ctx context.Context) error {
	if p.cfg.WorkerMode == ModeHTTP {
		dir, err := os.MkdirTemp("", "kubeless-workers-")
		if err != nil {
			return fmt.Errorf("create worker socket folder: %w", err)
		}
		p.sockDir = dir
	}
	if _, err := p.startWorker(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	p.started = true
	for i := 1; i < p.cfg.Workers && !p.closed; i++ {
		p.growLocked()
	}
	p.mu.Unlock()
	go p.watch()
	return nil
}

// Close kills every worker.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	ws := make([]*worker, 0, len(p.all))
	for w := range p.all {
		ws = append(ws, w)
	}
	p.workers = nil
	p.mu.Unlock()
	for _, w := range ws {
		w.kill()
	}
	for _, w := range ws {
		select {
		case <-w.exited:
		case <-ctx.Done():
		}
	}
	if p.sockDir != "" {
		os.RemoveAll(p.sockDir)
	}
	return nil
}

func (p *Pool) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Pool) removeLocked(w *worker) {
	for i, x := range p.workers {
		if x == w {
			p.workers = append(p.workers[:i], p.workers[i+1:]...)
			p.notifyLocked()
			return
		}
	}
}

// replace starts a new worker, retrying with backoff while it fails to load.
func (p *Pool) replace() {
	backoff := 100 * time.Millisecond
	for {
		_, err := p.startWorker(context.Background())
		if err == nil {
			return
		}
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		p.logger.Error("cannot start a replacement worker", "err", oneLine(err), "retry_in", backoff)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

// pick returns a worker for one call and counts the call on it; it waits
// while every worker is full or none is ready. It prefers, among workers
// below KUBELESS_WORKER_CONCURRENCY, the one with the fewest running calls
// that is not stalled: a worker with calls running that has shown no
// progress (a frame, an answer) for StallAfter may be stuck in a CPU-bound
// call, and a call sent to it would wait behind that one. When only
// stalled or full workers are left the pool grows, up to MaxWorkers, and
// the call waits for the new worker, for GrowWait at most; a stalled worker
// serves it when that wait is over or when the pool cannot grow.
//
// A worker that runs its calls on one event loop (Node.js) and has calls
// running is not free until its loop has run free since it started every
// call sent to it (an L frame): a call that began a busy loop blocks that
// loop, and a call sent beside it would never start. A call that finds such
// workers and no free one waits for their L frame, or for the stall
// threshold, after which the pool grows as above; the pool does not grow
// before, as their L frame normally follows within a loop turn. Such a
// worker never serves a call as a stalled one: the call waits for its L
// frame, a call's end, or a new worker.
//
// Each call that takes a worker may start spare workers (keepSpareLocked),
// so that the next call finds an idle one ready even if this one blocks its
// worker: with the default spare of an event-loop worker, a call sent right
// after a busy loop began goes to the spare at once instead of waiting for
// the stall threshold and a worker's start.
func (p *Pool) pick(ctx context.Context) (*worker, error) {
	var waitUntil <-chan time.Time // bounds the wait for a new worker
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errors.New("worker pool is shut down")
		}
		now := p.now().UnixNano()
		free, stalled, unproven, _ := p.candidatesLocked(now)
		best := free
		if best == nil && !unproven {
			if p.canGrowLocked() {
				p.growLocked()
			}
			timedOut := false
			if waitUntil != nil {
				select {
				case <-waitUntil:
					timedOut = true
				default:
				}
			}
			switch {
			case p.starting == 0 || timedOut:
				// Nothing is coming soon: a stalled worker may be merely
				// slow (threads sharing a lock), so it serves the call. A
				// blocked one does not: the call waits for its L frame.
				best = stalled
			case stalled != nil && waitUntil == nil:
				if after := p.growTimer.Load(); after != nil {
					waitUntil = (*after)(p.cfg.GrowWait)
				} else {
					waitUntil = time.After(p.cfg.GrowWait)
				}
			}
		}
		if best != nil {
			best.mu.Lock()
			if !best.retired && best.inflight < p.cfg.WorkerConcurrency {
				if best.inflight == 0 {
					best.progress.Store(now)
				}
				best.inflight++
				best.sent++
				best.mu.Unlock()
				p.keepSpareLocked()
				p.mu.Unlock()
				return best, nil
			}
			best.mu.Unlock()
		}
		changed := p.changed
		p.mu.Unlock()
		if hook := p.onWait.Load(); hook != nil {
			(*hook)()
		}
		select {
		case <-changed:
		case <-waitUntil:
			waitUntil = closedTime
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// closedTime is a channel that is always ready.
var closedTime = func() <-chan time.Time {
	ch := make(chan time.Time)
	close(ch)
	return ch
}()

// candidatesLocked looks at the workers below their concurrency. It returns
// the least loaded one that is not stalled and may take a call at once; the
// least loaded stalled one that may serve a call when no other comes; and
// whether some worker waits for its event loop to prove free
// (loopReadyLocked), not stalled yet (unproven) or stalled (blocked: its
// loop may be blocked by a busy call, so a call sent to it would not start
// before that call ends; it serves no call until its loop proves free).
func (p *Pool) candidatesLocked(now int64) (free, stalled *worker, unproven, blocked bool) {
	freeN, stalledN := 0, 0
	for _, w := range p.workers {
		w.mu.Lock()
		n := w.inflight
		ready := w.loopReadyLocked()
		w.mu.Unlock()
		if n >= p.cfg.WorkerConcurrency {
			continue
		}
		isStalled := n > 0 && now-w.progress.Load() > int64(p.cfg.StallAfter)
		switch {
		case isStalled && !ready:
			blocked = true
		case isStalled:
			if stalled == nil || n < stalledN {
				stalled, stalledN = w, n
			}
		case !ready:
			unproven = true
		case free == nil || n < freeN:
			free, freeN = w, n
		}
	}
	return free, stalled, unproven, blocked
}

// canGrowLocked reports whether one more worker may be started.
func (p *Pool) canGrowLocked() bool {
	return p.started && !p.closed && len(p.workers)+p.starting < p.cfg.MaxWorkers
}

// minSpareLocked is how many idle workers the pool keeps beside the busy
// ones while any call runs: KUBELESS_WORKER_MIN_SPARE, by default 1 when
// the workers run their calls on one event loop and 0 otherwise.
func (p *Pool) minSpareLocked() int {
	switch {
	case p.cfg.MinSpare >= 0:
		return p.cfg.MinSpare
	case p.eventLoop:
		return 1
	}
	return 0
}

// idleLocked counts the routable workers running no call, and reports
// whether any runs one.
func (p *Pool) idleLocked() (idle int, busy bool) {
	for _, w := range p.workers {
		w.mu.Lock()
		if w.inflight == 0 {
			idle++
		} else {
			busy = true
		}
		w.mu.Unlock()
	}
	return idle, busy
}

// keepSpareLocked starts workers, while any call runs, until the idle
// workers and those starting make minSpareLocked, up to MaxWorkers.
func (p *Pool) keepSpareLocked() {
	want := p.minSpareLocked()
	if want == 0 {
		return
	}
	idle, busy := p.idleLocked()
	for busy && idle+p.starting < want && p.canGrowLocked() {
		p.growLocked()
	}
}

// growLocked starts one more worker in the background.
func (p *Pool) growLocked() {
	p.starting++
	go func() {
		_, err := p.startWorker(context.Background())
		p.mu.Lock()
		p.starting--
		p.notifyLocked()
		closed := p.closed
		p.mu.Unlock()
		if err != nil && !closed {
			p.logger.Error("cannot start another worker", "err", oneLine(err))
		}
	}()
}

// watch keeps a spare worker while some are stalled (so that a call
// arriving next is served at once) and stops workers beyond KUBELESS_WORKERS
// that were idle for IdleAfter, but the spares kept while calls run
// (minSpareLocked), until the pool closes.
func (p *Pool) watch() {
	t := time.NewTicker(max(p.cfg.StallAfter/2, time.Millisecond))
	defer t.Stop()
	for range t.C {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		now := p.now()
		free, stalled, _, blocked := p.candidatesLocked(now.UnixNano())
		// A blocked event-loop worker counts as stalled: calls waiting for
		// it get the new worker when it is ready.
		if free == nil && (stalled != nil || blocked) && p.starting == 0 && p.canGrowLocked() {
			p.growLocked()
		}
		keep := 0 // idle workers kept as spares
		idle, busy := p.idleLocked()
		if busy {
			keep = p.minSpareLocked()
		}
		var stop []*worker
		for i := len(p.workers) - 1; i >= 0 && len(p.workers) > p.cfg.Workers && idle > keep; i-- {
			w := p.workers[i]
			w.mu.Lock()
			if w.inflight == 0 && !w.retired && now.Sub(w.idleSince) > p.cfg.IdleAfter {
				w.retired = true
				stop = append(stop, w)
				p.workers = append(p.workers[:i], p.workers[i+1:]...)
				idle--
			}
			w.mu.Unlock()
		}
		if len(stop) > 0 {
			p.notifyLocked()
		}
		p.mu.Unlock()
		for _, w := range stop {
			p.logger.Info("stopping an idle worker", "worker", w.id)
			w.kill()
		}
		if hook := p.onWatch.Load(); hook != nil {
			(*hook)()
		}
	}
}

// Invoke sends the invocation to a worker and relays its answer.
func (p *Pool) Invoke(ctx context.Context, call *Call) error {
	w, err := p.pick(ctx)
	if err != nil {
		return err
	}
	if hook := p.onPick.Load(); hook != nil {
		(*hook)()
	}
	if p.cfg.WorkerMode == ModeHTTP {
		return w.invokeHTTP(ctx, call)
	}
	return w.invokeFrames(ctx, call)
}
