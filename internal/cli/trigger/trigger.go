// Package trigger holds `kubeless trigger http|cronjob create|update|delete|
// list`, with the original Kubeless CLI's flags and messages
// (docs/compatibility.md §4.5). Each verb has an Options struct that cobra
// fills, a NewCmdX(f, runF) constructor and an xRun function.
//
// On the local engine --basic-auth-secret is the path of an htpasswd file
// (htpasswd -cB FILE USER; bcrypt, Apache MD5 or SHA-1 entries), read by the
// engine when the trigger is created or updated and when it starts; on
// Kubernetes it names a Secret, as in the original. Deleting a function
// deletes its triggers too.
package trigger

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// Engine returns the engine in use.
type Engine = cmdutil.EngineFunc

// NewCmdTrigger returns the `trigger` command group.
func NewCmdTrigger(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger <command>",
		Short: "Call functions on HTTP routes (http), on a schedule (cronjob) or with broker messages (kafka, nats, kinesis)",
	}
	cmd.AddCommand(NewCmdHTTP(f), NewCmdCronJob(f), NewCmdKafka(f), NewCmdNATS(f), NewCmdKinesis(f))
	return cmd
}

func addNamespaceFlag(cmd *cobra.Command, ns *string) {
	cmd.Flags().StringVarP(ns, "namespace", "n", "default", "Namespace of the trigger (and of its function)")
}

// table prints rows under header, aligned.
func table(io *iostreams.IOStreams, header []string, rows [][]string) error {
	w := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// putOptions are what creating or updating a trigger of either kind needs.
type putOptions struct {
	IO                    *iostreams.IOStreams
	Engine                Engine
	DryRun                bool
	Output                string
	Update                bool
	Kind, Name, Namespace string
}

// putTrigger prints t for a dry run, or creates or updates it and says so
// with the original's message.
func putTrigger[T any, P backend.TriggerPtr[T]](ctx context.Context, o putOptions, t *T) error {
	if o.DryRun {
		return cmdutil.PrintOutput(o.IO.Out, o.Output, t)
	}
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	triggers := backend.TriggersOf[T, P](cl)
	put, verb := triggers.Create, "created"
	if o.Update {
		put, verb = triggers.Update, "updated"
	}
	if _, err := put(ctx, t); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "%s trigger %s %s in namespace %s successfully!\n", o.Kind, o.Name, verb, o.Namespace)
	return nil
}
