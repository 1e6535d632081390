//go:build !unix

package supervisor

import (
	"os"
	"syscall"
)

// Without process groups and signals, only the process itself is killed.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func termGroup(proc *os.Process) { proc.Kill() }

func killGroup(proc *os.Process) { proc.Kill() }

func groupAlive(*os.Process) bool { return false }

func exitStatusOf(ps *os.ProcessState) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1, Signal: "unknown"}
	}
	return ExitStatus{Code: ps.ExitCode()}
}
