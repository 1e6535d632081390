package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// sysProcAttr puts the child in a process group of its own; spawn.Start
// adds the parent-death signal.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// groupAlive reports whether the process group that proc led still has a
// live member. Members that exited count as gone even before their new
// parent reaps them: an init that reaps late (or never, as a container's
// PID 1 may) must not hold up Stop for the whole grace period.
func groupAlive(proc *os.Process) bool {
	if !groupExists(proc) {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid pgrp …"; comm may hold spaces and ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) < 3 {
			continue
		}
		if pgrp, _ := strconv.Atoi(string(f[2])); pgrp == proc.Pid && pid > 0 && f[0][0] != 'Z' && f[0][0] != 'X' {
			return true
		}
	}
	return false
}
