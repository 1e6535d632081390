package cmdutil

import (
	"context"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// EngineFunc returns the engine the commands use.
type EngineFunc = func(ctx context.Context) (backend.Engine, error)

// Factory holds what the commands share.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// Engine returns the engine in use: a client of the local engine
	// (started if needed) or the Kubernetes engine.
	Engine EngineFunc
	// OnKubernetes reports whether the engine in use is the Kubernetes
	// one, for the flags that only it honours; nil means no.
	OnKubernetes func() bool
}

// UsesKubernetes reports whether the engine in use is the Kubernetes one.
func (f *Factory) UsesKubernetes() bool { return f.OnKubernetes != nil && f.OnKubernetes() }
