//go:build !unix

package host

import (
	"os"
	"syscall"
)

// workerSysProcAttr has nothing to set where there are no process groups.
func workerSysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills p (its children are not tracked on this system).
func killGroup(p *os.Process) {
	p.Kill() //nolint:errcheck // it may be gone already
}
