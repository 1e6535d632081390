//go:build !linux

package host

import (
	"errors"
	"os"
)

// execSelf would replace the process with a fresh copy of itself serving
// on f; it needs Linux (the listener's inheritance and the parent-death
// signal are set with Linux system calls).
func execSelf(*os.File) error {
	return errors.New("restarting an instance in place is supported on Linux only: stop and start it instead")
}
