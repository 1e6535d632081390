package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Errors of the Supervisor's methods, wrapped with the process name.
var (
	// ErrNotFound: no process has that name.
	ErrNotFound = errors.New("no such process")
	// ErrExists: Start of a name whose process is starting, running or in
	// backoff.
	ErrExists = errors.New("process already active")
	// ErrClosed: the Supervisor was closed.
	ErrClosed = errors.New("supervisor closed")
)

// Supervisor runs named processes. It is safe for concurrent use. Its
// methods that stop processes wait for them, and Close ends every goroutine
// that the Supervisor started.
type Supervisor struct {
	logger *slog.Logger

	mu     sync.Mutex
	procs  map[string]*process
	closed bool
	runs   sync.WaitGroup // one per active run loop
	quit   chan struct{}  // closed by Close: followers give up

	// onBackoff, if set (by tests), is called when a process enters
	// Backoff.
	onBackoff func(name string, failures int, delay time.Duration)
}

// New returns a Supervisor that logs the lifecycle of its processes
// (started, exited, restarting, stopped) to logger, which may be nil.
func New(logger *slog.Logger) *Supervisor {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{
		logger: logger,
		procs:  map[string]*process{},
		quit:   make(chan struct{}),
	}
}

// Start starts the process that spec defines and returns once it runs, or
// with the error that kept it from starting (then its status is failed, and
// it is not retried: a missing program or folder does not fix itself).
// Restarts after later exits follow spec.Restart.
//
// A name whose process is stopped or failed is reused: its spec, counters
// and status are replaced, and its log file is appended to. Start of a name
// that is starting, running or in backoff fails with ErrExists.
func (s *Supervisor) Start(spec Spec) error {
	spec = spec.withDefaults()
	if err := spec.validate(); err != nil {
		return err
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return fmt.Errorf("start %q: %w", spec.Name, ErrClosed)
		}
		p := s.procs[spec.Name]
		if p == nil {
			p = &process{s: s, name: spec.Name, state: StateStopped}
			s.procs[spec.Name] = p
		}
		s.mu.Unlock()

		p.ctl.Lock()
		if p.removed { // Remove won the race; look again
			p.ctl.Unlock()
			continue
		}
		if st := p.Status(); st.State == StateStarting || st.State == StateRunning || st.State == StateBackoff {
			p.ctl.Unlock()
			return fmt.Errorf("start %q: %w (%s); stop it first", spec.Name, ErrExists, st.State)
		}
		err := p.launch(spec, false)
		p.ctl.Unlock()
		return err
	}
}

// Stop stops the named process: it sends SIGTERM to the process group,
// waits until the group has exited or grace has passed, then sends SIGKILL
// to the group. A grace of 0 kills at once. A process in backoff simply
// stays down. Stop returns once the process has exited; the process keeps
// its status (stopped) and log, and its followers are ended. Stopping a
// stopped process does nothing.
func (s *Supervisor) Stop(name string, grace time.Duration) error {
	p, err := s.get("stop", name)
	if err != nil {
		return err
	}
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.stopRun(grace)
	p.endFollowers()
	return nil
}

// Restart stops the named process as Stop does and starts it again at once
// with the same spec, whatever its state. Followers keep following.
func (s *Supervisor) Restart(name string, grace time.Duration) error {
	p, err := s.get("restart", name)
	if err != nil {
		return err
	}
	p.ctl.Lock()
	defer p.ctl.Unlock()
	if p.removed {
		return fmt.Errorf("restart %q: %w", name, ErrNotFound)
	}
	p.stopRun(grace)
	p.mu.Lock()
	spec := p.spec
	p.mu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		p.endFollowers()
		return fmt.Errorf("restart %q: %w", name, ErrClosed)
	}
	return p.launch(spec, true)
}

// StopAll stops every process in parallel, as Stop does, and returns when
// all have exited.
func (s *Supervisor) StopAll(grace time.Duration) error {
	var wg sync.WaitGroup
	for _, p := range s.all() {
		wg.Go(func() {
			p.ctl.Lock()
			defer p.ctl.Unlock()
			p.stopRun(grace)
			p.endFollowers()
		})
	}
	wg.Wait()
	return nil
}

// Remove stops the named process as Stop does and forgets it. Its log file
// stays.
func (s *Supervisor) Remove(name string, grace time.Duration) error {
	p, err := s.get("remove", name)
	if err != nil {
		return err
	}
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.stopRun(grace)
	p.endFollowers()
	p.removed = true
	s.mu.Lock()
	if s.procs[name] == p {
		delete(s.procs, name)
	}
	s.mu.Unlock()
	return nil
}

// Status returns a snapshot of the named process.
func (s *Supervisor) Status(name string) (Status, error) {
	p, err := s.get("status of", name)
	if err != nil {
		return Status{}, err
	}
	return p.Status(), nil
}

// List returns a snapshot of every process, sorted by name.
func (s *Supervisor) List() []Status {
	var out []Status
	for _, p := range s.all() {
		out = append(out, p.Status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Tail returns the last n lines of the named process's output (all that
// is kept if n < 0): from its log file and the rotated one, or from the
// in-memory tail if the spec has no LogPath.
func (s *Supervisor) Tail(name string, n int) ([]string, error) {
	p, err := s.get("logs of", name)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	lines, err := p.tailLocked(n)
	if err != nil {
		return nil, fmt.Errorf("logs of %q: %w", name, err)
	}
	return lines, nil
}

// Follow streams the named process's output: first its last since lines
// (as Tail), then each new line as it is written, across restarts. The
// channel is closed when ctx ends, when the process is stopped or removed
// or ends for good (its policy does not restart it), or when the
// Supervisor is closed; following a process that has ended gives the last
// lines and closes.
//
// Lines wait in a queue of FollowQueueBytes per follower; when a follower
// falls behind further, the oldest lines are dropped and a line saying how
// many is sent in their place. The caller must read until the channel is
// closed or end ctx.
func (s *Supervisor) Follow(ctx context.Context, name string, since int) (<-chan string, error) {
	p, err := s.get("follow", name)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	backlog, err := p.tailLocked(since)
	if err != nil {
		p.mu.Unlock()
		return nil, fmt.Errorf("follow %q: %w", name, err)
	}
	sub := newSubscriber()
	for _, l := range backlog {
		sub.push(l)
	}
	if p.following {
		p.subs[sub] = struct{}{}
	} else {
		sub.close()
	}
	p.mu.Unlock()

	out := make(chan string)
	s.mu.Lock()
	if s.closed {
		sub.close()
	}
	s.mu.Unlock()
	go sub.forward(ctx, s.quit, out, func() {
		p.mu.Lock()
		delete(p.subs, sub)
		p.mu.Unlock()
	})
	return out, nil
}

// Close kills every process that is still running (call StopAll first to
// stop them gracefully), ends all followers, and ends every goroutine of
// the Supervisor. Later calls of Start fail with ErrClosed.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()
	s.StopAll(0)
	s.runs.Wait()
	return nil
}

func (s *Supervisor) get(op, name string) (*process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[name]
	if p == nil {
		return nil, fmt.Errorf("%s %q: %w", op, name, ErrNotFound)
	}
	return p, nil
}

func (s *Supervisor) all() []*process {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*process, 0, len(s.procs))
	for _, p := range s.procs {
		out = append(out, p)
	}
	return out
}

// addRun registers a run loop, unless the Supervisor is closed.
func (s *Supervisor) addRun() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.runs.Add(1)
	return true
}
