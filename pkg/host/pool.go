package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubeless/kubeless/pkg/contract"
	"github.com/kubeless/kubeless/pkg/spawn"
)

// Pool runs the function in language worker processes started from
// FUNC_PROCESS and speaks docs/worker-protocol.md with them.
//
// Invocations go to the live worker with the fewest running invocations. A
// worker whose invocation overruns its deadline is retired: it gets no new
// invocations, a replacement is started at once, and it is killed (with its
// whole process group) as soon as its other running invocations are
// answered, so nothing running elsewhere is lost.
type Pool struct {
	cfg    Config
	logger *slog.Logger
	stdout io.Writer
	stderr io.Writer
	env    []string

	mu      sync.Mutex
	workers []*worker        // routable workers (ready, not retired)
	all     map[*worker]bool // every started worker not yet reaped
	changed chan struct{}    // closed when workers changes
	closed  bool
	nextID  int
	sockDir string
	heads   headCache
	started bool
}

// NewPool returns a pool for cfg. Workers inherit env (plus their own
// variables) and write to stdout and stderr.
func NewPool(cfg Config, env []string, stdout, stderr io.Writer, logger *slog.Logger) (*Pool, error) {
	if strings.TrimSpace(cfg.Process) == "" {
		return nil, fmt.Errorf("%s is not set: set it to the command that starts the language worker, for example FUNC_PROCESS=\"python3 /kubeless-runtime/python/kubeless.py\"", contract.EnvFuncProcess)
	}
	return &Pool{
		cfg: cfg, env: env, stdout: stdout, stderr: stderr, logger: logger,
		all: map[*worker]bool{}, changed: make(chan struct{}),
	}, nil
}

// DefaultConcurrency is every worker's share added up.
func (p *Pool) DefaultConcurrency() int { return p.cfg.Workers * p.cfg.WorkerConcurrency }

// Start starts the workers and waits until each has loaded the function.
func (p *Pool) Start(ctx context.Context) error {
	if p.cfg.WorkerMode == ModeHTTP {
		dir, err := os.MkdirTemp("", "kubeless-workers-")
		if err != nil {
			return fmt.Errorf("create worker socket folder: %w", err)
		}
		p.sockDir = dir
	}
	type res struct {
		w   *worker
		err error
	}
	ch := make(chan res, p.cfg.Workers)
	for i := 0; i < p.cfg.Workers; i++ {
		go func() {
			w, err := p.startWorker(ctx)
			ch <- res{w, err}
		}()
	}
	var first error
	for i := 0; i < p.cfg.Workers; i++ {
		r := <-ch
		if r.err != nil && first == nil {
			first = r.err
		}
	}
	if first != nil {
		return first
	}
	p.mu.Lock()
	p.started = true
	p.mu.Unlock()
	return nil
}

// Close kills every worker.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	ws := make([]*worker, 0, len(p.all))
	for w := range p.all {
		ws = append(ws, w)
	}
	p.workers = nil
	p.mu.Unlock()
	for _, w := range ws {
		w.kill()
	}
	for _, w := range ws {
		select {
		case <-w.exited:
		case <-ctx.Done():
		}
	}
	if p.sockDir != "" {
		os.RemoveAll(p.sockDir)
	}
	return nil
}

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
	seq      uint32
	retired  bool
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
		calls: map[uint32]*pending{},
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := spawn.Start(cmd); err != nil { // killed if the host dies
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
	p.notifyLocked()
	p.mu.Unlock()
	return w, nil
}

