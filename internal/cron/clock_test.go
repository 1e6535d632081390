package cron

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose time moves only when the test calls Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clock *fakeClock
	at    time.Time
	ch    chan time.Time
}

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) TimerAt(at time.Time) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, at: at, ch: make(chan time.Time, 1)}
	if !at.After(c.now) {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, o := range c.timers {
		if o == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the clock forward and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var kept []*fakeTimer
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = kept
}

// waitTimers waits until n timers are armed, which tells the test that the
// scheduler has handled everything up to now and gone back to sleep.
func (c *fakeClock) waitTimers(t *testing.T, n int) {
	t.Helper()
	waitFor(t, "armed timers", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.timers) == n
	})
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// waitIdle waits until no job of s has a run in progress. A test that
// advances the clock past the next tick before the previous run returned
// would see that tick skipped (one run at a time), a race with the run's
// goroutine rather than the behaviour under test.
func waitIdle(t *testing.T, s *Scheduler) {
	t.Helper()
	waitFor(t, "no run in progress", func() bool {
		for _, j := range s.Status() {
			if j.Running {
				return false
			}
		}
		return true
	})
}
