//go:build linux

package host

import (
	"fmt"
	"os"
	"syscall"

	"github.com/kubeless/kubeless/pkg/contract"
	"github.com/kubeless/kubeless/pkg/spawn"
)

// execSelf re-executes this binary with the listener as an inherited fd.
func execSelf(f *os.File) error {
	fd := int(f.Fd())
	if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0); e != 0 {
		return fmt.Errorf("restart: clear close-on-exec on listener: %w", e)
	}
	env := append(os.Environ(), fmt.Sprintf("%s=%d", contract.EnvListenFD, fd))
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	// Whoever supervised this instance (a local engine, an init process)
	// stays its parent, and spawn.Exec keeps the parent-death signal.
	return spawn.Exec(exe, os.Args, env)
}
