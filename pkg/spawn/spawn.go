package spawn

import (
	"os/exec"
	"runtime"
	"sync"
)

var (
	threadOnce sync.Once
	reqs       chan request
)

type request struct {
	cmd *exec.Cmd
	err chan error
}

// Start starts cmd, as cmd.Start does, from the package's spawn thread: one
// OS thread locked for the life of the process. On Linux it also sets the
// parent-death signal to SIGKILL when cmd.SysProcAttr sets none (creating
// SysProcAttr if nil), so the child is killed when this process dies,
// however it dies. It is safe for concurrent use.
func Start(cmd *exec.Cmd) error {
	setDeathSignal(cmd)
	threadOnce.Do(func() {
		reqs = make(chan request)
		go func() {
			// Never unlocked: the thread lives as long as the process,
			// so its death means the process's.
			runtime.LockOSThread()
			for r := range reqs {
				r.err <- r.cmd.Start()
			}
		}()
	})
	r := request{cmd: cmd, err: make(chan error, 1)}
	reqs <- r
	return <-r.err
}
