//go:build unix && !linux

package host

import (
	"os/exec"
	"syscall"
)

// workerSysProcAttr puts a worker in a process group of its own.
func workerSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// startOnSpawnThread starts cmd: without a parent-death signal any thread
// will do.
func startOnSpawnThread(cmd *exec.Cmd) error { return cmd.Start() }
