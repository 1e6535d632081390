package cron

import "time"

// Clock is the Scheduler's source of time.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// TimerAt returns a timer whose channel receives once the clock has
	// reached t (at once when t is not in the future).
	TimerAt(t time.Time) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C returns the channel that receives when the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// SystemClock is the Clock of the machine.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) TimerAt(t time.Time) Timer {
	return systemTimer{time.NewTimer(time.Until(t))}
}

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time { return s.t.C }
func (s systemTimer) Stop() bool          { return s.t.Stop() }
