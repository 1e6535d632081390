package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/kubeless/kubeless/pkg/spawn"
)

// drainTimeout bounds the wait for the rest of a run's output once its
// process group is gone. Only a process that left the group (setsid) and
// kept the output pipe makes the wait last; the pipe is then closed.
const drainTimeout = 2 * time.Second

// groupPoll is how often Stop checks whether the rest of a process group
// has exited after its leader did.
const groupPoll = 20 * time.Millisecond

// process is one named process of a Supervisor: its spec, its status and
// its output, over any number of runs. A run loop (run) owns the OS process
// while it is active.
type process struct {
	s    *Supervisor
	name string

	ctl     sync.Mutex // serialises Start, Stop, Restart and Remove of this process
	removed bool       // guarded by ctl

	mu        sync.Mutex
	spec      Spec
	state     State
	pid       int
	restarts  int
	started   time.Time
	lastExit  *ExitStatus
	reason    string
	nextStart time.Time
	recent    ring
	log       *logFile // the open log of the active run, or nil
	following bool     // Follow subscribes (false once stopped for good)
	subs      map[*subscriber]struct{}
	stopCh    chan struct{} // closed to stop the active run loop; nil if none
	done      chan struct{} // closed when the active run loop returns
	grace     time.Duration // for stopCh
}

// launch starts a run loop for spec and waits for its first start. ctl is
// held and no run loop is active. restart says whether this continues the
// process's history (Restart) or begins a new one (Start).
func (p *process) launch(spec Spec, restart bool) error {
	if !p.s.addRun() {
		return fmt.Errorf("start %q: %w", p.name, ErrClosed)
	}
	var lf *logFile
	if spec.LogPath != "" {
		var err error
		if lf, err = openLog(spec.LogPath, spec.LogMaxBytes); err != nil {
			p.s.runs.Done()
			err = fmt.Errorf("start %q: open log file: %w", p.name, err)
			p.mu.Lock()
			p.spec, p.state, p.reason = spec, StateFailed, err.Error()
			p.mu.Unlock()
			return err
		}
	}
	stopCh, done := make(chan struct{}), make(chan struct{})
	p.mu.Lock()
	p.spec = spec
	if restart {
		p.restarts++
	} else {
		p.restarts, p.lastExit, p.started, p.recent = 0, nil, time.Time{}, ring{}
	}
	p.state, p.reason, p.nextStart = StateStarting, "", time.Time{}
	p.log = lf
	if !p.following {
		p.following, p.subs = true, map[*subscriber]struct{}{}
	}
	p.stopCh, p.done = stopCh, done
	p.mu.Unlock()

	first := make(chan error, 1)
	go p.run(spec, stopCh, done, first)
	return <-first
}

// run starts the process, waits for it, and restarts it as spec says,
// until stopCh is closed or the process ends for good. It reports the
// outcome of the first start to first.
func (p *process) run(spec Spec, stopCh <-chan struct{}, done chan<- struct{}, first chan<- error) {
	defer p.s.runs.Done()
	defer close(done)
	logger := p.s.logger.With("process", p.name)
	failures := 0
	for {
		var reason string
		var lastExit *ExitStatus // of this run, if it ran
		at := time.Now()
		cmd, out, err := p.startCmd(spec)
		if err != nil {
			reason = "start: " + err.Error()
			if first != nil {
				p.end(StateFailed, reason, nil)
				p.endFollowers()
				first <- fmt.Errorf("start %q: %w", p.name, err)
				return
			}
			failures++
		} else {
			logger.Info("process started", "pid", cmd.Process.Pid)
			if first != nil {
				first <- nil
				first = nil
			}
			exit, stopped := p.wait(cmd, out, stopCh)
			lastExit = &exit
			at = exit.At
			if stopped {
				p.end(StateStopped, "", lastExit)
				logger.Info("process stopped", "status", exit.String())
				return
			}
			if !shouldRestart(spec.Restart, exit) {
				state := StateStopped
				if !exit.Success() {
					state, reason = StateFailed, exit.String()
				}
				p.end(state, reason, lastExit)
				p.endFollowers()
				level := slog.LevelInfo
				if state == StateFailed {
					level = slog.LevelWarn
				}
				logger.Log(context.Background(), level, "process ended", "status", exit.String(),
					"restart", string(spec.Restart))
				return
			}
			p.mu.Lock()
			ran := exit.At.Sub(p.started)
			p.mu.Unlock()
			if ran >= spec.Backoff.Reset {
				failures = 0
			}
			failures++
			reason = exit.String()
		}

		delay := spec.Backoff.Delay(failures)
		// The hook runs before the state shows the backoff, so that whoever
		// sees StateBackoff also sees the hook's effect.
		if h := p.s.onBackoff; h != nil {
			h(p.name, failures, delay)
		}
		p.mu.Lock()
		p.state, p.reason, p.nextStart, p.pid = StateBackoff, reason, at.Add(delay), 0
		if lastExit != nil {
			p.lastExit = lastExit
		}
		p.mu.Unlock()
		logger.Warn("restarting process", "status", reason, "failures", failures,
			"delay_ms", delay.Milliseconds())
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-stopCh:
			timer.Stop()
			p.end(StateStopped, "", nil)
			logger.Info("process stopped", "status", "in backoff")
			return
		}
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
	}
}

