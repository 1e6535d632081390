//go:build unix && !linux

package spawn

import (
	"os/exec"
	"syscall"
)

// There is no parent-death signal here: children outlive a killed parent.
func setDeathSignal(*exec.Cmd) {}

// Exec replaces the process with argv0, as syscall.Exec does.
func Exec(argv0 string, argv, env []string) error {
	return syscall.Exec(argv0, argv, env)
}
