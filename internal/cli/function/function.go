// Package function holds `kubeless function deploy|update|delete|ls|describe|
// call|logs|top`, with the original Kubeless CLI's flags and messages
// (docs/compatibility.md §4). Each verb has an Options struct that cobra
// fills, a NewCmdX(f, runF) constructor and an xRun function; the engine,
// local or Kubernetes, is reached only through backend.Engine.
package function

import (
	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
)

// EngineFunc returns the engine the commands use.
type EngineFunc = cmdutil.EngineFunc

// Factory holds what the commands share (cmdutil.Factory; the real one is
// made by internal/cli/local.NewFactory and the root command).
type Factory = cmdutil.Factory

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
