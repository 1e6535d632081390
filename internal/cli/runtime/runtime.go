// Package runtime holds `kubeless runtime`: run a language runtime in the
// foreground exactly as its image would, and verify it against the runtime
// contract.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/conformance"
	"github.com/kubeless/kubeless/internal/gobuild"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/localrt"
	"github.com/kubeless/kubeless/pkg/host"
	"github.com/kubeless/kubeless/pkg/spawn"

	"github.com/kubeless/kubeless/pkg/contract"
)

// NewCmdRuntime returns the `runtime` command group. Of f only the
// IOStreams are used.
func NewCmdRuntime(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runtime <command>",
		Short: "Run and verify language runtimes on this machine",
	}
	cmd.AddCommand(NewCmdRun(f, nil), NewCmdVerify(f, nil), NewCmdList(f, nil))
	return cmd
}

// ListOptions are what ls needs.
type ListOptions struct {
	IO *iostreams.IOStreams
}

// NewCmdList returns `runtime ls`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams}
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the runtimes of the catalog and whether this machine can run each",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return listRun(c.Context(), opts)
		},
	}
}

func listRun(ctx context.Context, opts *ListOptions) error {
	locals := build.Detector{}.Detect(ctx, langruntime.Default())
	w := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RUNTIME\tLOCAL\tCOMMAND\tVERSION\tNOTE")
	for _, l := range locals {
		ok := "yes"
		if !l.OK() {
			ok = "no"
		}
		path := l.Path
		if path == "" {
			path = l.Command
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", l.Runtime, ok, path, l.Version, l.Problem)
	}
	return w.Flush()
}

// RunOptions are what run needs.
type RunOptions struct {
	IO *iostreams.IOStreams
	// Runtime is the runtime's name in the catalog, for example python3.11.
	Runtime string
	// Env is the environment the runtime is configured by (the process's).
	Env []string
}

// NewCmdRun returns `runtime run`.
func NewCmdRun(f *cmdutil.Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams}
	return &cobra.Command{
		Use:   "run RUNTIME",
		Short: "Run a runtime in the foreground, configured by the runtime contract's environment",
		Long: `Run a language runtime in the foreground exactly as its image's entrypoint would,
against the function folder KUBELESS_INSTALL_VOLUME (default /kubeless), configured
only by the contract's environment: MOD_NAME, FUNC_HANDLER, FUNC_PORT, FUNC_TIMEOUT,
FUNC_RUNTIME, FUNC_MEMORY_LIMIT, FUNC_CONCURRENCY, FUNC_MAX_BODY, FUNC_LOG_FORMAT,
SHUTDOWN_TIMEOUT. Go functions are compiled first (cached by content).`,
		Example: `  MOD_NAME=hello FUNC_HANDLER=foo KUBELESS_INSTALL_VOLUME=$PWD FUNC_PORT=8080 kubeless runtime run python3.11`,
		Args:    cmdutil.ExactArgs(1, "runtime run: the runtime is required, for example: kubeless runtime run python3.11"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Runtime = args[0]
			opts.Env = os.Environ()
			if runF != nil {
				return runF(opts)
			}
			return runRun(c.Context(), opts)
		},
	}
}

// resolve finds runtime rt in the default catalog and the way to start its
// language on this machine.
func resolve(rt string) (langruntime.Entry, localrt.Spec, error) {
	e, err := langruntime.Default().Lookup(rt)
	if err != nil {
		return e, localrt.Spec{}, err
	}
	spec, ok := localrt.Specs[e.Runtime.ID]
	if !ok {
		return e, spec, fmt.Errorf("runtime %s cannot run on this machine: kubeless knows no local worker for %q", rt, e.Runtime.ID)
	}
	return e, spec, nil
}