func shouldRestart(policy RestartPolicy, exit ExitStatus) bool {
	switch policy {
	case RestartAlways:
		return true
	case RestartOnFailure:
		return !exit.Success()
	}
	return false
}

// startCmd starts one run of spec with its output going to a pipe, and
// returns the command and the pipe's read end.
func (p *process) startCmd(spec Spec) (*exec.Cmd, *os.File, error) {
	p.mu.Lock()
	p.state = StateStarting
	p.mu.Unlock()

	if spec.Dir != "" {
		// Said here, as the error of a failed chdir names the program.
		if fi, err := os.Stat(spec.Dir); err != nil {
			return nil, nil, fmt.Errorf("working folder: %w", err)
		} else if !fi.IsDir() {
			return nil, nil, fmt.Errorf("working folder %s is not a folder", spec.Dir)
		}
	}
	cmd := exec.Command(spec.Args[0], spec.Args[1:]...)
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	cmd.ExtraFiles = spec.ExtraFiles
	cmd.SysProcAttr = sysProcAttr()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w // one stream, in the order written
	err = spawn.Start(cmd)
	w.Close()
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	p.mu.Lock()
	p.state, p.pid, p.started = StateRunning, cmd.Process.Pid, time.Now()
	p.reason, p.nextStart = "", time.Time{}
	p.mu.Unlock()
	return cmd, r, nil
}

// wait captures the output of a started run until the process and its
// group are gone, stopping them if stopCh is closed first. It returns how
// the process ended, and whether it was stopped.
func (p *process) wait(cmd *exec.Cmd, out *os.File, stopCh <-chan struct{}) (exit ExitStatus, stopped bool) {
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		p.readLines(out)
	}()
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()

	select {
	case <-exited:
		killGroup(cmd.Process) // whatever the process left behind
		select {
		case <-stopCh:
			stopped = true
		default:
		}
	case <-stopCh:
		stopped = true
		p.mu.Lock()
		grace := p.grace
		p.mu.Unlock()
		terminate(cmd.Process, exited, grace)
	}

	out.SetReadDeadline(time.Now().Add(drainTimeout))
	<-readDone
	out.Close()

	exit = exitStatusOf(cmd.ProcessState)
	exit.At = time.Now()
	return exit, stopped
}

// terminate sends SIGTERM to the group of proc, waits until the group is
// gone or grace has passed, then sends SIGKILL to the group. It returns
// once proc has been waited for (exited is closed).
func terminate(proc *os.Process, exited <-chan struct{}, grace time.Duration) {
	if grace <= 0 {
		killGroup(proc)
		<-exited
		return
	}
	termGroup(proc)
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	select {
	case <-exited:
		// The leader is gone: give the rest of its group what remains
		// of the grace period.
		tick := time.NewTicker(groupPoll)
		defer tick.Stop()
		for groupAlive(proc) {
			select {
			case <-deadline.C:
				killGroup(proc)
				return
			case <-tick.C:
			}
		}
	case <-deadline.C:
		killGroup(proc)
		<-exited
	}
}

// readLines splits a run's output into lines until the pipe ends. A line
// longer than maxLineBytes comes out in pieces.
func (p *process) readLines(r *os.File) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			if err == nil {
				b = b[:len(b)-1]
				if n := len(b); n > 0 && b[n-1] == '\r' {
					b = b[:n-1]
				}
			}
			p.addLine(string(b))
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func (p *process) addLine(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recent.add(line)
	if p.log != nil {
		if err := p.log.writeLine(line); err != nil && !p.log.failed {
			p.log.failed = true // say it once per run
			p.s.logger.Warn("cannot write process log file", "process", p.name, "error", err)
		}
	}
	for sub := range p.subs {
		sub.push(line)
	}
}

// end records that the run loop is ending in state (stopped or failed),
// and how the last run ended if it ran.
func (p *process) end(state State, reason string, exit *ExitStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state, p.reason, p.pid, p.nextStart = state, reason, 0, time.Time{}
	if exit != nil {
		p.lastExit = exit
	}
	if p.log != nil {
		p.log.close()
		p.log = nil
	}
}

// stopRun stops the active run loop, if any, and waits for it. ctl is held.
func (p *process) stopRun(grace time.Duration) {
	p.mu.Lock()
	stopCh, done := p.stopCh, p.done
	p.stopCh, p.done = nil, nil
	p.grace = grace
	p.mu.Unlock()
	if stopCh == nil {
		return
	}
	close(stopCh)
	<-done
}

// endFollowers closes every follower (after what it has queued) and stops
// taking new ones until the next launch.
func (p *process) endFollowers() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.following = false
	for sub := range p.subs {
		sub.close()
	}
	p.subs = map[*subscriber]struct{}{}
}

// Status returns a snapshot of p.
func (p *process) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{
		Name:      p.name,
		State:     p.state,
		PID:       p.pid,
		Restarts:  p.restarts,
		Started:   p.started,
		Reason:    p.reason,
		NextStart: p.nextStart,
		Output:    p.recent.last(StatusLines),
		LogPath:   p.spec.LogPath,
	}
	if p.lastExit != nil {
		e := *p.lastExit
		st.LastExit = &e
	}
	return st
}

// tailLocked returns the last n lines of output (all kept if n < 0). p.mu
// is held, so no line is written or rotated meanwhile.
func (p *process) tailLocked(n int) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	if p.spec.LogPath == "" {
		return p.recent.last(n), nil
	}
	return tailLog(p.spec.LogPath, n)
}
