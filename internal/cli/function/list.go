package function

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// ListOptions are the flags of ls.
type ListOptions struct {
	IO        *iostreams.IOStreams
	Engine    EngineFunc
	Names     []string
	Namespace string
	Output    string
}

// NewCmdList returns `function ls`.
func NewCmdList(f *Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:     "list [names...]",
		Aliases: []string{"ls"},
		Short:   "List functions with their status",
		Example: "  kubeless function ls\n  kubeless function ls hello -o json",
		RunE: func(c *cobra.Command, args []string) error {
			opts.Names = args
			if err := checkOutput(c, opts.Output, true); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return listRun(c.Context(), opts)
		},
	}
	addNamespaceFlag(cmd, &opts.Namespace)
	cmd.Flags().StringVarP(&opts.Output, "out", "o", "", "Output format: wide, json or yaml")
	return cmd
}

func checkOutput(c *cobra.Command, out string, wide bool) error {
	return cmdutil.CheckOutput(c, out, wide)
}

func listRun(ctx context.Context, o *ListOptions) error {
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	var fns []v1beta1.Function
	if len(o.Names) == 0 {
		if fns, err = cl.List(ctx, o.Namespace); err != nil {
			return err
		}
	} else {
		for _, n := range o.Names {
			fn, err := cl.Get(ctx, o.Namespace, n)
			if err != nil {
				return fmt.Errorf("Error listing function %s: %w", n, err)
			}
			fns = append(fns, *fn)
		}
	}
	switch o.Output {
	case "json":
		return printJSON(o.IO.Out, fns)
	case "yaml":
		return printYAML(o.IO.Out, fns)
	}
	if len(fns) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "No functions found")
		return nil
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	if o.Output == "wide" {
		fmt.Fprintln(w, "NAME\tNAMESPACE\tHANDLER\tRUNTIME\tDEPENDENCIES\tSTATUS\tMEMORY\tENV\tLABEL\tREASON")
	} else {
		fmt.Fprintln(w, "NAME\tNAMESPACE\tHANDLER\tRUNTIME\tDEPENDENCIES\tSTATUS")
	}
	for i := range fns {
		fn := &fns[i]
		cols := []string{fn.Name, fn.Namespace, fn.Spec.Handler, fn.Spec.Runtime, oneLine(deps(fn)), status(fn)}
		if o.Output == "wide" {
			env, mem := envAndMemory(fn)
			reason := ""
			if c := readyCondition(fn); c != nil {
				reason = c.Reason
			}
			cols = append(cols, mem, strings.Join(env, ","), labels(fn), reason)
		}
		fmt.Fprintln(w, strings.Join(cols, "\t"))
	}
	return w.Flush()
}

// status is the original's STATUS column: "<ready>/<replicas> READY" when
// an instance is ready, else "<ready>/<replicas> NOT READY", followed by
// the Ready condition's message when it says that the spec is wrong (the
// original only said "MISSING: Check controller logs").
//
// Instances can be ready while the spec is wrong: the controller refused
// an update and kept the pods of the previous generation. Then the column
// is "<ready>/<replicas> READY (update refused: <message>)", when the
// condition is of the Function's current generation.
//
// A function whose runtime is an old name that runs on another version
// gets that note: "1/1 READY (python3.7 runs on python3.9)".
//
// A function that scales to zero and runs no instance is "0/0 IDLE" (the
// next call starts one); when its last start failed, "0/1 NOT READY: " and
// why.
func status(fn *v1beta1.Function) string {
	c := readyCondition(fn)
	badInput := c != nil && c.Status == metav1.ConditionFalse && v1beta1.IsBadInputReason(c.Reason)
	note := ""
	if sc := meta.FindStatusCondition(fn.Status.Conditions, v1beta1.ConditionRuntimeSubstituted); sc != nil && sc.Status == metav1.ConditionTrue && sc.Message != "" {
		note = " (" + oneLine(sc.Message) + ")"
	}
	if c != nil && c.Reason == v1beta1.ReasonIdle && c.Status == metav1.ConditionTrue && fn.Status.ReadyReplicas == 0 {
		return "0/0 IDLE" + note
	}
	if fn.Status.ReadyReplicas > 0 {
		s := fmt.Sprintf("%d/%d READY", fn.Status.ReadyReplicas, fn.Status.Replicas) + note
		if badInput && c.ObservedGeneration == fn.Generation {
			s += " (update refused: " + conditionMessage(c) + ")"
		}
		return s
	}
	s := fmt.Sprintf("%d/%d NOT READY", fn.Status.ReadyReplicas, fn.Status.Replicas) + note
	if badInput && (c.ObservedGeneration == 0 || c.ObservedGeneration >= fn.Generation) {
		s += ": " + conditionMessage(c)
	} else if c != nil && c.Status == metav1.ConditionFalse && v1beta1.IsFailureReason(c.Reason) && scalesToZero(fn) {
		// Its first line: describe shows the rest.
		s += ": " + firstLine(c.Message)
	}
	return s
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// scalesToZero reports whether fn's autoscaler lets it run no instance.
func scalesToZero(fn *v1beta1.Function) bool {
	h, err := fn.Spec.Autoscaler()
	return err == nil && backend.ScalesToZero(h)
}

// scaling describes fn's autoscaler for describe: "0 to 4 instances on
// concurrency 10, idle after 2m0s", or "" without one.
func scaling(fn *v1beta1.Function) string {
	h, err := fn.Spec.Autoscaler()
	if err != nil || h == nil {
		return ""
	}
	minR := int32(1)
	if h.Spec.MinReplicas != nil {
		minR = *h.Spec.MinReplicas
	}
	s := fmt.Sprintf("%d to %d instances", minR, h.Spec.MaxReplicas)
	for _, m := range h.Spec.Metrics {
		switch {
		case m.Resource != nil && m.Resource.Target.AverageUtilization != nil:
			s += fmt.Sprintf(" on cpu %d%%", *m.Resource.Target.AverageUtilization)
		case m.Pods != nil && m.Pods.Metric.Name == v1beta1.MetricConcurrency && m.Pods.Target.AverageValue != nil:
			s += " on concurrency " + m.Pods.Target.AverageValue.String()
		case m.Object != nil && m.Object.Target.Value != nil:
			s += " on qps " + m.Object.Target.Value.String()
		}
	}
	if minR == 0 {
		if w, err := backend.IdleWindow(h); err == nil && w > 0 {
			s += ", idle after " + w.String()
		} else {
			s += ", idle after the engine's window"
		}
	}
	return s
}

// conditionMessage is c's message on one line, else its reason.
func conditionMessage(c *metav1.Condition) string {
	if c.Message == "" {
		return c.Reason
	}
	return oneLine(c.Message)
}

// deps is the DEPENDENCIES column: the deps text, or for nodejs the
// package.json dependencies as "<pkg>: <version>" lines.
func deps(fn *v1beta1.Function) string {
	if strings.Contains(fn.Spec.Runtime, "nodejs") && fn.Spec.Deps != "" {
		var pj struct {
			Dependencies map[string]string `json:"dependencies"`
		}
		if json.Unmarshal([]byte(fn.Spec.Deps), &pj) == nil {
			var lines []string
			for k, v := range pj.Dependencies {
				lines = append(lines, k+": "+v)
			}
			sort.Strings(lines)
			return strings.Join(lines, "\n")
		}
	}
	return fn.Spec.Deps
}

func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, ", ")
}

