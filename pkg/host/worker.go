package host

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubeless/kubeless/pkg/contract"
	"github.com/kubeless/kubeless/pkg/spawn"
)

// worker is one language worker process.
type worker struct {
	pool    *Pool
	id      int
	cmd     *exec.Cmd
	toW     *os.File   // fd 3 of the worker
	fromW   *os.File   // fd 4 of the worker
	wmu     sync.Mutex // guards the write queue below
	wq      []byte     // frames waiting to be written
	spare   []byte
	writing bool
	werr    error
	ready   chan error
	dead    chan struct{} // closed when the frame stream ended
	exited  chan struct{} // closed when the process was reaped
	exitErr error

	mu       sync.Mutex
	calls    map[uint32]*pending
	inflight int
	// progress is when the worker last showed it is not stuck (UnixNano):
	// it got its first call, sent a frame, or finished a call.
	progress atomic.Int64
	// idleSince is when inflight last became 0.
	idleSince time.Time
	seq       uint32
	retired   bool
	// eventLoop: the worker runs its calls on one event loop and reports
	// with L frames when that loop ran free (it said so in its R frame).
	// Set before the worker is routable.
	eventLoop bool
	// sent counts the calls the pool chose this worker for; loopFree is the
	// count of calls started of the worker's last L frame (both wrap).
	sent     uint32
	loopFree uint32
	killed   bool

	sock string
	idle chan *upConn // kept-alive connections of an http-mode worker
}

type pending struct {
	ch   chan frame
	done chan struct{} // closed when the invocation is released
}

// startWorker starts one worker and waits for its R (or F) frame.
func (p *Pool) startWorker(ctx context.Context) (*worker, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("pool is closed")
	}
	p.nextID++
	id := p.nextID
	p.mu.Unlock()

	toR, toW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	fromR, fromW, err := os.Pipe()
	if err != nil {
		toR.Close()
		toW.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	w := &worker{
		pool: p, id: id, toW: toW, fromW: fromR,
		ready: make(chan error, 1), dead: make(chan struct{}), exited: make(chan struct{}),
		calls: map[uint32]*pending{}, idleSince: p.now(),
	}
	env := append(append([]string(nil), p.env...),
		contract.EnvWorkerID+"="+strconv.Itoa(id),
		contract.EnvWorkerConcurrency+"="+strconv.Itoa(p.cfg.WorkerConcurrency))
	if p.cfg.WorkerMode == ModeHTTP {
		w.sock = filepath.Join(p.sockDir, "w"+strconv.Itoa(id)+".sock")
		os.Remove(w.sock)
		env = append(env, contract.EnvWorkerSocket+"="+w.sock)
	}
	// For a simple command the worker replaces the shell (exec), so the
	// parent-death signal below reaches the worker itself if the host dies.
	script := p.cfg.Process
	if !strings.ContainsAny(script, ";&|\n()`") {
		script = "exec " + script
	}
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = env
	cmd.Dir = p.cfg.InstallVolume
	if fi, err := os.Stat(cmd.Dir); err != nil || !fi.IsDir() {
		cmd.Dir = ""
	}
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	cmd.ExtraFiles = []*os.File{toR, fromW}
	cmd.SysProcAttr = workerSysProcAttr()
	if err := spawn.Start(cmd); err != nil {
		toR.Close()
		toW.Close()
		fromR.Close()
		fromW.Close()
		return nil, fmt.Errorf("start worker %q: %w", p.cfg.Process, err)
	}
	toR.Close()
	fromW.Close()
	w.cmd = cmd
	p.mu.Lock()
	p.all[w] = true
	p.mu.Unlock()
	go func() {
		w.exitErr = cmd.Wait()
		close(w.exited)
	}()
	go w.readLoop()

	select {
	case err := <-w.ready:
		if err != nil {
			w.kill()
			<-w.exited
			return nil, err
		}
	case <-ctx.Done():
		w.kill()
		return nil, ctx.Err()
	}
	if p.cfg.WorkerMode == ModeHTTP {
		w.setupProxy()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		w.kill()
		return nil, errors.New("pool is closed")
	}
	p.workers = append(p.workers, w)
	p.eventLoop = p.eventLoop || w.eventLoop
	p.notifyLocked()
	p.mu.Unlock()
	return w, nil
}

// readLoop reads the worker's frames until its fd 4 closes.
func (w *worker) readLoop() {
	defer close(w.dead)
	r := bufio.NewReaderSize(w.fromW, 64<<10)
	gotReady := false
	for {
		f, err := readFrame(r)
		w.progress.Store(w.pool.now().UnixNano())
		if err != nil {
			if !gotReady {
				<-w.exited
				w.ready <- w.loadFailure("")
			}
			w.fromW.Close()
			w.onDeath()
			return
		}
		switch f.typ {
		case frameReady:
			if !gotReady {
				gotReady = true
				w.eventLoop = announcesEventLoop(f.payload)
				w.ready <- nil
			}
		case frameLoopFree:
			if len(f.payload) == 4 {
				w.onLoopFree(binary.BigEndian.Uint32(f.payload))
			}
		case frameFatal:
			if !gotReady {
				gotReady = true
				w.ready <- w.loadFailure(strings.TrimSpace(string(f.payload)))
			}
		default:
			w.mu.Lock()
			p := w.calls[f.id]
			w.mu.Unlock()
			if p != nil {
				select {
				case p.ch <- f:
				case <-p.done:
				}
			}
		}
	}
}

