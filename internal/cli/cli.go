// Package cli is the kubeless command: Main maps errors to exit codes and
// prints them; each noun's commands live in their own package.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	functioncmd "github.com/kubeless/kubeless/internal/cli/function"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	localcmd "github.com/kubeless/kubeless/internal/cli/local"
	runtimecmd "github.com/kubeless/kubeless/internal/cli/runtime"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/pkg/host"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// NewRootCmd returns the kubeless command tree.
func NewRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "kubeless",
		Short:         "Serverless functions: deploy a function, call it over HTTP",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return cmdutil.FlagErrorf(c, "%s", err)
	})
	root.AddCommand(runtimecmd.NewCmdRuntime())
	localCfg := &localcmd.Config{IO: iostreams.FromWriters(stdout, stderr), BuildTools: BuildTools, Version: Version}
	root.AddCommand(localcmd.NewCmdLocal(localCfg))
	root.AddCommand(functioncmd.NewCmdFunction(functioncmd.NewFactory(localCfg)))
	root.AddCommand(&cobra.Command{
		Use:   "get-server-config",
		Short: "Print the runtimes that functions can use",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cat := langruntime.Default()
			fmt.Fprintln(c.OutOrStdout(), "Current Server Config:")
			fmt.Fprintln(c.OutOrStdout(), "Supported Runtimes are: "+strings.Join(cat.Names(), ", "))
			return nil
		},
	})
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version of kubeless",
		Args:  cobra.NoArgs,
		Run: func(c *cobra.Command, _ []string) {
			fmt.Fprintln(c.OutOrStdout(), "Kubeless version: "+Version)
		},
	})
	root.AddCommand(&cobra.Command{
		Use:    "host",
		Short:  "Serve a function through the language workers of FUNC_PROCESS (the kubeless-host entrypoint)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if code := host.Serve(os.Environ()); code != 0 {
				return cmdutil.SilentExit(code)
			}
			return nil
		},
	})
	return root
}

// Main runs kubeless with os.Args and returns the exit code.
func Main() int {
	if len(os.Args) > 1 && os.Args[1] == build.ToolArg {
		return build.RunTool(context.Background(), BuildTools, os.Args[2:], os.Stdout, os.Stderr)
	}
	root := NewRootCmd(os.Stdout, os.Stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var silent *cmdutil.SilentExitError
	if errors.As(err, &silent) {
		return silent.Code
	}
	fmt.Fprintln(os.Stderr, "Error: "+err.Error())
	var fe *cmdutil.FlagError
	if errors.As(err, &fe) || isUnknownCommand(cmd, err) {
		c := cmd
		if fe != nil && fe.Cmd != nil {
			c = fe.Cmd
		}
		fmt.Fprintln(os.Stderr, c.UsageString())
		return exitUsage
	}
	return exitError
}

// isUnknownCommand is true when cobra could not find the subcommand (it
// returns the root or a group command with an argument error).
func isUnknownCommand(cmd *cobra.Command, err error) bool {
	return cmd != nil && !cmd.Runnable() && cmd.HasSubCommands()
}
