package cron

import (
	"fmt"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Schedule says when a job runs next.
type Schedule interface {
	// Next returns the first activation strictly after t, in t's location
	// unless the expression named a zone, or the zero time if there is
	// none.
	Next(t time.Time) time.Time
}

// Accepted describes the accepted expressions, for messages.
const Accepted = `use 5 fields "minute hour day-of-month month day-of-week" (for example "*/5 * * * *") ` +
	`or a descriptor (@hourly, @daily, @weekly, @monthly, @yearly, @every 1h30m)`

// ScheduleError is a cron expression that could not be parsed.
type ScheduleError struct {
	// Expr is the expression as given.
	Expr string
	// Err is the parser's complaint.
	Err error
}

// Error quotes the expression, says what is wrong and what is accepted.
func (e *ScheduleError) Error() string {
	return fmt.Sprintf("invalid cron schedule %q: %v; %s", e.Expr, e.Err, Accepted)
}

// Unwrap returns the parser's error.
func (e *ScheduleError) Unwrap() error { return e.Err }

// Parse parses a standard 5-field cron expression or a descriptor. Times
// are interpreted in the location of the time given to Next unless the
// expression starts with CRON_TZ=<zone> (or TZ=<zone>).
func Parse(expr string) (s Schedule, err error) {
	fail := func(format string, args ...any) (Schedule, error) {
		return nil, &ScheduleError{Expr: expr, Err: fmt.Errorf(format, args...)}
	}
	spec := strings.TrimSpace(expr)
	if spec == "" {
		return fail("the expression is empty")
	}
	if (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && !strings.Contains(spec, " ") {
		return fail("a time zone must be followed by the schedule")
	}
	if every, ok := strings.CutPrefix(spec, "@every "); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(every)); err == nil && d < time.Second {
			return fail("@every needs a duration of at least 1s, got %s", d)
		}
	}
	defer func() { // the parser has panicked on odd input before
		if r := recover(); r != nil {
			s, err = fail("%v", r)
		}
	}()
	parsed, perr := robfig.ParseStandard(spec)
	if perr != nil {
		return fail("%v", perr)
	}
	// Any schedule that fires at all does so within five years of any date
	// (29 February included); robfig's Next gives up after five.
	if parsed.Next(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return fail("the schedule never fires (a day that does not exist in its months?)")
	}
	return parsed, nil
}
