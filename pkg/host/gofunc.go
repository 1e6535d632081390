package host

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kubeless/kubeless/pkg/functions"
)

// StuckGrace is how long, by default, a Go function may keep running after
// its context was cancelled at the time limit before the instance restarts
// itself (WithStuckGrace changes it).
const StuckGrace = time.Second

// GoInvoker runs a Go function in the host's own process: no extra hop.
type GoInvoker struct {
	fn      functions.Handler
	fctx    functions.Context
	logger  *slog.Logger
	once    sync.Once
	restart chan struct{}
	// graceEnd returns a channel that fires when the grace of one
	// cancelled call is over.
	graceEnd func() <-chan time.Time
}

// GoOption changes a GoInvoker's defaults.
type GoOption func(*GoInvoker)

// WithStuckGrace sets how long a function may keep running after its
// context was cancelled before the instance restarts itself (default
// StuckGrace).
func WithStuckGrace(d time.Duration) GoOption {
	return WithStuckGraceEnd(func() <-chan time.Time { return time.After(d) })
}

// WithStuckGraceEnd ends the grace of a cancelled call when the channel that
// end returns (called once per cancelled call) fires, instead of after a
// duration: a test ends it on an event.
func WithStuckGraceEnd(end func() <-chan time.Time) GoOption {
	return func(g *GoInvoker) { g.graceEnd = end }
}

// NewGoInvoker returns an invoker for fn, with the context of cfg.
func NewGoInvoker(cfg Config, fn functions.Handler, logger *slog.Logger, opts ...GoOption) *GoInvoker {
	g := &GoInvoker{
		fn: fn,
		fctx: functions.Context{
			FunctionName: cfg.Handler,
			Timeout:      strconv.FormatFloat(cfg.Timeout.Seconds(), 'f', -1, 64),
			Runtime:      cfg.Runtime,
			MemoryLimit:  cfg.MemoryLimit,
		},
		logger:  logger,
		restart: make(chan struct{}),
	}
	WithStuckGrace(StuckGrace)(g)
	for _, o := range opts {
		o(g)
	}
	return g
}

// Start has nothing to load: the function is compiled in.
func (g *GoInvoker) Start(context.Context) error { return nil }

// DefaultConcurrency is high: goroutines are cheap.
func (g *GoInvoker) DefaultConcurrency() int { return 1000 }

// Close does nothing: there is no other process.
func (g *GoInvoker) Close(context.Context) error { return nil }

// RestartRequested is closed when a timed-out function did not return
// within its grace (StuckGrace by default) after its context was cancelled.
func (g *GoInvoker) RestartRequested() <-chan struct{} { return g.restart }

type goResult struct {
	out   string
	err   error
	panic any
	stack []byte
}

// Invoke calls the function in a goroutine and waits for it or the deadline.
func (g *GoInvoker) Invoke(ctx context.Context, call *Call) error {
	ev := functions.Event{
		Data:           string(call.Body),
		EventID:        call.Event.ID,
		EventType:      call.Event.Type,
		EventTime:      call.Event.Time,
		EventNamespace: call.Event.Namespace,
		Extensions: functions.Extension{
			Request:  call.Request,
			Response: call.Writer,
			Context:  ctx,
		},
	}
	done := make(chan goResult, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- goResult{panic: p, stack: debug.Stack()}
			}
		}()
		out, err := g.fn(ev, g.fctx)
		done <- goResult{out: out, err: err}
	}()
	select {
	case r := <-done:
		switch {
		case r.panic != nil:
			fmt.Fprintf(os.Stderr, "function %s panicked: %v\n%s", g.fctx.FunctionName, r.panic, r.stack)
			return &FunctionError{Message: fmt.Sprint("panic: ", r.panic)}
		case r.err != nil:
			fmt.Fprintf(os.Stderr, "function %s returned an error: %v\n", g.fctx.FunctionName, r.err)
			return &FunctionError{Message: r.err.Error()}
		}
		if r.out != "" || !call.Writer.Written() {
			if call.Writer.Header().Get("Content-Type") == "" && !call.Writer.Written() {
				call.Writer.Header().Set("Content-Type", "text/plain; charset=utf-8")
			}
			call.Writer.Write([]byte(r.out)) //nolint:errcheck // caller may be gone
		}
		return nil
	case <-ctx.Done():
		go g.watchStuck(done)
		return ctx.Err()
	}
}

// watchStuck gives a cancelled function its grace to return; if it does
// not, the instance restarts itself once every other invocation is answered.
func (g *GoInvoker) watchStuck(done <-chan goResult) {
	select {
	case <-done:
	case <-g.graceEnd():
		g.logger.Warn("function did not return after its time limit; restarting the instance once other invocations finish",
			"function", g.fctx.FunctionName)
		g.once.Do(func() { close(g.restart) })
	}
}

// ServeGo is the main of a compiled Go function server: it picks the
// handler named by FUNC_HANDLER among handlers and serves it. It returns the
// process exit code.
func ServeGo(handlers map[string]functions.Handler) int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := FromEnv(os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeless: "+err.Error())
		return 1
	}
	if file := filepath.Join(cfg.InstallVolume, cfg.ModName+".go"); !exists(file) {
		fmt.Fprintf(os.Stderr, "kubeless: cannot load function %q: module %q not found: no file %s\n",
			cfg.ModName+"."+cfg.Handler, cfg.ModName, file)
		return 1
	}
	fn, ok := handlers[cfg.Handler]
	if !ok {
		names := make([]string, 0, len(handlers))
		for n := range handlers {
			names = append(names, n)
		}
		sort.Strings(names)
		found := strings.Join(names, ", ")
		if found == "" {
			found = "none"
		}
		fmt.Fprintf(os.Stderr, "kubeless: cannot load function %q: module %q (%s) has no exported function %s(functions.Event, functions.Context) (string, error); found: %s\n",
			cfg.ModName+"."+cfg.Handler, cfg.ModName, cfg.InstallVolume, cfg.Handler, found)
		return 1
	}
	defer startProfile(os.Environ())()
	if err := Run(cfg, NewGoInvoker(cfg, fn, logger), Options{Logger: logger}); err != nil {
		fmt.Fprintln(os.Stderr, "kubeless: "+err.Error())
		return 1
	}
	return 0
}

func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
