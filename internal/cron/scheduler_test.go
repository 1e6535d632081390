package cron

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func utc(h, m, s int) time.Time { return time.Date(2024, 3, 1, h, m, s, 0, time.UTC) }

// newTestScheduler returns a scheduler on a fake clock, stopped at cleanup.
func newTestScheduler(t *testing.T, start time.Time, loc *time.Location, log *slog.Logger) (*Scheduler, *fakeClock) {
	t.Helper()
	clock := newFakeClock(start)
	if loc == nil {
		loc = time.UTC
	}
	s := NewScheduler(Options{Clock: clock, Location: loc, Logger: log})
	t.Cleanup(s.Stop)
	return s, clock
}

// recorder is a job that records its ticks.
type recorder struct {
	mu    sync.Mutex
	ticks []time.Time
}

func (r *recorder) run(_ context.Context, tick time.Time) {
	r.mu.Lock()
	r.ticks = append(r.ticks, tick)
	r.mu.Unlock()
}

func (r *recorder) got() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.ticks...)
}

// syncLog is a slog destination safe for concurrent writes.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestSchedulerFires(t *testing.T) {
	plus2 := time.FixedZone("+02", 2*3600)
	tests := []struct {
		name     string
		schedule string
		loc      *time.Location
		start    time.Time
		step     time.Duration
		steps    int
		want     []time.Time
	}{
		{name: "every 15 minutes", schedule: "*/15 * * * *", start: utc(10, 7, 30), step: time.Minute, steps: 40,
			want: []time.Time{utc(10, 15, 0), utc(10, 30, 0), utc(10, 45, 0)}},
		{name: "weekdays at nine, over a weekend", schedule: "0 9 * * 1-5", start: utc(8, 0, 0), step: time.Hour, steps: 80,
			want: []time.Time{utc(9, 0, 0), time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC)}},
		{name: "hourly", schedule: "@hourly", start: utc(10, 30, 0), step: 10 * time.Minute, steps: 15,
			want: []time.Time{utc(11, 0, 0), utc(12, 0, 0), utc(13, 0, 0)}},
		{name: "every 90s", schedule: "@every 90s", start: utc(10, 0, 0), step: 30 * time.Second, steps: 7,
			want: []time.Time{utc(10, 1, 30), utc(10, 3, 0)}},
		{name: "missed ticks run once", schedule: "* * * * *", start: utc(10, 0, 30), step: 10 * time.Minute, steps: 1,
			want: []time.Time{utc(10, 1, 0)}},
		{name: "schedule's own zone", schedule: "CRON_TZ=America/New_York 0 9 * * *", start: utc(13, 0, 0), step: 30 * time.Minute, steps: 4,
			want: []time.Time{utc(14, 0, 0)}},
		{name: "scheduler location", schedule: "0 12 * * *", loc: plus2, start: utc(9, 0, 0), step: 30 * time.Minute, steps: 4,
			want: []time.Time{utc(10, 0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newTestScheduler(t, tt.start, tt.loc, nil)
			var rec recorder
			if err := s.Set("job", tt.schedule, rec.run); err != nil {
				t.Fatal(err)
			}
			for range tt.steps {
				clock.waitTimers(t, 1)
				waitIdle(t, s) // else the scheduler rightly skips the next tick
				clock.Advance(tt.step)
			}
			clock.waitTimers(t, 1)
			if st := s.Status(); len(st) != 1 || st[0].Runs != len(tt.want) {
				t.Fatalf("status %+v, want %d runs", st, len(tt.want))
			}
			waitFor(t, "the runs to record their ticks", func() bool { return len(rec.got()) == len(tt.want) })
			if diff := cmp.Diff(tt.want, rec.got()); diff != "" {
				t.Errorf("ticks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSchedulerSetReplacesAndRemove(t *testing.T) {
	s, clock := newTestScheduler(t, utc(10, 0, 30), nil, nil)
	var hourly, five, other recorder
	if err := s.Set("a", "0 * * * *", hourly.run); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("b", "*/2 * * * *", other.run); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("a", "*/5 * * * *", five.run); err != nil {
		t.Fatal(err)
	}
	advance := func(n int) {
		for range n {
			clock.waitTimers(t, 1)
			clock.Advance(time.Minute)
		}
		clock.waitTimers(t, 1)
	}
	advance(6) // to 10:06:30
	want := []JobStatus{
		{Name: "a", Schedule: "*/5 * * * *", Next: utc(10, 10, 0), Runs: 1, LastTick: utc(10, 5, 0)},
		{Name: "b", Schedule: "*/2 * * * *", Next: utc(10, 8, 0), Runs: 3, LastTick: utc(10, 6, 0)},
	}
	waitFor(t, "runs to finish", func() bool { return !s.Status()[0].Running && !s.Status()[1].Running })
	if diff := cmp.Diff(want, s.Status()); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}

	if !s.Remove("a") {
		t.Error(`Remove("a") = false for a job that exists`)
	}
	if s.Remove("a") {
		t.Error(`Remove("a") = true the second time`)
	}
	advance(10) // to 10:16:30: a would have run at 10:10 and 10:15
	waitFor(t, "b's runs to record", func() bool { return len(other.got()) == 8 })
	if diff := cmp.Diff([]time.Time{utc(10, 5, 0)}, five.got()); diff != "" {
		t.Errorf("removed job ran (-want +got):\n%s", diff)
	}
	if len(hourly.got()) != 0 {
		t.Errorf("replaced function ran: %v", hourly.got())
	}
	if st := s.Status(); len(st) != 1 || st[0].Name != "b" {
		t.Errorf("status after remove: %+v", st)
	}
	s.Remove("b")
	clock.waitTimers(t, 0) // no jobs, no timer
}

func TestSchedulerNoOverlap(t *testing.T) {
	var log syncLog
	s, clock := newTestScheduler(t, utc(10, 0, 30), nil, slog.New(slog.NewTextHandler(&log, nil)))
	started := make(chan time.Time, 4)
	release := make(chan struct{}, 4)
	err := s.Set("slow", "* * * * *", func(ctx context.Context, tick time.Time) {
		started <- tick
		<-release
	})
	if err != nil {
		t.Fatal(err)
	}
	step := func() {
		clock.waitTimers(t, 1)
		clock.Advance(time.Minute)
		clock.waitTimers(t, 1)
	}
	step() // 10:01 runs
	if tick := <-started; !tick.Equal(utc(10, 1, 0)) {
		t.Fatalf("first run tick %s", tick)
	}
	step() // 10:02 is skipped
	step() // 10:03 is skipped
	want := JobStatus{Name: "slow", Schedule: "* * * * *", Next: utc(10, 4, 0), Running: true,
		Runs: 1, LastTick: utc(10, 1, 0), Skipped: 2, LastSkipped: utc(10, 3, 0)}
	if diff := cmp.Diff([]JobStatus{want}, s.Status()); diff != "" {
		t.Errorf("status while running (-want +got):\n%s", diff)
	}
	if n := strings.Count(log.String(), `msg="cron tick skipped: the previous run is still going" job=slow`); n != 2 {
		t.Errorf("log has %d skip lines, want 2:\n%s", n, log.String())
	}

	release <- struct{}{}
	waitFor(t, "the run to finish", func() bool { return !s.Status()[0].Running })
	step() // 10:04 runs again
	if tick := <-started; !tick.Equal(utc(10, 4, 0)) {
		t.Errorf("second run tick %s", tick)
	}
	release <- struct{}{}
	if st := s.Status()[0]; st.Runs != 2 || st.Skipped != 2 {
		t.Errorf("runs %d skipped %d, want 2 and 2", st.Runs, st.Skipped)
	}
}

func TestSchedulerCancelsRuns(t *testing.T) {
	tests := []struct {
		name string
		end  func(s *Scheduler)
	}{
		{name: "remove", end: func(s *Scheduler) { s.Remove("job") }},
		{name: "stop", end: func(s *Scheduler) { s.Stop() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newTestScheduler(t, utc(10, 0, 30), nil, nil)
			started := make(chan struct{})
			var cause atomic.Value
			s.Set("job", "* * * * *", func(ctx context.Context, _ time.Time) {
				close(started)
				<-ctx.Done()
				cause.Store(ctx.Err())
			})
			clock.waitTimers(t, 1)
			clock.Advance(time.Minute)
			<-started
			tt.end(s)
			waitFor(t, "the run to see its context end", func() bool { return cause.Load() != nil })
			if err, _ := cause.Load().(error); !errors.Is(err, context.Canceled) {
				t.Errorf("run context ended with %v, want context.Canceled", err)
			}
		})
	}
}

func TestSchedulerStop(t *testing.T) {
	s, _ := newTestScheduler(t, utc(10, 0, 30), nil, nil)
	s.Set("job", "* * * * *", func(context.Context, time.Time) {})
	s.Stop()
	s.Stop() // twice is fine
	if err := s.Set("job", "* * * * *", func(context.Context, time.Time) {}); !errors.Is(err, ErrStopped) {
		t.Errorf("Set after Stop = %v, want ErrStopped", err)
	}
}

func TestSchedulerSetErrors(t *testing.T) {
	s, _ := newTestScheduler(t, utc(10, 0, 30), nil, nil)
	noop := func(context.Context, time.Time) {}
	tests := []struct {
		name     string
		schedule string
		fn       Func
		wantErr  string
	}{
		{name: "bad schedule", schedule: "every minute", fn: noop,
			wantErr: `invalid cron schedule "every minute": expected exactly 5 fields, found 2: [every minute]; ` + Accepted},
		{name: "no function", schedule: "* * * * *", wantErr: "cron job j has no function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Set("j", tt.schedule, tt.fn); err == nil || err.Error() != tt.wantErr {
				t.Errorf("Set error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if st := s.Status(); len(st) != 0 {
		t.Errorf("failed Set left jobs: %+v", st)
	}
}

func TestSchedulerSurvivesPanic(t *testing.T) {
	var log syncLog
	s, clock := newTestScheduler(t, utc(10, 0, 30), nil, slog.New(slog.NewTextHandler(&log, nil)))
	var calls atomic.Int32
	s.Set("boom", "* * * * *", func(context.Context, time.Time) {
		calls.Add(1)
		panic("kaboom")
	})
	for range 2 {
		clock.waitTimers(t, 1)
		clock.Advance(time.Minute)
		clock.waitTimers(t, 1)
		waitFor(t, "the run to end", func() bool { return !s.Status()[0].Running })
	}
	if calls.Load() != 2 {
		t.Errorf("job ran %d times, want 2", calls.Load())
	}
	if !strings.Contains(log.String(), `msg="cron job panicked" job=boom tick=2024-03-01T10:01:00Z panic=kaboom`) {
		t.Errorf("log lacks the panic:\n%s", log.String())
	}
}
