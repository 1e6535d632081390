package host

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// workerSysProcAttr puts a worker in a process group of its own (so that
// its children die with it) and kills it if the host dies.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// The parent-death signal of a child is tied to the OS thread that forked
// it, not to the process: when that thread exits (Go ends threads whose
// goroutine returned while locked to them), the child is killed. Workers
// are therefore started from one thread that lives as long as the host.
var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func startOnSpawnThread(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread never exits
			for r := range spawnCh {
				r.done <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawnCh <- r
	return <-r.done
}
