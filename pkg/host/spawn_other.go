//go:build !unix

package host

import (
	"os"
	"os/exec"
	"syscall"
)

// workerSysProcAttr has nothing to set where there are no process groups.
func workerSysProcAttr() *syscall.SysProcAttr { return nil }

// startOnSpawnThread starts cmd.
func startOnSpawnThread(cmd *exec.Cmd) error { return cmd.Start() }

// killGroup kills p (its children are not tracked on this system).
func killGroup(p *os.Process) {
	p.Kill() //nolint:errcheck // it may be gone already
}
