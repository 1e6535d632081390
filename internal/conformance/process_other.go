//go:build !unix

package conformance

import (
	"os"
	"syscall"
)

// ownGroup has nothing to set where there are no process groups.
func ownGroup() *syscall.SysProcAttr { return nil }

// killGroup kills p (its children are not tracked on this system).
func killGroup(p *os.Process) {
	p.Kill() //nolint:errcheck // it may be gone already
}
