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
	"sync"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/build"
	autoscalecmd "github.com/kubeless/kubeless/internal/cli/autoscale"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/enginecmd"
	functioncmd "github.com/kubeless/kubeless/internal/cli/function"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	localcmd "github.com/kubeless/kubeless/internal/cli/local"
	runtimecmd "github.com/kubeless/kubeless/internal/cli/runtime"
	topiccmd "github.com/kubeless/kubeless/internal/cli/topic"
	triggercmd "github.com/kubeless/kubeless/internal/cli/trigger"
	"github.com/kubeless/kubeless/internal/gobuild"
	"github.com/kubeless/kubeless/internal/kubeengine"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/pkg/host"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// BuildTools are the catalog's helper commands written in Go
// (gobuild.Tools), given to the local engine's builder and run when the
// binary is re-executed as one (build.ToolArg).
var BuildTools = gobuild.Tools

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
	var engineFlag string
	root.PersistentFlags().StringVar(&engineFlag, "engine", "", "Engine that runs functions: local or kubernetes (default: $KUBELESS_ENGINE, else kubernetes when a kubeconfig has a current context, else local)")
	var kc kubeengine.Kubeconfig
	root.PersistentFlags().StringVar(&kc.Path, "kubeconfig", "", "Kubeconfig file of the Kubernetes engine (default: $KUBECONFIG, else ~/.kube/config)")
	root.PersistentFlags().StringVar(&kc.Context, "context", "", "Kubeconfig context of the Kubernetes engine (default: the current context); implies --engine kubernetes")
	chooseEngine := func() (enginecmd.Choice, error) {
		env := enginecmd.SystemEnv()
		env.Kubeconfig, env.Context = kc.Path, kc.Context
		return enginecmd.Choose(engineFlag, env)
	}
	onKubernetes := func() bool {
		ch, err := chooseEngine()
		return err == nil && ch.Engine == enginecmd.Kubernetes
	}
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if engineFlag != "" && !enginecmd.ValidName(engineFlag) {
			return cmdutil.FlagErrorf(c, "invalid --engine %q: use local or kubernetes", engineFlag)
		}
		// On Kubernetes -n defaults to the kubeconfig context's namespace,
		// as in the original.
		if fl := c.Flags().Lookup("namespace"); fl != nil && !fl.Changed && onKubernetes() {
			if ns, err := kc.ContextNamespace(); err == nil && ns != "" {
				if err := fl.Value.Set(ns); err != nil {
					return err
				}
			}
		}
		return nil
	}
	ios := iostreams.FromWriters(stdout, stderr)
	root.AddCommand(runtimecmd.NewCmdRuntime(&cmdutil.Factory{IOStreams: ios}))
	localCfg := &localcmd.Config{IO: ios, BuildTools: BuildTools, Version: Version}
	root.AddCommand(localcmd.NewCmdLocal(localCfg))
	f := localcmd.NewFactory(localCfg)
	localEngine := f.Engine
	kubeEngine := sync.OnceValues(func() (*kubeengine.Engine, error) { return kc.Engine() })
	f.Engine = func(ctx context.Context) (backend.Engine, error) {
		ch, err := chooseEngine()
		if err != nil {
			return nil, err
		}
		if ch.Engine == enginecmd.Kubernetes {
			e, err := kubeEngine()
			if err != nil {
				return nil, fmt.Errorf("the Kubernetes engine (chosen because %s): %w", ch.Reason, err)
			}
			return e, nil
		}
		return localEngine(ctx)
	}
	f.OnKubernetes = onKubernetes
	root.AddCommand(functioncmd.NewCmdFunction(f))
	root.AddCommand(triggercmd.NewCmdTrigger(f))
	root.AddCommand(topiccmd.NewCmdTopic(f))
	root.AddCommand(autoscalecmd.NewCmdAutoscale(f))
	root.AddCommand(enginecmd.NewCmdEngine(f, chooseEngine, nil))
	root.AddCommand(&cobra.Command{
		Use:   "get-server-config",
		Short: "Print the runtimes that functions can use",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cat := langruntime.Default()
			// On Kubernetes, the catalog is the cluster's kubeless-config.
			if onKubernetes() {
				e, err := kubeEngine()
				if err != nil {
					return err
				}
				if cat, err = e.Catalog(c.Context()); err != nil {
					return err
				}
			}
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
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command group below root (function,
// trigger http ...) refuse an argument that names none of its commands, as
// cobra does for the root: a usage error (exit 2) with cobra's "unknown
// command" message and its suggestions. Left alone, cobra prints a group's
// help and succeeds, so a typo in a script went unnoticed.
func refuseUnknownSubcommands(root *cobra.Command) {
	for _, c := range root.Commands() {
		refuseUnknownSubcommands(c)
		if !c.HasSubCommands() || c.Runnable() {
			continue
		}
		c.Args = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
			}
			return cmdutil.FlagErrorf(c, "%s", msg)
		}
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
}

// Main runs kubeless with args (the arguments after the program's name)
// and the given streams, and returns the exit code: 0 on success, 2 for a
// usage error (a wrong flag, argument or command: the usage follows the
// error), 1 for any other error, or the code of a command that printed
// its own failure.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx := context.Background()
	if len(args) > 0 && args[0] == build.ToolArg {
		return build.RunTool(ctx, BuildTools, args[1:], stdout, stderr)
	}
	root := NewRootCmd(stdout, stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var silent *cmdutil.SilentExitError
	if errors.As(err, &silent) {
		return silent.Code
	}
	fmt.Fprintln(stderr, "Error: "+err.Error())
	var fe *cmdutil.FlagError
	if errors.As(err, &fe) || isUnknownCommand(cmd, err) {
		c := cmd
		if fe != nil && fe.Cmd != nil {
			c = fe.Cmd
		}
		fmt.Fprintln(stderr, c.UsageString())
		return exitUsage
	}
	return exitError
}

// isUnknownCommand is true when cobra could not find the subcommand (it
// returns the root or a group command with an argument error).
func isUnknownCommand(cmd *cobra.Command, err error) bool {
	return cmd != nil && !cmd.Runnable() && cmd.HasSubCommands()
}
