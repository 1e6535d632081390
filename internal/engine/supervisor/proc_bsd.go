//go:build unix && !linux

package supervisor

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in a process group of its own. There is no
// parent-death signal here: children outlive a killed engine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// groupAlive reports whether the process group that proc led still has a
// member, counting those that exited but were not yet reaped.
func groupAlive(proc *os.Process) bool { return groupExists(proc) }
