//go:build linux

package host

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/kubeless/kubeless/pkg/contract"
)

// execSelf re-executes this binary with the listener as an inherited fd.
func execSelf(f *os.File) error {
	fd := int(f.Fd())
	if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); e != 0 {
		return fmt.Errorf("restart: clear close-on-exec on listener: %w", e)
	}
	env := append(os.Environ(), fmt.Sprintf("%s=%d", contract.EnvListenFD, fd))
	// Whoever supervised this instance (a local engine, an init process)
	// must stay its parent: the restarted image watches that parent and
	// re-arms a parent-death signal, which an exec does not always keep.
	sig := uintptr(syscall.SIGKILL)
	var cur int32
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&cur)), 0); e == 0 && cur != 0 {
		sig = uintptr(cur)
	}
	env = append(env, fmt.Sprintf("%s=%d:%d", envPdeathsig, sig, os.Getppid()))
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	return syscall.Exec(exe, os.Args, env)
}

// envPdeathsig carries "<signal>:<parent pid>" across a restart (execSelf).
const envPdeathsig = "KUBELESS_PDEATHSIG"

// rearmPdeathsig sets the parent-death signal handed over by execSelf; if
// the parent died meanwhile, the instance ends at once.
func rearmPdeathsig() {
	v := os.Getenv(envPdeathsig)
	if v == "" {
		return
	}
	os.Unsetenv(envPdeathsig)
	var sig, ppid int
	if _, err := fmt.Sscanf(v, "%d:%d", &sig, &ppid); err != nil || sig <= 0 {
		return
	}
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(sig), 0)
	// The signal follows the parent's forking thread, which an exec can
	// leave unclear: also watch the parent itself (getppid is cheap; ten
	// times a second keeps an orphan's life short).
	go func() {
		for ; os.Getppid() == ppid; time.Sleep(100 * time.Millisecond) {
		}
		os.Exit(1) // the parent is gone: nobody supervises this instance
	}()
}
