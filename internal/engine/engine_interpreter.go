package engine

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/localrt"
	"github.com/kubeless/kubeless/pkg/contract"
)

// interpreters remembers, per runtime version, the interpreter that the
// instances of the engine start their workers with, found once per daemon:
// without it each instance would look for it on PATH and run it once to
// check its version before starting its workers (`kubeless runtime run`),
// which is most of a cold start where the interpreter sits behind a
// version manager's shim.
type interpreters struct {
	mu    sync.Mutex
	paths map[string]string // by runtime name ("python3.11")
	// detect finds the interpreter; nil means build.Detector's.
	detect func(ctx context.Context, e langruntime.Entry) string
}

// get returns the interpreter of entry's runtime, "" when there is none
// (Go) or it was not found (the instance then says why itself).
func (in *interpreters) get(ctx context.Context, e langruntime.Entry) string {
	if e.Runtime == nil || e.Version == nil || e.Runtime.ID == "go" {
		return ""
	}
	name := e.Name()
	in.mu.Lock()
	defer in.mu.Unlock()
	if p, ok := in.paths[name]; ok {
		return p
	}
	detect := in.detect
	if detect == nil {
		detect = detectInterpreter
	}
	p := detect(ctx, e)
	if p == "" {
		return "" // not remembered: it may be installed later
	}
	if in.paths == nil {
		in.paths = map[string]string{}
	}
	in.paths[name] = p
	return p
}

// detectInterpreter finds the interpreter of e on PATH, checks its version
// and resolves a version manager's shim to the executable it runs.
func detectInterpreter(ctx context.Context, e langruntime.Entry) string {
	var d build.Detector
	l := d.DetectOne(ctx, e)
	if !l.OK() {
		return ""
	}
	return d.Executable(ctx, e.Runtime.ID, l)
}

// hostCommand makes *cmd the function host alone (Options.HostExe) for an
// interpreted runtime whose interpreter the engine found, rather than
// `kubeless runtime run`, which would set the same environment after the
// start of the whole kubeless binary. It returns the environment the host
// needs (defaults: the function's own variables win, as with runtime run)
// and the folder of the runtimes' workers, which the sandbox must show.
func (e *Engine) hostCommand(interp string, res *build.Result, cmd *[]string, log *slog.Logger) (env, expose []string) {
	if interp == "" || e.opts.HostExe == "" || res.Entry.Runtime == nil {
		return nil, nil
	}
	spec, ok := localrt.Specs[res.Entry.Runtime.ID]
	if !ok || spec.Worker == "" {
		return nil, nil
	}
	worker, err := localrt.WorkerPath(localrt.CacheDir(os.Getenv), spec.Lang, spec.Worker)
	if err != nil {
		log.Warn("instances start through kubeless runtime run", "err", err)
		return nil, nil
	}
	*cmd = []string{e.opts.HostExe}
	env = append([]string{contract.EnvFuncProcess + "=" + localrt.ShellQuote(interp) + " " + localrt.ShellQuote(worker)}, spec.Env...)
	// runtimes-<hash>/<lang>/<file>: the whole set, as runtime run has it.
	return env, []string{filepath.Dir(filepath.Dir(worker))}
}

// setDefaults appends each of defs whose name env does not set.
func setDefaults(env, defs []string) []string {
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for _, kv := range defs {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			env = append(env, kv)
			set[k] = true
		}
	}
	return env
}