// runRun starts the runtime; for Go it replaces this process with the
// compiled server (with spawn.Exec: from whatever thread this goroutine is
// on, a plain execve would drop the parent-death signal that makes the
// instance die with its engine).
func runRun(ctx context.Context, opts *RunOptions) error {
	rt, env := opts.Runtime, opts.Env
	entry, spec, err := resolve(rt)
	if err != nil {
		return err
	}
	getenv := lookup(env)
	env = setDefault(env, contract.EnvFuncRuntime, rt)
	vol := getenv(contract.EnvInstallVolume)
	if vol == "" {
		vol = contract.DefaultInstallVolume
	}
	// The catalog's runtime environment (PYTHONPATH, NODE_PATH, GEM_HOME),
	// as the controller sets it; the caller's own values win.
	for _, ev := range entry.RuntimeEnv(vol) {
		env = setDefault(env, ev.Name, ev.Value)
	}
	cache := localrt.CacheDir(getenv)
	if entry.Runtime.ID == "go" {
		// As the image does: the server the compilation phase built, if it
		// is current; otherwise compile now (cached by content).
		if bin, ok := gobuild.Prebuilt(vol); ok {
			return spawn.Exec(bin, []string{bin}, env)
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		pkg, err := gobuild.PackageOf(getenv(contract.EnvModName))
		if err != nil {
			return err
		}
		res, err := gobuild.Compile(ctx, vol, gobuild.Options{CacheDir: cache, Env: env, Log: opts.IO.ErrOut, Package: pkg})
		if err != nil {
			var ce *gobuild.CompileError
			if errors.As(err, &ce) {
				return fmt.Errorf("cannot compile Go function in %s: %s", vol, strings.ReplaceAll(ce.Output, "\n", "; "))
			}
			return fmt.Errorf("cannot compile Go function in %s: %w", vol, err)
		}
		return spawn.Exec(res.Binary, []string{res.Binary}, env)
	}
	interp := getenv(localrt.EnvInterpreter)
	if interp == "" {
		local := build.Detector{}.DetectOne(ctx, entry)
		if !local.OK() {
			return fmt.Errorf("runtime %s cannot run on this machine: %s", rt, local.Problem)
		}
		interp = local.Path
	} else if !filepath.IsAbs(interp) {
		return fmt.Errorf("%s=%q is not an absolute path: set it to the interpreter's path, for example %s=/usr/bin/python3.11, or unset it to find the interpreter on PATH", localrt.EnvInterpreter, interp, localrt.EnvInterpreter)
	}
	worker, err := localrt.WorkerPath(cache, spec.Lang, spec.Worker)
	if err != nil {
		return err
	}
	env = setDefault(env, contract.EnvFuncProcess, localrt.ShellQuote(interp)+" "+localrt.ShellQuote(worker))
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		env = setDefault(env, k, v)
	}
	if code := host.Serve(env); code != 0 {
		return cmdutil.SilentExit(code)
	}
	return nil
}

func lookup(env []string) func(string) string {
	return func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if kk, v, ok := strings.Cut(env[i], "="); ok && kk == k {
				return v
			}
		}
		return ""
	}
}

func setDefault(env []string, k, v string) []string {
	if lookup(env)(k) != "" {
		return env
	}
	return append(env, k+"="+v)
}

// VerifyOptions are what verify needs.
type VerifyOptions struct {
	IO *iostreams.IOStreams
	// Runtime is the runtime to verify, or "demo" for the host alone.
	Runtime string
	// Timeout is the hidden --timeout flag, unused (kept for scripts).
	Timeout float64
}

// NewCmdVerify returns `runtime verify`.
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "verify RUNTIME",
		Short: "Check a runtime against every clause of the runtime contract",
		Long: `Start the runtime on this machine with the conformance fixture functions of its
language and check each numbered clause of the runtime contract as a black box,
one line per clause. Exits 1 if any clause fails. RUNTIME "demo" verifies the
host alone in front of a minimal worker that has no timeouts or metrics of its own.`,
		Args: cmdutil.ExactArgs(1, "runtime verify: the runtime is required, for example: kubeless runtime verify go1.26"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Runtime = args[0]
			if runF != nil {
				return runF(opts)
			}
			return verifyRun(c.Context(), opts)
		},
	}
	cmd.Flags().Float64Var(&opts.Timeout, "timeout", 0, "unused; kept for scripts")
	cmd.Flags().MarkHidden("timeout")
	return cmd
}

func verifyRun(ctx context.Context, opts *VerifyOptions) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	target, err := Target(opts.Runtime, self)
	if err != nil {
		return err
	}
	ok, err := conformance.Run(ctx, target, opts.IO.Out)
	if err != nil {
		return err
	}
	if !ok {
		return cmdutil.SilentExit(1)
	}
	return nil
}

// Target describes how the conformance suite starts runtime rt with the
// kubeless binary at self.
func Target(rt, self string) (conformance.Target, error) {
	if rt == "demo" {
		return conformance.Target{
			Runtime: "demo", Lang: "demo",
			Command: []string{self, "host"},
			Env:     []string{contract.EnvFuncProcess + "=python3 {fixtures}/worker.py", contract.EnvWorkers + "=2", contract.EnvWorkerConcurrency + "=32"},
		}, nil
	}
	entry, spec, err := resolve(rt)
	if err != nil {
		return conformance.Target{}, err
	}
	t := conformance.Target{Runtime: rt, Lang: spec.Lang, Command: []string{self, "runtime", "run", rt},
		Concurrency: min(spec.Concurrency(), 64)}
	if entry.Runtime.ID == "go" {
		t.Capitalize = true
		t.Concurrency = 64
	}
	if local := (build.Detector{}).DetectOne(context.Background(), entry); !local.OK() {
		return t, fmt.Errorf("runtime %s cannot run on this machine: %s", rt, local.Problem)
	}
	return t, nil
}
