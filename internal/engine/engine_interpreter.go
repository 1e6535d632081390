package engine

import (
	"context"
	"sync"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/langruntime"
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
