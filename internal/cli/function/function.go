// Package function holds `kubeless function deploy|update|delete|ls|describe|
// call|logs|top`, with the original Kubeless CLI's flags and messages
// (docs/compatibility.md §4). Each verb has an Options struct that cobra
// fills, a NewCmdX(f, runF) constructor and an xRun function; the engine,
// local or Kubernetes, is reached only through backend.Engine.
package function

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/cli/local"
)

// EngineFunc returns the engine the commands use.
type EngineFunc = func(ctx context.Context) (backend.Engine, error)

// Factory holds what the function commands share.
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

// NewFactory returns the Factory of the real CLI on the local engine: the
// engine of cfg's home, started on first use (with a note on stderr).
func NewFactory(cfg *local.Config) *Factory {
	return &Factory{
		IOStreams: cfg.IO,
		Engine: func(ctx context.Context) (backend.Engine, error) {
			st, started, err := local.EnsureRunning(ctx, cfg)
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

// NewCmdFunction returns the `function` command group.
func NewCmdFunction(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "function <command>",
		Short: "Deploy, update, list, call and remove functions",
	}
	cmd.AddCommand(
		NewCmdDeploy(f, nil),
		NewCmdUpdate(f, nil),
		NewCmdDelete(f, nil),
		NewCmdList(f, nil),
		NewCmdDescribe(f, nil),
		NewCmdCall(f, nil),
		NewCmdLogs(f, nil),
		NewCmdTop(f, nil),
	)
	return cmd
}

func addNamespaceFlag(cmd *cobra.Command, ns *string) {
	cmd.Flags().StringVarP(ns, "namespace", "n", "default", "Namespace of the function (on Kubernetes: the kubeconfig context's when not given)")
}
