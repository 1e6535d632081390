package store

import (
	"errors"
	"fmt"
)

// LockFileName is the name of the file that Lock creates in its folder.
// It starts with a dot, so a File rooted in the same folder ignores it.
const LockFileName = ".lock"

// ErrLocked is wrapped by the *LockedError that Lock returns when another
// process holds the lock.
var ErrLocked = errors.New("locked by another process")

// LockedError reports that another process holds a lock that Lock asked
// for. It wraps ErrLocked.
type LockedError struct {
	Path string // the lock file
	PID  int    // the process holding it, or 0 if unknown
}

// Error names the lock file and, when known, the holder's pid.
func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is locked by another process (pid %d)", e.Path, e.PID)
	}
	return fmt.Sprintf("%s is locked by another process", e.Path)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }
