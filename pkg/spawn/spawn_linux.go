package spawn

import (
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"
)

// startSignal is the parent-death signal this process was started with,
// read by init on the main thread (Go runs package initialisation there),
// which is the thread that the parent's fork set it on.
var startSignal = deathSignal()

func deathSignal() syscall.Signal {
	var sig int32
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0); e != 0 {
		return 0
	}
	return syscall.Signal(sig)
}

func setDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if cmd.SysProcAttr.Pdeathsig == 0 {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
}

// Exec replaces the process with argv0, as syscall.Exec does, keeping the
// parent-death signal the process was started with (see the package
// comment). It returns only on failure.
func Exec(argv0 string, argv, env []string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread() // reached only if execve failed
	if startSignal != 0 {
		// The main thread still carries the signal until execve, so a
		// parent dying before this call has killed us already; from here
		// on this thread carries it too.
		if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(startSignal), 0); e != 0 {
			return e
		}
	}
	return syscall.Exec(argv0, argv, env)
}