// announcesEventLoop reports whether an R frame's payload (optional JSON)
// says "event_loop": true.
func announcesEventLoop(payload []byte) bool {
	var r struct {
		EventLoop bool `json:"event_loop"`
	}
	return len(payload) > 0 && json.Unmarshal(payload, &r) == nil && r.EventLoop
}

// onLoopFree records an L frame: the worker's event loop ran free after it
// had started n calls. When that covers every call sent to it, calls waiting
// in pick may go to it.
func (w *worker) onLoopFree(n uint32) {
	w.mu.Lock()
	w.loopFree = n
	covered := w.inflight > 0 && n == w.sent
	w.mu.Unlock()
	if covered {
		p := w.pool
		p.mu.Lock()
		p.notifyLocked()
		p.mu.Unlock()
	}
}

// loopReadyLocked reports whether w may take a further call at once: it
// does not run its calls on one event loop, or it has none running, or its
// loop ran free after it had started every call sent to it (a call that
// began a busy loop has not let it run). w.mu is held.
func (w *worker) loopReadyLocked() bool {
	return !w.eventLoop || w.inflight == 0 || w.loopFree == w.sent
}

func (w *worker) loadFailure(msg string) error {
	if msg != "" {
		return &LoadError{Message: msg}
	}
	state := "exited"
	if w.exitErr != nil {
		state = w.exitErr.Error()
	}
	return &LoadError{Message: fmt.Sprintf("worker %q stopped before loading function %s.%s (%s); see its output above",
		w.pool.cfg.Process, w.pool.cfg.ModName, w.pool.cfg.Handler, state)}
}

// onDeath takes a dead worker out and, if the pool is running, replaces it.
func (w *worker) onDeath() {
	p := w.pool
	p.mu.Lock()
	p.removeLocked(w)
	replace := p.started && !p.closed
	p.mu.Unlock()
	w.mu.Lock()
	expected := w.killed
	w.killed = true
	w.mu.Unlock()
	w.kill()
	go func() {
		<-w.exited
		p.mu.Lock()
		delete(p.all, w)
		p.mu.Unlock()
	}()
	if !expected && replace {
		p.logger.Warn("worker exited unexpectedly; starting a replacement", "worker", w.id)
		go p.replace()
	}
}

// retire takes w out of rotation after a timed-out invocation, starts a
// replacement, and kills w once its other invocations are done.
func (w *worker) retire() {
	p := w.pool
	w.mu.Lock()
	if w.retired {
		w.mu.Unlock()
		return
	}
	w.retired = true
	idle := w.inflight == 0
	w.mu.Unlock()
	p.mu.Lock()
	p.removeLocked(w)
	replace := !p.closed
	p.mu.Unlock()
	if replace {
		go p.replace()
	}
	if idle {
		w.kill()
	}
}

// kill ends the worker's whole process group.
func (w *worker) kill() {
	w.mu.Lock()
	w.killed = true
	w.mu.Unlock()
	if w.cmd != nil && w.cmd.Process != nil {
		killGroup(w.cmd.Process)
	}
	w.wmu.Lock()
	w.toW.Close()
	w.wmu.Unlock()
	for w.idle != nil {
		select {
		case uc := <-w.idle:
			uc.c.Close()
			continue
		default:
		}
		break
	}
}

// release ends one invocation on w; a retired worker with nothing left to
// answer is killed.
func (w *worker) release(id uint32) {
	w.mu.Lock()
	if pd := w.calls[id]; pd != nil {
		delete(w.calls, id)
		close(pd.done)
	}
	w.inflight--
	w.progress.Store(w.pool.now().UnixNano())
	if w.inflight == 0 {
		w.idleSince = w.pool.now()
	}
	killNow := w.retired && w.inflight == 0
	w.mu.Unlock()
	if killNow {
		w.kill()
		return
	}
	// A slot is free: wake invocations waiting in pick.
	p := w.pool
	p.mu.Lock()
	p.notifyLocked()
	p.mu.Unlock()
}

func (w *worker) exitState() string {
	select {
	case <-w.exited:
		if w.exitErr != nil {
			return w.exitErr.Error()
		}
		return "exit status 0"
	case <-time.After(100 * time.Millisecond):
		return "stream closed"
	}
}

// abandon gives up on invocation id after its deadline and retires w.
func (w *worker) abandon(id uint32) {
	if w.pool.cfg.WorkerMode == ModeFrames {
		go w.send(frameCancel, id, nil, nil) //nolint:errcheck // best effort: the worker may be stuck
	}
	w.retire()
	w.release(id)
}