func envAndMemory(fn *v1beta1.Function) ([]string, string) {
	d, err := fn.Spec.DeploymentTemplate()
	if err != nil || len(d.Spec.Template.Spec.Containers) == 0 {
		return nil, ""
	}
	c := d.Spec.Template.Spec.Containers[0]
	var env []string
	for _, e := range c.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	mem := ""
	if q, ok := c.Resources.Requests["memory"]; ok {
		mem = q.String()
	}
	return env, mem
}

func labels(fn *v1beta1.Function) string {
	var l []string
	for k, v := range fn.Labels {
		l = append(l, k+"="+v)
	}
	sort.Strings(l)
	return strings.Join(l, ",")
}

func printJSON(w io.Writer, v any) error { return cmdutil.PrintJSON(w, v) }

func printYAML(w io.Writer, v any) error { return cmdutil.PrintYAML(w, v) }

// DescribeOptions are the flags of describe.
type DescribeOptions struct {
	IO        *iostreams.IOStreams
	Engine    EngineFunc
	Name      string
	Namespace string
	Output    string
}

// NewCmdDescribe returns `function describe`.
func NewCmdDescribe(f *Factory, runF func(*DescribeOptions) error) *cobra.Command {
	opts := &DescribeOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "describe <name>",
		Short: "Show a function's details and status",
		Args:  cmdutil.ExactArgs(1, "describe: the function name is required, for example: kubeless function describe hello"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := checkOutput(c, opts.Output, false); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return describeRun(c.Context(), opts)
		},
	}
	addNamespaceFlag(cmd, &opts.Namespace)
	cmd.Flags().StringVarP(&opts.Output, "out", "o", "", "Output format: json or yaml")
	return cmd
}

func describeRun(ctx context.Context, o *DescribeOptions) error {
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	fn, err := cl.Get(ctx, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	switch o.Output {
	case "json":
		return printJSON(o.IO.Out, fn)
	case "yaml":
		return printYAML(o.IO.Out, fn)
	}
	lb, _ := json.Marshal(fn.Labels)
	env, mem := envAndMemory(fn)
	eb, _ := json.Marshal(env)
	w := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }
	row("Name:", fn.Name)
	row("Namespace:", fn.Namespace)
	row("Handler:", fn.Spec.Handler)
	row("Runtime:", fn.Spec.Runtime)
	row("Label:", string(lb))
	row("Envvar:", string(eb))
	row("Memory:", mem)
	row("Dependencies:", oneLine(fn.Spec.Deps))
	row("Timeout:", fn.Spec.Timeout)
	row("Status:", status(fn))
	if c := readyCondition(fn); c != nil {
		row("Reason:", c.Reason)
		if c.Message != "" {
			row("Message:", strings.ReplaceAll(c.Message, "\n", "\n\t"))
		}
	}
	if sc := scaling(fn); sc != "" {
		row("Scaling:", sc)
	}
	for i, ev := range fn.Status.ScaleEvents {
		k := ""
		if i == 0 {
			k = "Scale events:"
		}
		row(k, fmt.Sprintf("%s  %d -> %d  %s", ev.Time.UTC().Format(time.RFC3339), ev.From, ev.To, ev.Reason))
	}
	return w.Flush()
}
