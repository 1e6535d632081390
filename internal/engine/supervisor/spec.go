package supervisor

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// RestartPolicy says when a process that exited by itself is started again.
type RestartPolicy string

// Restart policies. The zero value of RestartPolicy means RestartAlways.
const (
	// RestartAlways restarts the process whenever it exits, even with
	// status 0: a function instance is a server that should never end.
	RestartAlways RestartPolicy = "always"
	// RestartOnFailure restarts the process when it exits with a non-zero
	// status or is killed by a signal; after status 0 it is left stopped.
	RestartOnFailure RestartPolicy = "on-failure"
	// RestartNever leaves the process stopped after status 0, and failed
	// otherwise.
	RestartNever RestartPolicy = "never"
)

// Default values of the Backoff and Spec fields left zero.
const (
	DefaultBackoffInitial = 200 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	DefaultBackoffReset   = 10 * time.Second
	DefaultLogMaxBytes    = 10 << 20
)

// Backoff sets the delay before a process is restarted. The first restart
// after a failure waits Initial; each further consecutive failure doubles
// the delay, up to Max. A run that lasted at least Reset counts as healthy
// and starts the doubling over. Zero fields take the Default values.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Reset   time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial == 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Max == 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Reset == 0 {
		b.Reset = DefaultBackoffReset
	}
	return b
}

// Delay returns the delay before the restart that follows the given number
// of consecutive failures (1 for the first).
func (b Backoff) Delay(failures int) time.Duration {
	b = b.withDefaults()
	d := b.Initial
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Spec defines a process.
type Spec struct {
	// Name identifies the process in the Supervisor, e.g.
	// "default/hello/0". Required.
	Name string
	// Args is the command line; Args[0] is the program. A program name
	// without a slash is looked up in the engine's PATH (as exec.Command
	// does), not in Env's. Required.
	Args []string
	// Env is the whole environment of the process, "KEY=value" entries;
	// nil means the engine's own environment, as for exec.Cmd.
	Env []string
	// Dir is the working directory; "" means the engine's.
	Dir string
	// ExtraFiles are inherited by every run of the process as file
	// descriptors 3, 4, … (as exec.Cmd.ExtraFiles), for example a
	// listening socket the engine bound. The caller keeps them open while
	// the process may run, and closes them after Stop or Remove.
	ExtraFiles []*os.File
	// LogPath is the file that the process's output is appended to, one
	// line per line written. When it would grow past LogMaxBytes it is
	// renamed to LogPath + ".1" (replacing an older one) and started
	// anew. "" keeps only the in-memory tail of the output.
	LogPath string
	// LogMaxBytes caps the size of the log file; 0 means
	// DefaultLogMaxBytes.
	LogMaxBytes int64
	// Restart says when the process is restarted; "" means RestartAlways.
	Restart RestartPolicy
	// Backoff sets the delays between restarts.
	Backoff Backoff
}

func (s Spec) withDefaults() Spec {
	if s.Restart == "" {
		s.Restart = RestartAlways
	}
	if s.LogMaxBytes == 0 {
		s.LogMaxBytes = DefaultLogMaxBytes
	}
	s.Backoff = s.Backoff.withDefaults()
	s.Args = append([]string(nil), s.Args...)
	if s.Env != nil {
		s.Env = append([]string(nil), s.Env...)
	}
	s.ExtraFiles = append([]*os.File(nil), s.ExtraFiles...)
	return s
}

func (s Spec) validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("the name is empty"))
	}
	if len(s.Args) == 0 || s.Args[0] == "" {
		errs = append(errs, errors.New("the command (Args) is empty"))
	}
	switch s.Restart {
	case RestartAlways, RestartOnFailure, RestartNever:
	default:
		errs = append(errs, fmt.Errorf("unknown restart policy %q (want %q, %q or %q)",
			s.Restart, RestartAlways, RestartOnFailure, RestartNever))
	}
	if s.Backoff.Initial < 0 || s.Backoff.Max < 0 || s.Backoff.Reset < 0 {
		errs = append(errs, errors.New("a backoff duration is negative"))
	}
	if s.LogMaxBytes < 0 {
		errs = append(errs, errors.New("LogMaxBytes is negative"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid spec for process %q: %w", s.Name, errors.Join(errs...))
}
