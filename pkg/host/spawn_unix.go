//go:build unix

package host

import (
	"os"
	"syscall"
)

// killGroup kills p's whole process group.
func killGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL) //nolint:errcheck // it may be gone already
}
