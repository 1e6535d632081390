// Package local holds `kubeless local start|stop|status` (and the hidden
// `local daemon` that start runs in the background), and EnsureRunning,
// which the function commands use to start the engine on first use.
package local

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/engine"
	"github.com/kubeless/kubeless/internal/engine/client"
)

// Config is what the local commands need from the root command.
type Config struct {
	IO *iostreams.IOStreams
	// Home is the engine's folder; "" means client.DefaultHome().
	Home string
	// SelfExe is the kubeless binary; "" means os.Executable().
	SelfExe string
	// BuildTools are given to the daemon's builder (cli.BuildTools).
	BuildTools map[string]build.ToolFunc
	// Version is the daemon's version.
	Version string
	// StartTimeout bounds how long start waits for the socket; 0 means 30s.
	StartTimeout time.Duration
}

func (c *Config) home() string {
	if c.Home != "" {
		if abs, err := filepath.Abs(c.Home); err == nil {
			return abs
		}
		return c.Home
	}
	return client.DefaultHome()
}

func (c *Config) selfExe() (string, error) {
	if c.SelfExe != "" {
		return c.SelfExe, nil
	}
	return os.Executable()
}

// Client returns a client of the engine of c's home (whether it runs or not).
func (c *Config) Client() *client.Client { return client.ForHome(c.home()) }

// NewCmdLocal returns the `local` command group. cfg is what its verbs
// share (this package's factory).
func NewCmdLocal(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local <command>",
		Short: "Manage the local engine, the daemon that runs functions on this machine",
		Long: `Manage the local engine: a daemon that builds and runs functions on this machine,
keeps its state under KUBELESS_HOME (default ~/.kubeless) and serves the gateway on
KUBELESS_GATEWAY (default 127.0.0.1:8080). The function commands start it on first use.`,
	}
	cmd.AddCommand(NewCmdStart(cfg, nil), NewCmdStop(cfg, nil), NewCmdStatus(cfg, nil), NewCmdDaemon(cfg, nil))
	return cmd
}

// StartOptions are what start needs.
type StartOptions struct{ *Config }

// NewCmdStart returns `local start`.
func NewCmdStart(cfg *Config, runF func(*StartOptions) error) *cobra.Command {
	opts := &StartOptions{cfg}
	return &cobra.Command{
		Use:   "start",
		Short: "Start the local engine in the background",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return startRun(c.Context(), opts)
		},
	}
}

func startRun(ctx context.Context, opts *StartOptions) error {
	st, started, err := EnsureRunning(ctx, opts.Config)
	if err != nil {
		return err
	}
	if started {
		fmt.Fprintf(opts.IO.ErrOut, "Local engine started (pid %d, gateway %s, home %s)\n", st.PID, st.Gateway, st.Home)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "Local engine already running (pid %d, gateway %s, home %s)\n", st.PID, st.Gateway, st.Home)
	}
	return nil
}

// StopOptions are what stop needs.
type StopOptions struct{ *Config }

// NewCmdStop returns `local stop`.
func NewCmdStop(cfg *Config, runF func(*StopOptions) error) *cobra.Command {
	opts := &StopOptions{cfg}
	return &cobra.Command{
		Use:   "stop",
		Short: "Stop the local engine and every function instance",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return stopRun(c.Context(), opts)
		},
	}
}

