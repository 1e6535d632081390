package cron

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Func is a job. ctx ends when the job is removed or the scheduler stops;
// tick is the scheduled time being run (in the scheduler's location).
type Func func(ctx context.Context, tick time.Time)

// ErrStopped is returned by Set after Stop.
var ErrStopped = errors.New("cron scheduler is stopped")

// maxWait bounds how long the scheduler sleeps before it reads the clock
// again, so that a wall-clock jump or a suspended machine delays a tick by
// at most this much.
const maxWait = time.Minute

// Options configures a Scheduler. The zero value is usable.
type Options struct {
	// Clock is the source of time; nil means SystemClock.
	Clock Clock
	// Location is the time zone schedules are read in (unless they name one
	// with CRON_TZ=); nil means time.Local.
	Location *time.Location
	// Logger receives skipped ticks and panicking jobs; nil discards them.
	Logger *slog.Logger
}

// JobStatus describes one job, for status displays.
type JobStatus struct {
	// Name is the job's name.
	Name string
	// Schedule is the expression the job was set with.
	Schedule string
	// Next is the next tick, or the zero time if the schedule has no more.
	Next time.Time
	// Running reports whether a run is in progress.
	Running bool
	// Runs counts the runs started.
	Runs int
	// LastTick is the tick of the latest run started.
	LastTick time.Time
	// Skipped counts the ticks skipped because the previous run was still
	// going.
	Skipped int
	// LastSkipped is the latest skipped tick.
	LastSkipped time.Time
}

// Scheduler runs named jobs on cron schedules. Runs of one name never
// overlap. It is safe for concurrent use.
type Scheduler struct {
	clock Clock
	loc   *time.Location
	log   *slog.Logger

	ctx      context.Context // parent of every run; cancelled by Stop
	cancel   context.CancelFunc
	wake     chan struct{}
	stopping chan struct{}
	loopDone chan struct{}
	stopOnce sync.Once
	runs     sync.WaitGroup

	mu     sync.Mutex
	jobs   map[string]*job
	states map[string]*state // outlives its job while a run is going
	closed bool
}

type job struct {
	spec  string
	sched Schedule
	fn    Func
	next  time.Time
	st    *state
}

type state struct {
	running     bool
	cancel      context.CancelFunc
	runs        int
	lastTick    time.Time
	skipped     int
	lastSkipped time.Time
}

// NewScheduler returns a running Scheduler with no jobs. Call Stop to end it.
func NewScheduler(opts Options) *Scheduler {
	s := &Scheduler{
		clock:    opts.Clock,
		loc:      opts.Location,
		log:      opts.Logger,
		wake:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
		loopDone: make(chan struct{}),
		jobs:     make(map[string]*job),
		states:   make(map[string]*state),
	}
	if s.clock == nil {
		s.clock = SystemClock
	}
	if s.loc == nil {
		s.loc = time.Local
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.loop()
	return s
}

// Set adds the job name, or replaces its schedule and function. A run in
// progress is not interrupted, and the next tick is skipped if it is still
// going. The error is a *ScheduleError for a bad expression.
func (s *Scheduler) Set(name, schedule string, fn Func) error {
	if fn == nil {
		return errors.New("cron job " + name + " has no function")
	}
	sched, err := Parse(schedule)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrStopped
	}
	st := s.states[name]
	if st == nil {
		st = &state{}
		s.states[name] = st
	}
	s.jobs[name] = &job{spec: schedule, sched: sched, fn: fn, next: sched.Next(s.now()), st: st}
	s.mu.Unlock()
	s.poke()
	return nil
}

// Remove deletes the job name and cancels the context of its run in
// progress, if any. It reports whether the job existed.
func (s *Scheduler) Remove(name string) bool {
	s.mu.Lock()
	j, ok := s.jobs[name]
	if ok {
		delete(s.jobs, name)
		if j.st.running {
			j.st.cancel()
		} else {
			delete(s.states, name)
		}
	}
	s.mu.Unlock()
	if ok {
		s.poke()
	}
	return ok
}

// Stop ends the scheduler: no more ticks, the contexts of runs in progress
// are cancelled, and Stop waits for those runs to return. It is safe to
// call more than once.
func (s *Scheduler) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stopping)
	})
	<-s.loopDone
	s.cancel()
	s.runs.Wait()
}

// Status describes every job, sorted by name.
func (s *Scheduler) Status() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(s.jobs))
	for name, j := range s.jobs {
		out = append(out, JobStatus{
			Name:        name,
			Schedule:    j.spec,
			Next:        j.next,
			Running:     j.st.running,
			Runs:        j.st.runs,
			LastTick:    j.st.lastTick,
			Skipped:     j.st.skipped,
			LastSkipped: j.st.lastSkipped,
		})
	}
	slices.SortFunc(out, func(a, b JobStatus) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (s *Scheduler) now() time.Time { return s.clock.Now().In(s.loc) }

// poke wakes the loop to recompute its timer.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop() {
	defer close(s.loopDone)
	for {
		var timer Timer
		var fired <-chan time.Time
		if at := s.runDue(); !at.IsZero() {
			timer = s.clock.TimerAt(at)
			fired = timer.C()
		}
		select {
		case <-fired:
		case <-s.wake:
		case <-s.stopping:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-s.stopping:
			return
		default:
		}
	}
}

// runDue starts the jobs whose tick has come and returns when to look
// again (zero: when woken).
func (s *Scheduler) runDue() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return time.Time{}
	}
	now := s.now()
	var earliest time.Time
	for name, j := range s.jobs {
		if j.next.IsZero() {
			continue
		}
		if !j.next.After(now) {
			s.startLocked(name, j, j.next)
			j.next = j.sched.Next(now) // missed ticks collapse into the one just run
		}
		if !j.next.IsZero() && (earliest.IsZero() || j.next.Before(earliest)) {
			earliest = j.next
		}
	}
	if earliest.IsZero() {
		return earliest
	}
	return minTime(earliest, now.Add(maxWait))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (s *Scheduler) startLocked(name string, j *job, tick time.Time) {
	st := j.st
	if st.running {
		st.skipped++
		st.lastSkipped = tick
		s.log.Warn("cron tick skipped: the previous run is still going", "job", name, "tick", tick.Format(time.RFC3339))
		return
	}
	st.running = true
	st.runs++
	st.lastTick = tick
	ctx, cancel := context.WithCancel(s.ctx)
	st.cancel = cancel
	s.runs.Add(1)
	go s.run(ctx, name, st, j.fn, tick)
}

func (s *Scheduler) run(ctx context.Context, name string, st *state, fn Func, tick time.Time) {
	defer s.runs.Done()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("cron job panicked", "job", name, "tick", tick.Format(time.RFC3339), "panic", r)
		}
		s.mu.Lock()
		st.cancel()
		st.running, st.cancel = false, nil
		if j := s.jobs[name]; (j == nil || j.st != st) && s.states[name] == st {
			delete(s.states, name)
		}
		s.mu.Unlock()
	}()
	fn(ctx, tick)
}
