// Package autoscale holds `kubeless autoscale create|delete|list`
// (docs/compatibility.md §3.5, §4.6): the autoscaler is kept in the function's
// spec.horizontalPodAutoscaler. The local engine runs between --min and
// --max instances, scaling on calls per second (qps: one instance per
// --value calls/s), on the instances' CPU use (cpu: --value is the target
// average utilization in percent) or on calls in flight (concurrency:
// --value calls per instance); with --min 0 it stops the last instance
// after --idle-window without a call and starts one for the next call. On
// Kubernetes the controller makes a HorizontalPodAutoscaler of it (--min 1
// or more there).
package autoscale

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// NewCmdAutoscale returns the `autoscale` group.
func NewCmdAutoscale(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "autoscale <command>",
		Short: "Run a function on more instances when it is busy",
	}
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdDelete(f, nil), NewCmdList(f, nil))
	return cmd
}

// CreateOptions are the flags of create.
type CreateOptions struct {
	IO        *iostreams.IOStreams
	Engine    cmdutil.EngineFunc
	Name      string
	Namespace string
	Min       int32
	Max       int32
	Metric    string
	Value     string
	// IdleWindow, with Min 0, is how long the function may go without a
	// call before its last instance stops; 0 leaves the engine's default.
	IdleWindow time.Duration
}

// NewCmdCreate returns `autoscale create`.
func NewCmdCreate(f *cmdutil.Factory, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "create <function> --metric cpu|qps|concurrency --value N [--min N] [--max N] [--idle-window D]",
		Short: "Scale a function between --min and --max instances on CPU, calls per second or calls in flight",
		Example: `  kubeless autoscale create hello --metric qps --value 10 --min 1 --max 4
  kubeless autoscale create hello --metric cpu --value 70 --max 3
  kubeless autoscale create hello --metric concurrency --value 10 --min 0 --max 4 --idle-window 2m`,
		Args: cmdutil.ExactArgs(1, "create: the function name is required, for example: kubeless autoscale create hello --metric qps --value 10"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := opts.check(c); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return createRun(c.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Namespace, "namespace", "n", "default", "Namespace of the function")
	cmd.Flags().Int32Var(&opts.Min, "min", 1, "Fewest instances; 0 stops the last one when the function is idle (on Kubernetes through the kubeless-activator)")
	cmd.Flags().Int32Var(&opts.Max, "max", 1, "Most instances (at least --min, and 1 or more)")
	cmd.Flags().StringVar(&opts.Metric, "metric", "cpu", "What to scale on: cpu (average utilization, percent), qps (calls per second per instance) or concurrency (calls in flight per instance)")
	cmd.Flags().StringVar(&opts.Value, "value", "", "Target of the metric, for example 70 for cpu, 10 for qps or concurrency (required)")
	cmd.Flags().DurationVar(&opts.IdleWindow, "idle-window", 0, "With --min 0: how long without a call before the last instance stops (default: the function's, from function deploy --idle-window, else the engine's, 60s unless KUBELESS_IDLE_WINDOW says otherwise)")
	return cmd
}

func (o *CreateOptions) check(c *cobra.Command) error {
	if o.Min < 0 {
		return cmdutil.FlagErrorf(c, "invalid --min %d: use 0 (stop the last instance when idle) or more", o.Min)
	}
	if o.Max < 1 {
		return cmdutil.FlagErrorf(c, "invalid --max %d: use 1 or more", o.Max)
	}
	if o.Max < o.Min {
		return cmdutil.FlagErrorf(c, "invalid --max %d: it must be at least --min (%d)", o.Max, o.Min)
	}
	if o.Value == "" {
		return cmdutil.FlagErrorf(c, "--value is required: the metric's target, for example --value 10")
	}
	if c.Flags().Changed("idle-window") {
		if o.IdleWindow <= 0 {
			return cmdutil.FlagErrorf(c, "invalid --idle-window %s: use a positive duration such as 90s or 5m", o.IdleWindow)
		}
		if o.Min != 0 {
			return cmdutil.FlagErrorf(c, "--idle-window needs --min 0: only a function that may run no instance has an idle window")
		}
	}
	switch o.Metric {
	case "cpu":
		if n, err := strconv.Atoi(o.Value); err != nil || n <= 0 {
			return cmdutil.FlagErrorf(c, "invalid --value %q: give the target CPU utilization as a whole percentage, for example --value 70", o.Value)
		}
	case "qps":
		if q, err := resource.ParseQuantity(o.Value); err != nil || q.Sign() <= 0 {
			return cmdutil.FlagErrorf(c, "invalid --value %q: give calls per second, for example --value 10", o.Value)
		}
	case "concurrency":
		if q, err := resource.ParseQuantity(o.Value); err != nil || q.Sign() <= 0 {
			return cmdutil.FlagErrorf(c, "invalid --value %q: give calls in flight per instance, for example --value 10", o.Value)
		}
	default:
		return cmdutil.FlagErrorf(c, "invalid --metric %q: use cpu, qps or concurrency", o.Metric)
	}
	return nil
}

// Autoscaler returns the HorizontalPodAutoscaler of the options, shaped as
// the original's (docs/compatibility.md §3.5) in autoscaling/v2.
func (o *CreateOptions) Autoscaler() *autoscalingv2.HorizontalPodAutoscaler {
	minR := o.Min
	h := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, v1beta1.LabelFunction: o.Name}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: o.Name},
			MinReplicas:    &minR,
			MaxReplicas:    o.Max,
		},
	}
	if o.IdleWindow > 0 {
		h.Annotations = map[string]string{v1beta1.AnnotationIdleWindow: o.IdleWindow.String()}
	}
	switch o.Metric {
	case "cpu":
		n, _ := strconv.Atoi(o.Value)
		u := int32(n)
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}}}}
	case "concurrency":
		h.Spec.Metrics = []autoscalingv2.MetricSpec{ConcurrencyMetric(resource.MustParse(o.Value))}
	default:
		q := resource.MustParse(o.Value)
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Service", Name: o.Name},
			Metric:          autoscalingv2.MetricIdentifier{Name: "function_calls"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &q}}}}
	}
	return h
}

