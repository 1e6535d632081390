package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubeless/kubeless/pkg/contract"
)

// LoadError is a function that cannot be loaded (docs/runtime-contract.md §1.1).
// Its message is the one line the runtime printed about it.
type LoadError struct{ Message string }

func (e *LoadError) Error() string { return e.Message }

// restarter is implemented by invokers that may need a fresh process (an
// in-process Go function that never returned after its time limit).
type restarter interface {
	RestartRequested() <-chan struct{}
}

// Options are the process-level parts of Run, injectable for tests.
type Options struct {
	// Stdout receives the request log; Logger the host's own messages.
	Stdout io.Writer
	Logger *slog.Logger
	// Signals delivers SIGTERM/SIGINT; nil means the process's signals.
	Signals <-chan os.Signal
	// Ready, when set, is called with the listening address once the
	// function is loaded.
	Ready func(addr net.Addr)
	// Exec replaces the process with a new copy of itself serving on the
	// given inherited listener; nil means syscall.Exec of /proc/self/exe.
	Exec func(ln *os.File) error

	onDrain func() // test hook: the listener is closed for the drain
}

// Run serves the function until SIGTERM (then drains and returns nil) or a
// fatal error. It is the whole life of a runtime instance.
func Run(cfg Config, inv Invoker, opts Options) error {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	sigs := opts.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(ch)
		sigs = ch
	}

	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	s := NewServer(cfg, inv, reg, opts.Stdout, opts.Logger)
	if c, ok := inv.(interface{ Collector() prometheus.Collector }); ok {
		reg.MustRegister(c.Collector()) // the pool's worker count
	}
	defer s.log.flush()
	srv := newHTTPServer(s, opts.Logger)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(limitListener(ln, cfg.MaxConns)) }()

	startCtx, cancelStart := context.WithCancel(context.Background())
	defer cancelStart()
	started := make(chan error, 1)
	go func() { started <- inv.Start(startCtx) }()

	var restart <-chan struct{}
	if r, ok := inv.(restarter); ok {
		restart = r.RestartRequested()
	}
	closeInvoker := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		inv.Close(ctx) //nolint:errcheck // best effort on the way out
	}

	for {
		select {
		case err := <-started:
			if err != nil {
				srv.Close()
				closeInvoker()
				return err
			}
			s.SetReady()
			if opts.Ready != nil {
				opts.Ready(ln.Addr())
			}
			started = nil
		case err := <-serveErr:
			closeInvoker()
			return fmt.Errorf("serving on %s: %w", cfg.Addr, err)
		case sig := <-sigs:
			opts.Logger.Info("draining", "signal", sig.String(), "timeout", cfg.ShutdownTimeout)
			return drain(s, srv, ln, cfg, opts, closeInvoker)
		case <-restart:
			return restartSelf(s, srv, ln, cfg, opts, closeInvoker)
		}
	}
}

// drain stops accepting connections, lets running invocations finish within
// the shutdown timeout (docs/runtime-contract.md §6.1), then closes everything.
func drain(s *Server, srv *http.Server, ln net.Listener, cfg Config, opts Options, closeInvoker func()) error {
	s.StartDrain()
	ln.Close() // no new connections; open ones stay for running invocations
	if opts.onDrain != nil {
		opts.onDrain()
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	s.WaitIdle(ctx) //nolint:errcheck // past the timeout we stop anyway
	srv.Shutdown(ctx)
	srv.Close()
	closeInvoker()
	return nil
}

// restartSelf waits for every other running invocation to finish, then
// replaces the process with a fresh copy serving on the same socket, so no
// connection is refused meanwhile: new ones wait in the socket's backlog.
func restartSelf(s *Server, srv *http.Server, ln net.Listener, cfg Config, opts Options, closeInvoker func()) error {
	f, err := listenerFile(ln)
	if err != nil {
		return fmt.Errorf("restart after a function that did not stop: %w", err)
	}
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout+time.Second)
	defer cancel()
	s.WaitIdle(ctx) //nolint:errcheck
	sctx, scancel := context.WithTimeout(context.Background(), time.Second)
	srv.Shutdown(sctx)
	scancel()
	closeInvoker()
	opts.Logger.Info("restarting instance: a timed-out function did not return")
	exec := opts.Exec
	if exec == nil {
		exec = execSelf
	}
	return exec(f)
}

func listenerFile(ln net.Listener) (*os.File, error) {
	fl, ok := ln.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, errors.New("listener cannot be inherited")
	}
	return fl.File()
}

func inheritedListener(fd int) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), "listener")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s=%d: not a listening socket: %w", contract.EnvListenFD, fd, err)
	}
	os.Unsetenv(contract.EnvListenFD)
	return ln, nil
}

// The HTTP server's limits against slow and idle clients. A request's body
// is read within the call's own deadline (Server.readBody).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 60 * time.Second
)

func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slogErrorLog(logger),
	}
}

// limitListener accepts at most n connections at once; more wait in the
// listen backlog until one closes.
func limitListener(ln net.Listener, n int) net.Listener {
	return &limitedListener{Listener: ln, sem: make(chan struct{}, n)}
}

type limitedListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
