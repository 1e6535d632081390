package supervisor

import (
	"fmt"
	"time"
)

// State is the phase of a process.
type State string

// States of a process.
const (
	// StateStarting: the process is being forked and executed.
	StateStarting State = "starting"
	// StateRunning: the process is alive.
	StateRunning State = "running"
	// StateBackoff: the process exited (or could not be started) and waits to
	// be restarted; Status.Reason says why, Status.NextStart when.
	StateBackoff State = "backoff"
	// StateStopped: the process was stopped, or exited and its policy does not
	// restart it.
	StateStopped State = "stopped"
	// StateFailed: the process could not be started, or exited with a failure
	// that its policy does not restart; Status.Reason says why.
	StateFailed State = "failed"
)

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit status, or -1 if a signal killed the process.
	Code int
	// Signal is the name of the signal that killed the process, such as
	// "SIGKILL", or "".
	Signal string
	// At is when the supervisor saw the process end.
	At time.Time
}

// Success reports whether the process exited with status 0.
func (e ExitStatus) Success() bool { return e.Code == 0 && e.Signal == "" }

// String returns "exited with code N" or "killed by SIGNAME".
func (e ExitStatus) String() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exited with code %d", e.Code)
}

// Status is a snapshot of a process.
type Status struct {
	// Name is the spec's name.
	Name string
	// State is the phase the process is in.
	State State
	// PID is the process id while running, else 0.
	PID int
	// Restarts counts the starts after the first one, including those
	// asked for by Restart.
	Restarts int
	// Started is when the current or last run started.
	Started time.Time
	// LastExit is how the last run ended, nil if none has.
	LastExit *ExitStatus
	// Reason says why the process is in backoff or failed, e.g. "exited
	// with code 1" or "start: fork/exec /x: no such file or directory".
	Reason string
	// NextStart is when a process in backoff will be started again.
	NextStart time.Time
	// Output holds the last lines the process wrote (up to StatusLines),
	// which usually tell why it failed.
	Output []string
	// LogPath is the spec's log file.
	LogPath string
}

// StatusLines is the number of output lines that Status keeps.
const StatusLines = 20
