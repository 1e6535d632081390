// Package function holds `kubeless function deploy|update|delete|ls|describe|
// call|logs|top` on the local engine, with the original Kubeless CLI's flags and
// messages (kubeless-reference.md §5). Each verb has an Options struct that
// cobra fills, a NewCmdX(f, runF) constructor and an xRun function; the
// engine is reached only through internal/engine/client.
package function

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/cli/local"
	"github.com/kubeless/kubeless/internal/engine/client"
)

// Factory holds what the function commands share.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// Engine returns a client of the local engine, starting it if needed.
	Engine func(ctx context.Context) (*client.Client, error)
	// HTTPClient makes calls through the gateway.
	HTTPClient *http.Client
}

// NewFactory returns the Factory of the real CLI: the engine of cfg's home,
// started on first use (with a note on stderr).
func NewFactory(cfg *local.Config) *Factory {
	return &Factory{
		IOStreams: cfg.IO,
		Engine: func(ctx context.Context) (*client.Client, error) {
			st, started, err := local.EnsureRunning(ctx, cfg)
			if err != nil {
				return nil, err
			}
			if started {
				fmt.Fprintf(cfg.IO.ErrOut, "Started the local engine (pid %d, gateway %s)\n", st.PID, st.Gateway)
			}
			return cfg.Client(), nil
		},
		HTTPClient: &http.Client{Transport: &http.Transport{Proxy: nil}},
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
	cmd.Flags().StringVarP(ns, "namespace", "n", "default", "Namespace of the function")
}
