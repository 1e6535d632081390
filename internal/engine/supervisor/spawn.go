package supervisor

import (
	"os/exec"
	"runtime"
)

// spawner starts commands from one OS thread that lives as long as the
// Supervisor. The parent-death signal of a child (Linux) is tied to the
// thread that forked it, not to the process: forking from an arbitrary
// goroutine's thread would kill the child whenever Go ends that thread.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

func newSpawner() *spawner {
	sp := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go func() {
		// Never unlocked: the thread ends with this goroutine, in close,
		// once every process is gone (any left would get the signal).
		runtime.LockOSThread()
		defer close(sp.done)
		for r := range sp.reqs {
			r.err <- r.cmd.Start()
		}
	}()
	return sp
}

// start starts cmd on the spawner's thread. It must not be called after
// close.
func (sp *spawner) start(cmd *exec.Cmd) error {
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	sp.reqs <- r
	return <-r.err
}

// close ends the spawner's goroutine and thread.
func (sp *spawner) close() {
	close(sp.reqs)
	<-sp.done
}
