//go:build !unix

package local

import (
	"context"
	"os"
	"syscall"
)

// terminate stops process pid (there is no SIGTERM here: it is killed).
func terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// detached has nothing to set on this system.
func detached() *syscall.SysProcAttr { return nil }

// closeInheritedFDs has nothing to do: descriptors are not inherited here
// unless asked for.
func closeInheritedFDs() {}

// lockStart does not lock here: commands that start the engine at the same
// time may each start a daemon, and all but one of them fail.
func lockStart(ctx context.Context, path string) (unlock func(), err error) {
	return func() {}, nil
}
