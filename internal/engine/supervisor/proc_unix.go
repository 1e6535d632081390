//go:build unix

package supervisor

import (
	"errors"
	"os"
	"syscall"
)

// termGroup sends SIGTERM to the process group that proc leads.
func termGroup(proc *os.Process) { syscall.Kill(-proc.Pid, syscall.SIGTERM) }

// killGroup sends SIGKILL to the process group that proc leads.
func killGroup(proc *os.Process) { syscall.Kill(-proc.Pid, syscall.SIGKILL) }

// groupExists reports whether the process group that proc led has a
// member, counting those that exited but were not yet reaped.
func groupExists(proc *os.Process) bool {
	return !errors.Is(syscall.Kill(-proc.Pid, 0), syscall.ESRCH)
}

func exitStatusOf(ps *os.ProcessState) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1, Signal: "unknown"}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ExitStatus{Code: -1, Signal: signalName(ws.Signal())}
	}
	return ExitStatus{Code: ps.ExitCode()}
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "SIGABRT", syscall.SIGALRM: "SIGALRM", syscall.SIGBUS: "SIGBUS",
	syscall.SIGFPE: "SIGFPE", syscall.SIGHUP: "SIGHUP", syscall.SIGILL: "SIGILL",
	syscall.SIGINT: "SIGINT", syscall.SIGKILL: "SIGKILL", syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGQUIT: "SIGQUIT", syscall.SIGSEGV: "SIGSEGV", syscall.SIGTERM: "SIGTERM",
	syscall.SIGTRAP: "SIGTRAP", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSYS: "SIGSYS",
}

func signalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return "signal " + sig.String()
}