func stopRun(ctx context.Context, opts *StopOptions) error {
	cl := opts.Client()
	st, err := cl.Status(ctx)
	if client.IsNotRunning(err) {
		fmt.Fprintln(opts.IO.ErrOut, "The local engine is not running")
		return nil
	}
	if err != nil {
		return err
	}
	if err := terminate(st.PID); err != nil {
		return fmt.Errorf("stop the local engine (pid %d): %w", st.PID, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !alive(st.PID) {
			fmt.Fprintf(opts.IO.ErrOut, "Local engine stopped (pid %d)\n", st.PID)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the local engine (pid %d) did not stop within 30s: kill it with kill -9 %d", st.PID, st.PID)
}

// StatusOptions are what status needs.
type StatusOptions struct{ *Config }

// NewCmdStatus returns `local status`.
func NewCmdStatus(cfg *Config, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{cfg}
	return &cobra.Command{
		Use:   "status",
		Short: "Say whether the local engine runs, with its pid, home and gateway",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return statusRun(c.Context(), opts)
		},
	}
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	st, err := opts.Client().Status(ctx)
	if client.IsNotRunning(err) {
		fmt.Fprintf(opts.IO.Out, "The local engine is not running (home %s): start it with kubeless local start\n", opts.home())
		return cmdutil.SilentExit(1)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "pid:\t%d\nhome:\t%s\ngateway:\t%s\nversion:\t%s\n", st.PID, st.Home, st.Gateway, st.Version)
	if st.Sandbox != "" {
		fmt.Fprintf(opts.IO.Out, "sandbox:\t%s\n", st.Sandbox)
	}
	if st.EventBus != "" {
		fmt.Fprintf(opts.IO.Out, "event bus:\t%s\n", st.EventBus)
	}
	return nil
}

// DaemonOptions are what daemon needs.
type DaemonOptions struct{ *Config }

// NewCmdDaemon returns the hidden `local daemon`.
func NewCmdDaemon(cfg *Config, runF func(*DaemonOptions) error) *cobra.Command {
	opts := &DaemonOptions{cfg}
	return &cobra.Command{
		Use:    "daemon",
		Short:  "Run the local engine in the foreground (what local start runs)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return daemonRun(opts)
		},
	}
}

// daemonRun runs the engine until SIGTERM or SIGINT. Its context is its own
// (the daemon outlives the command that started it).
func daemonRun(opts *DaemonOptions) error {
	closeInheritedFDs()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	self, err := opts.selfExe()
	if err != nil {
		return err
	}
	// engine.log is rotated by size (engine.LogWriter).
	logger := slog.New(slog.NewTextHandler(engine.LogWriter(opts.home(), opts.IO.ErrOut), nil))
	var idle time.Duration
	if v := os.Getenv(engine.EnvIdleWindow); v != "" {
		if idle, err = backend.ParseIdleWindow(engine.EnvIdleWindow, v); err != nil {
			logger.Error("engine failed", "err", err)
			return err
		}
	}
	e := engine.New(engine.Options{
		Home:       opts.home(),
		SelfExe:    self,
		Logger:     logger,
		GoTools:    opts.BuildTools,
		Version:    opts.Version,
		IdleWindow: idle,
	})
	if err := e.Run(ctx); err != nil {
		logger.Error("engine failed", "err", err)
		return err
	}
	return nil
}

// NewFactory returns the Factory of the real CLI on the local engine: the
// engine of cfg's home, started on first use (with a note on stderr).
func NewFactory(cfg *Config) *cmdutil.Factory {
	return &cmdutil.Factory{
		IOStreams: cfg.IO,
		Engine: func(ctx context.Context) (backend.Engine, error) {
			st, started, err := EnsureRunning(ctx, cfg)
			if err != nil {
				return nil, err
			}
			if started {
				fmt.Fprintf(cfg.IO.ErrOut, "Started the local engine (pid %d, gateway %s)\n", st.PID, st.Gateway)
			}
			return cfg.Client(), nil
		},
	}
}

// startLockName is the file in the engine's home that commands starting the
// engine lock, one at a time.
const startLockName = "start.lock"

// EnsureRunning returns the status of the engine of cfg's home, starting it
// in the background first when it does not run (started is then true).
func EnsureRunning(ctx context.Context, cfg *Config) (st *backend.Status, started bool, err error) {
	cl := cfg.Client()
	st, err = cl.Status(ctx)
	if err == nil {
		return st, false, nil
	}
	if !client.IsNotRunning(err) {
		return nil, false, err
	}
	home := cfg.home()
	self, err := cfg.selfExe()
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", home, err)
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	// One command at a time starts the engine: commands that found it
	// stopped together (after it was killed, say) each started a daemon;
	// one won the home's lock and the others failed, though an engine ran.
	lockCtx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	unlock, err := lockStart(lockCtx, filepath.Join(home, startLockName))
	if err != nil {
		return nil, false, fmt.Errorf("wait for another command starting the local engine (%s): %w", filepath.Join(home, startLockName), err)
	}
	defer unlock()
	// The command that held the lock may have started it.
	if st, err := cl.Status(ctx); err == nil {
		return st, false, nil
	}
	logPath := filepath.Join(home, client.LogName)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open engine log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(self, "local", "daemon")
	cmd.Env = append(os.Environ(), client.EnvHome+"="+home)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = home
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start the local engine: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, false, fmt.Errorf("the local engine exited at start (%v): %s (log %s)", err, lastLogLine(logPath), logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if st, err := cl.Status(ctx); err == nil {
			return st, true, nil
		}
	}
	return nil, false, fmt.Errorf("the local engine did not answer on %s within %s: see %s", cl.Socket, timeout, logPath)
}

func lastLogLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