func createRun(ctx context.Context, o *CreateOptions) error {
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	if _, err := cl.SetAutoscaler(ctx, o.Namespace, o.Name, o.Autoscaler()); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "Autoscale %s created in namespace %s successfully!\n", o.Name, o.Namespace)
	return nil
}

// DeleteOptions are the flags of delete.
type DeleteOptions struct {
	IO        *iostreams.IOStreams
	Engine    cmdutil.EngineFunc
	Name      string
	Namespace string
}

// NewCmdDelete returns `autoscale delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "delete <function>",
		Short: "Stop autoscaling a function (it goes back to its --replicas)",
		Args:  cmdutil.ExactArgs(1, "delete: the function name is required, for example: kubeless autoscale delete hello"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			ctx := c.Context()
			cl, err := opts.Engine(ctx)
			if err != nil {
				return err
			}
			_, err = cl.SetAutoscaler(ctx, opts.Namespace, opts.Name, nil)
			return err
		},
	}
	cmd.Flags().StringVarP(&opts.Namespace, "namespace", "n", "default", "Namespace of the function")
	return cmd
}

// ListOptions are the flags of list.
type ListOptions struct {
	IO        *iostreams.IOStreams
	Engine    cmdutil.EngineFunc
	Namespace string
	Output    string
}

// NewCmdList returns `autoscale list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the functions' autoscalers",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.CheckOutput(c, opts.Output, false); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return listRun(c.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Namespace, "namespace", "n", "default", "Namespace of the functions")
	cmd.Flags().StringVarP(&opts.Output, "out", "o", "", "Output format: json or yaml")
	return cmd
}

// ConcurrencyMetric is the metric of an autoscaler that scales on calls in
// flight, target per instance.
func ConcurrencyMetric(target resource.Quantity) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: v1beta1.MetricConcurrency},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &target}}}
}

// metricOf returns the metric name and target of h, as the list shows them.
func metricOf(h *autoscalingv2.HorizontalPodAutoscaler) (string, string) {
	for _, m := range h.Spec.Metrics {
		switch {
		case m.Resource != nil && m.Resource.Name == corev1.ResourceCPU:
			if u := m.Resource.Target.AverageUtilization; u != nil {
				return "cpu", strconv.Itoa(int(*u))
			}
			return "cpu", ""
		case m.Pods != nil && m.Pods.Metric.Name == v1beta1.MetricConcurrency:
			if v := m.Pods.Target.AverageValue; v != nil {
				return "concurrency", v.String()
			}
			return "concurrency", ""
		case m.Object != nil:
			if v := m.Object.Target.Value; v != nil {
				return "qps", v.String()
			}
			if v := m.Object.Target.AverageValue; v != nil {
				return "qps", v.String()
			}
			return "qps", ""
		}
	}
	return "", ""
}

func listRun(ctx context.Context, o *ListOptions) error {
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	fns, err := cl.List(ctx, o.Namespace)
	if err != nil {
		return err
	}
	hpas := []autoscalingv2.HorizontalPodAutoscaler{}
	for i := range fns {
		h, err := fns[i].Spec.Autoscaler()
		if err != nil || h == nil {
			continue
		}
		if h.Namespace == "" {
			h.Namespace = fns[i].Namespace
		}
		hpas = append(hpas, *h)
	}
	if o.Output != "" {
		return cmdutil.PrintOutput(o.IO.Out, o.Output, hpas)
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tNAMESPACE\tTARGET\tMIN\tMAX\tMETRIC\tVALUE")
	for _, h := range hpas {
		minR := int32(1)
		if h.Spec.MinReplicas != nil {
			minR = *h.Spec.MinReplicas
		}
		metric, value := metricOf(&h)
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", h.Name, h.Namespace, h.Spec.ScaleTargetRef.Name, minR, h.Spec.MaxReplicas, metric, value)
	}
	return w.Flush()
}
