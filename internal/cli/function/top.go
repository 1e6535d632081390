package function

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// TopOptions are the flags of top.
type TopOptions struct {
	IO        *iostreams.IOStreams
	Engine    EngineFunc
	Function  string
	Namespace string
	Output    string
}

// NewCmdTop returns `function top`.
func NewCmdTop(f *Factory, runF func(*TopOptions) error) *cobra.Command {
	opts := &TopOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:     "top",
		Aliases: []string{"stats"},
		Short:   "Show the calls, failures and durations of functions, per HTTP method",
		Example: "  kubeless function top\n  kubeless function top --function hello -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkOutput(c, opts.Output, false); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return topRun(c.Context(), opts)
		},
	}
	addNamespaceFlag(cmd, &opts.Namespace)
	cmd.Flags().StringVarP(&opts.Function, "function", "f", "", "Only this function")
	cmd.Flags().StringVarP(&opts.Output, "out", "o", "", "Output format: json or yaml")
	return cmd
}

func topRun(ctx context.Context, o *TopOptions) error {
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	rows, err := cl.Top(ctx, o.Namespace, o.Function)
	if err != nil {
		return err
	}
	switch o.Output {
	case "json":
		return printJSON(o.IO.Out, rows)
	case "yaml":
		return printYAML(o.IO.Out, rows)
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tNAMESPACE\tMETHOD\tTOTAL_CALLS\tTOTAL_FAILURES\tTOTAL_DURATION_SECONDS\tAVG_DURATION_SECONDS\tMESSAGE")
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Function, r.Namespace, r.Method,
			num(r.TotalCalls), num(r.TotalFailures), num(r.TotalDurationSeconds), num(r.AvgDurationSeconds), r.Message)
	}
	return w.Flush()
}
