//go:build unix

package host

import (
	"os"
	"syscall"
)

// workerSysProcAttr puts a worker in a process group of its own, so that
// its children die with it.
func workerSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills p's whole process group.
func killGroup(p *os.Process) {
	syscall.Kill(-p.Pid, syscall.SIGKILL) //nolint:errcheck // it may be gone already
}