func (p *Pool) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// readLoop reads the worker's frames until its fd 4 closes.
func (w *worker) readLoop() {
	defer close(w.dead)
	r := bufio.NewReaderSize(w.fromW, 64<<10)
	gotReady := false
	for {
		f, err := readFrame(r)
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
				w.ready <- nil
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

func (p *Pool) removeLocked(w *worker) {
	for i, x := range p.workers {
		if x == w {
			p.workers = append(p.workers[:i], p.workers[i+1:]...)
			p.notifyLocked()
			return
		}
	}
}

// replace starts a new worker, retrying with backoff while it fails to load.
func (p *Pool) replace() {
	backoff := 100 * time.Millisecond
	for {
		_, err := p.startWorker(context.Background())
		if err == nil {
			return
		}
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		p.logger.Error("cannot start a replacement worker", "err", oneLine(err), "retry_in", backoff)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
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
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
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

// pick returns the routable worker with the fewest running invocations,
// below its KUBELESS_WORKER_CONCURRENCY, and counts the new one; it waits
// while every worker is full or none is ready.
func (p *Pool) pick(ctx context.Context) (*worker, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errors.New("worker pool is shut down")
		}
		var best *worker
		bestN := 0
		for _, w := range p.workers {
			w.mu.Lock()
			n := w.inflight
			w.mu.Unlock()
			if best == nil || n < bestN {
				best, bestN = w, n
			}
		}
		if best != nil && bestN < p.cfg.WorkerConcurrency {
			best.mu.Lock()
			if !best.retired && best.inflight < p.cfg.WorkerConcurrency {
				best.inflight++
				best.mu.Unlock()
				p.mu.Unlock()
				return best, nil
			}
			best.mu.Unlock()
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
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

type responseHead struct {
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers"`
	Stream  bool        `json:"stream"`
}

// headCache remembers decoded response heads: workers answer most calls
// with a few identical heads (200, text/plain), so decoding JSON once per
// distinct head saves a decode per invocation. Cached heads are read-only.
type headCache struct {
	mu sync.RWMutex
	m  map[string]*responseHead
}

const headCacheSize = 256

func (c *headCache) parse(b []byte) (*responseHead, error) {
	c.mu.RLock()
	rh := c.m[string(b)]
	c.mu.RUnlock()
	if rh != nil {
		return rh, nil
	}
	rh = new(responseHead)
	if err := json.Unmarshal(b, rh); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= headCacheSize {
		c.m = make(map[string]*responseHead)
	}
	c.m[string(b)] = rh
	c.mu.Unlock()
	return rh, nil
}

// Invoke sends the invocation to a worker and relays its answer.
func (p *Pool) Invoke(ctx context.Context, call *Call) error {
	w, err := p.pick(ctx)
	if err != nil {
		return err
	}
	if p.cfg.WorkerMode == ModeHTTP {
		return w.invokeHTTP(ctx, call)
	}
	return w.invokeFrames(ctx, call)
}

func (w *worker) invokeFrames(ctx context.Context, call *Call) error {
	pd := &pending{ch: make(chan frame, 16), done: make(chan struct{})}
	w.mu.Lock()
	w.seq++
	if w.seq == 0 {
		w.seq = 1
	}
	id := w.seq
	w.calls[id] = pd
	w.mu.Unlock()

	if err := w.write(appendInvokeFrame(make([]byte, 0, 512+len(call.Body)), id, call)); err != nil {
		w.release(id)
		return fmt.Errorf("worker %d is gone: %w", w.id, err)
	}
	rw := call.Writer
	for {
		select {
		case f := <-pd.ch:
			switch f.typ {
			case frameResponse:
				hb, body, err := splitHead(f.payload)
				if err != nil {
					w.release(id)
					return fmt.Errorf("worker %d: %w", w.id, err)
				}
				rh, err := w.pool.heads.parse(hb)
				if err != nil {
					w.release(id)
					return fmt.Errorf("worker %d sent a malformed response head: %w", w.id, err)
				}
				h := rw.Header()
				for _, kv := range rh.Headers {
					h.Add(kv[0], kv[1])
				}
				status := rh.Status
				if status == 0 {
					status = http.StatusOK
				}
				rw.WriteHeader(status)
				if len(body) > 0 {
					rw.Write(body) //nolint:errcheck // the caller may be gone
				}
				if !rh.Stream {
					w.release(id)
					return nil
				}
				rw.Flush()
			case frameData:
				rw.Write(f.payload) //nolint:errcheck
				rw.Flush()
			case frameEnd:
				w.release(id)
				if len(f.payload) > 0 {
					return &FunctionError{Message: string(f.payload)}
				}
				return nil
			case frameError:
				w.release(id)
				return &FunctionError{Message: string(f.payload)}
			}
		case <-w.dead:
			w.release(id)
			return fmt.Errorf("worker %d exited while running the function (%s)", w.id, w.exitState())
		case <-ctx.Done():
			w.abandon(id)
			return ctx.Err()
		}
	}
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

// send writes one frame with a JSON head and a body in a single write.
func (w *worker) send(typ byte, id uint32, head, body []byte) error {
	n := len(body)
	if head != nil {
		n += 4 + len(head)
	}
	buf := make([]byte, 0, frameHeaderLen+n)
	buf = appendFrameHeader(buf, typ, id, n)
	if head != nil {
		buf = append(buf, byte(len(head)>>24), byte(len(head)>>16), byte(len(head)>>8), byte(len(head)))
		buf = append(buf, head...)
	}
	buf = append(buf, body...)
	return w.write(buf)
}

// write sends whole frames to the worker. Frames of concurrent callers are
// combined: a caller that finds no write in progress writes everything
// queued meanwhile, so a busy worker gets many frames per syscall.
func (w *worker) write(frame []byte) error {
	w.wmu.Lock()
	if w.werr != nil {
		err := w.werr
		w.wmu.Unlock()
		return err
	}
	w.wq = append(w.wq, frame...)
	if w.writing {
		w.wmu.Unlock()
		return nil
	}
	w.writing = true
	for len(w.wq) > 0 {
		buf := w.wq
		w.wq = w.spare[:0]
		w.wmu.Unlock()
		_, err := w.toW.Write(buf)
		w.wmu.Lock()
		w.spare = buf
		if err != nil {
			w.werr = err
			w.wq = nil
		}
	}
	w.writing = false
	err := w.werr
	w.wmu.Unlock()
	return err
}

// copyBufs hold the buffers that relay response bodies.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// upConn is a kept-alive HTTP/1.1 connection to an http-mode worker.
type upConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// setupProxy prepares the connection pool of an http-mode worker.
func (w *worker) setupProxy() {
	w.idle = make(chan *upConn, 512)
}

func (w *worker) dial(ctx context.Context) (*upConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", w.sock)
	if err != nil {
		return nil, err
	}
	return &upConn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, nil
}

func (w *worker) putConn(uc *upConn) {
	select {
	case w.idle <- uc:
	default:
		uc.c.Close()
	}
}

// hopHeaders are not forwarded (RFC 9110 §7.6.1).
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// invokeHTTP forwards the invocation to an http-mode worker over a
// kept-alive Unix-socket connection, synchronously in the caller's
// goroutine: far cheaper than a general reverse proxy.
func (w *worker) invokeHTTP(ctx context.Context, call *Call) error {
	for attempt := 0; ; attempt++ {
		var uc *upConn
		reused := false
		select {
		case uc = <-w.idle:
			reused = true
		default:
			var err error
			if uc, err = w.dial(ctx); err != nil {
				w.release(0)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("worker %d: %w", w.id, err)
			}
		}
		status, sent, err := w.roundTrip(ctx, uc, call)
		if err == nil {
			w.release(0)
			if status >= 500 {
				return &FunctionError{Message: http.StatusText(status), Answered: true}
			}
			return nil
		}
		uc.c.Close()
		if ctx.Err() != nil {
			w.abandon(0)
			return ctx.Err()
		}
		// A kept-alive connection the worker closed while idle: try once more
		// on a fresh one, if nothing of the response was seen.
		if reused && !sent && attempt == 0 {
			continue
		}
		w.release(0)
		if errors.Is(err, ErrAbandoned) {
			return err
		}
		return fmt.Errorf("worker %d: %w", w.id, err)
	}
}

// roundTrip writes the request and relays the response. sent reports
// whether any response byte was received.
func (w *worker) roundTrip(ctx context.Context, uc *upConn, call *Call) (status int, sent bool, err error) {
	stop := context.AfterFunc(ctx, func() { uc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	r := call.Request
	bw := uc.bw
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	for k, vs := range r.Header {
		if hopHeaders[k] || k == "Content-Length" || strings.HasPrefix(k, "Event-") || k == "X-Forwarded-For" {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	for _, kv := range [...][2]string{
		{"Event-Id", call.Event.ID}, {"Event-Type", call.Event.Type},
		{"Event-Time", call.Event.Time}, {"Event-Namespace", call.Event.Namespace},
	} {
		bw.WriteString(kv[0])
		bw.WriteString(": ")
		bw.WriteString(kv[1])
		bw.WriteString("\r\n")
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		bw.WriteString("X-Forwarded-For: ")
		if prior := r.Header.Get("X-Forwarded-For"); prior != "" {
			bw.WriteString(prior)
			bw.WriteString(", ")
		}
		bw.WriteString(host)
		bw.WriteString("\r\n")
	}
	bw.WriteString("Content-Length: ")
	bw.WriteString(strconv.Itoa(len(call.Body)))
	bw.WriteString("\r\n\r\n")
	bw.Write(call.Body)
	if err := bw.Flush(); err != nil {
		return 0, false, err
	}
	if _, err := uc.br.Peek(1); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(uc.br, r)
	if err != nil {
		return 0, true, err
	}
	rw := call.Writer
	h := rw.Header()
	for k, vs := range resp.Header {
		if hopHeaders[k] {
			continue
		}
		h[k] = append(h[k], vs...)
	}
	if resp.ContentLength >= 0 && h.Get("Content-Length") == "" && r.Method != http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	rw.WriteHeader(resp.StatusCode)
	streaming := resp.ContentLength < 0
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := rw.Write(buf[:n]); werr != nil {
				resp.Body.Close()
				return 0, true, werr
			}
			if streaming {
				rw.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, true, rerr
		}
	}
	resp.Body.Close()
	if resp.Close {
		uc.c.Close()
	} else {
		w.putConn(uc)
	}
	return resp.StatusCode, true, nil
}
