package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/cron"
)

// NewCmdCronJob returns the `trigger cronjob` group.
func NewCmdCronJob(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cronjob <command>",
		Short: "Call functions on a cron schedule",
	}
	cmd.AddCommand(NewCmdCronJobCreate(f, nil), NewCmdCronJobUpdate(f, nil), NewCmdCronJobDelete(f, nil), NewCmdCronJobList(f, nil))
	return cmd
}

// CronJobOptions are the flags of cronjob create and update.
type CronJobOptions struct {
	IO     *iostreams.IOStreams
	Engine Engine
	Update bool

	Name            string
	Namespace       string
	Function        string
	Schedule        string
	Payload         string
	PayloadFromFile string
	DryRun          bool
	Output          string
}

// NewCmdCronJobCreate returns `trigger cronjob create`.
func NewCmdCronJobCreate(f *cmdutil.Factory, runF func(*CronJobOptions) error) *cobra.Command {
	return newCmdCronJobPut(f, runF, false)
}

// NewCmdCronJobUpdate returns `trigger cronjob update`.
func NewCmdCronJobUpdate(f *cmdutil.Factory, runF func(*CronJobOptions) error) *cobra.Command {
	return newCmdCronJobPut(f, runF, true)
}

func newCmdCronJobPut(f *cmdutil.Factory, runF func(*CronJobOptions) error, update bool) *cobra.Command {
	opts := &CronJobOptions{IO: f.IOStreams, Engine: f.Engine, Update: update}
	verb, short := "create", "Create a cron trigger: the engine calls a function on a schedule"
	example := `  kubeless trigger cronjob create every-minute --function hello --schedule '* * * * *'
  kubeless trigger cronjob create nightly --function report --schedule '@daily' --payload '{"kind": "nightly"}'`
	if update {
		verb, short = "update", "Update a cron trigger: only the flags given change"
		example = "  kubeless trigger cronjob update every-minute --schedule '*/5 * * * *'"
	}
	cmd := &cobra.Command{
		Use:     verb + " <name> [flags]",
		Short:   short,
		Example: example,
		Args:    cmdutil.ExactArgs(1, verb+": the trigger name is required, for example: kubeless trigger cronjob "+verb+" every-minute --function hello --schedule '* * * * *'"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if !update && opts.Function == "" {
				return cmdutil.FlagErrorf(c, "--function is required: the function the trigger calls, for example --function hello")
			}
			if !update && opts.Schedule == "" {
				return cmdutil.FlagErrorf(c, "--schedule is required, for example --schedule '*/5 * * * *'")
			}
			if opts.Payload != "" && opts.PayloadFromFile != "" {
				return cmdutil.FlagErrorf(c, "give either --payload or --payload-from-file, not both")
			}
			if opts.DryRun && opts.Output != "json" && opts.Output != "yaml" {
				return cmdutil.FlagErrorf(c, "Output format needs to be yaml or json")
			}
			if runF != nil {
				return runF(opts)
			}
			return cronPutRun(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	addNamespaceFlag(cmd, &opts.Namespace)
	fl.StringVar(&opts.Function, "function", "", "Name of the function the trigger calls (required)")
	fl.StringVar(&opts.Schedule, "schedule", "", "Cron schedule: 5 fields such as '*/5 * * * *', or @hourly, @daily, @every 10m (required)")
	fl.StringVarP(&opts.Payload, "payload", "p", "", "JSON sent as the request body (the event data)")
	fl.StringVarP(&opts.PayloadFromFile, "payload-from-file", "f", "", "File (.json) whose JSON is sent as the request body")
	fl.BoolVar(&opts.DryRun, "dryrun", false, "Print the trigger instead of creating it")
	fl.StringVarP(&opts.Output, "output", "o", "yaml", "Output format of --dryrun: json or yaml")
	return cmd
}

// Trigger returns the CronJobTrigger of the options, with the schedule and
// the payload checked.
func (o *CronJobOptions) Trigger() (*v1beta1.CronJobTrigger, error) {
	if o.Schedule != "" {
		if _, err := cron.Parse(o.Schedule); err != nil {
			return nil, err
		}
	}
	t := &v1beta1.CronJobTrigger{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "CronJobTrigger"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless}},
		Spec:       v1beta1.CronJobTriggerSpec{FunctionName: o.Function, Schedule: o.Schedule},
	}
	payload, from := []byte(o.Payload), "--payload"
	if o.PayloadFromFile != "" {
		if ext := strings.ToLower(filepath.Ext(o.PayloadFromFile)); ext != ".json" {
			return nil, fmt.Errorf("--payload-from-file %s: only .json files are accepted", o.PayloadFromFile)
		}
		b, err := os.ReadFile(o.PayloadFromFile)
		if err != nil {
			return nil, fmt.Errorf("read --payload-from-file: %w", err)
		}
		payload, from = b, "--payload-from-file "+o.PayloadFromFile
	}
	if len(strings.TrimSpace(string(payload))) > 0 {
		if !json.Valid(payload) {
			return nil, fmt.Errorf("%s is not valid JSON: give a JSON value such as '{\"key\": \"value\"}'", from)
		}
		t.Spec.Payload = &runtime.RawExtension{Raw: []byte(strings.TrimSpace(string(payload)))}
	}
	return t, nil
}

func cronPutRun(ctx context.Context, o *CronJobOptions) error {
	t, err := o.Trigger()
	if err != nil {
		return err
	}
	return putTrigger(ctx, putOptions{IO: o.IO, Engine: o.Engine, DryRun: o.DryRun, Output: o.Output,
		Update: o.Update, Kind: "Cronjob", Name: o.Name, Namespace: o.Namespace}, t)
}

// NewCmdCronJobDelete returns `trigger cronjob delete`.
func NewCmdCronJobDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	return newCmdDelete(f, runF, v1beta1.CronJobTriggerKind)
}

// NewCmdCronJobList returns `trigger cronjob list`.
func NewCmdCronJobList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	return newCmdList(f, runF, "cron", cronListRun)
}

func cronListRun(ctx context.Context, o *ListOptions) error {
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	ts, err := backend.TriggersOf[v1beta1.CronJobTrigger](cl).List(ctx, o.Namespace)
	if err != nil {
		return err
	}
	if o.Output != "" {
		return cmdutil.PrintOutput(o.IO.Out, o.Output, ts)
	}
	var rows [][]string
	for _, t := range ts {
		rows = append(rows, []string{t.Name, t.Namespace, t.Spec.Schedule, t.Spec.FunctionName})
	}
	return table(o.IO, []string{"NAME", "NAMESPACE", "SCHEDULE", "FUNCTION NAME"}, rows)
}
