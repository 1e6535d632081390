package trigger

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// NewCmdKafka returns the `trigger kafka` group.
func NewCmdKafka(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kafka <command>",
		Short: "Call functions with the messages of a Kafka topic",
	}
	cmd.AddCommand(NewCmdEventCreate(f, nil, v1beta1.KafkaTriggerKind), NewCmdEventUpdate(f, nil, v1beta1.KafkaTriggerKind),
		newCmdDelete(f, nil, v1beta1.KafkaTriggerKind), newCmdList(f, nil, "Kafka", eventListRun(v1beta1.KafkaTriggerKind)))
	return cmd
}

// NewCmdNATS returns the `trigger nats` group.
func NewCmdNATS(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nats <command>",
		Short: "Call functions with the messages of a NATS subject",
	}
	cmd.AddCommand(NewCmdEventCreate(f, nil, v1beta1.NATSTriggerKind), NewCmdEventUpdate(f, nil, v1beta1.NATSTriggerKind),
		newCmdDelete(f, nil, v1beta1.NATSTriggerKind), newCmdList(f, nil, "NATS", eventListRun(v1beta1.NATSTriggerKind)),
		NewCmdNATSPublish(f, nil))
	return cmd
}

// NewCmdKinesis returns the `trigger kinesis` group.
func NewCmdKinesis(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kinesis <command>",
		Short: "Call a function with the records of a shard of an AWS Kinesis stream",
	}
	cmd.AddCommand(NewCmdEventCreate(f, nil, v1beta1.KinesisTriggerKind), NewCmdEventUpdate(f, nil, v1beta1.KinesisTriggerKind),
		newCmdDelete(f, nil, v1beta1.KinesisTriggerKind), newCmdList(f, nil, "Kinesis", eventListRun(v1beta1.KinesisTriggerKind)),
		NewCmdKinesisPublish(f, nil), NewCmdKinesisCreateStream(f, nil))
	return cmd
}

// EventOptions are the flags of kafka|nats|kinesis create and update.
type EventOptions struct {
	IO     *iostreams.IOStreams
	Engine Engine
	Kind   *v1beta1.TriggerKind
	Update bool

	Name             string
	Namespace        string
	Topic            string
	FunctionSelector string
	FunctionName     string
	// Broker is --brokers (Kafka), --url (NATS) or --endpoint (Kinesis).
	Broker string
	// Region, Shard and Secret are Kinesis's --aws-region, --shard-id and
	// --secret; Topic is its --stream.
	Region, Shard, Secret string
	DeadLetterTopic       string
	MaxRetries            int
	RetryBackoff          string
	AtMostOnce            bool
	Parallelism           int32
	MaxInFlight           int32
	DryRun                bool
	Output                string
}

// NewCmdEventCreate returns `trigger kafka|nats create`.
func NewCmdEventCreate(f *cmdutil.Factory, runF func(*EventOptions) error, kind *v1beta1.TriggerKind) *cobra.Command {
	return newCmdEventPut(f, runF, kind, false)
}

// NewCmdEventUpdate returns `trigger kafka|nats update`.
func NewCmdEventUpdate(f *cmdutil.Factory, runF func(*EventOptions) error, kind *v1beta1.TriggerKind) *cobra.Command {
	return newCmdEventPut(f, runF, kind, true)
}

func newCmdEventPut(f *cmdutil.Factory, runF func(*EventOptions) error, kind *v1beta1.TriggerKind, update bool) *cobra.Command {
	opts := &EventOptions{IO: f.IOStreams, Engine: f.Engine, Kind: kind, Update: update, MaxRetries: -1}
	noun := kind.Command
	kinesis := kind == v1beta1.KinesisTriggerKind
	brokerFlag, brokerHelp := "brokers", "Kafka brokers, host:port,... (default: the engine's, $KUBELESS_KAFKA_BROKERS on the local engine)"
	source, unit := "Topic (NATS: subject)", "partition"
	switch kind {
	case v1beta1.NATSTriggerKind:
		brokerFlag, brokerHelp = "url", "NATS server URL, for example nats://127.0.0.1:4222 (default on the local engine: its event bus)"
	case v1beta1.KinesisTriggerKind:
		brokerFlag, brokerHelp = "endpoint", "Kinesis endpoint URL, instead of the region's (for example a kinesalite's, http://127.0.0.1:4567)"
		source, unit = "Stream", "shard"
	}
	verb, short := "create", "Create a "+kind.What+": each message of the topic calls the functions it selects"
	example := fmt.Sprintf(`  kubeless trigger %[1]s create orders --trigger-topic orders --function-selector topic=orders
  kubeless trigger %[1]s create audit --trigger-topic audit --function-name audit-log --dead-letter-topic audit-failed --max-retries 3`, noun)
	nameExample := fmt.Sprintf("kubeless trigger %s %s orders --trigger-topic orders --function-selector topic=orders", noun, verb)
	if kinesis {
		short = "Create a Kinesis trigger: each record of the stream's shard calls the function"
		example = `  kubeless trigger kinesis create clicks --function-name count --aws-region us-west-2 --stream clicks --shard-id shardId-000000000000 --secret ec2
  kubeless trigger kinesis create clicks --function-name count --aws-region us-east-1 --stream clicks --shard-id shardId-000000000000 --endpoint http://127.0.0.1:4567 --dead-letter-topic clicks-failed`
		nameExample = "kubeless trigger kinesis " + verb + " clicks --function-name count --aws-region us-west-2 --stream clicks --shard-id shardId-000000000000"
	}
	if update {
		verb, short = "update", "Update a "+kind.What+": only the flags given change"
		example = fmt.Sprintf("  kubeless trigger %s update orders --trigger-topic orders-v2", noun)
		nameExample = strings.Replace(nameExample, " create ", " update ", 1)
		if kinesis {
			example = "  kubeless trigger kinesis update clicks --shard-id shardId-000000000001"
		}
	}
	cmd := &cobra.Command{
		Use:     verb + " <name> [flags]",
		Short:   short,
		Example: example,
		Args:    cmdutil.ExactArgs(1, fmt.Sprintf("%s: the trigger name is required, for example: %s", verb, nameExample)),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if kinesis {
				if !update {
					for _, r := range []struct{ v, flag, eg string }{
						{opts.FunctionName, "--function-name", "the function to call, for example --function-name count"},
						{opts.Region, "--aws-region", "the stream's AWS region, for example --aws-region us-west-2"},
						{opts.Topic, "--stream", "the Kinesis stream, for example --stream clicks"},
						{opts.Shard, "--shard-id", "the shard whose records call the function, for example --shard-id shardId-000000000000"},
					} {
						if r.v == "" {
							return cmdutil.FlagErrorf(c, "%s is required: %s", r.flag, r.eg)
						}
					}
				}
			} else {
				if !update && opts.Topic == "" {
					return cmdutil.FlagErrorf(c, "--trigger-topic is required: the topic whose messages call the functions, for example --trigger-topic orders")
				}
				if !update && opts.FunctionSelector == "" && opts.FunctionName == "" {
					return cmdutil.FlagErrorf(c, "give --function-selector (for example --function-selector topic=orders) or --function-name")
				}
				if opts.FunctionSelector != "" && opts.FunctionName != "" {
					return cmdutil.FlagErrorf(c, "give either --function-selector or --function-name, not both")
				}
			}
			if opts.DryRun && opts.Output != "json" && opts.Output != "yaml" {
				return cmdutil.FlagErrorf(c, "Output format needs to be yaml or json")
			}
			if runF != nil {
				return runF(opts)
			}
			return eventPutRun(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	addNamespaceFlag(cmd, &opts.Namespace)
	if kinesis {
		fl.StringVar(&opts.FunctionName, "function-name", "", "Name of the function to call (required)")
		fl.StringVar(&opts.Region, "aws-region", "", "AWS region of the stream, for example us-west-2 (required)")
		fl.StringVar(&opts.Topic, "stream", "", "Kinesis stream whose records call the function (required)")
		fl.StringVar(&opts.Shard, "shard-id", "", "Shard of the stream, for example shardId-000000000000 (required)")
		fl.StringVar(&opts.Secret, "secret", "", "Credentials (keys aws_access_key_id, aws_secret_access_key): a Secret's name on Kubernetes, the path of a folder holding those files on the local engine (default: the engine's own AWS credentials)")
	} else {
		fl.StringVar(&opts.Topic, "trigger-topic", "", "Topic (NATS: subject) whose messages call the functions (required)")
		fl.StringVar(&opts.FunctionSelector, "function-selector", "", "Label query of the functions to call, for example topic=orders or 'topic in (a,b)'")
		fl.StringVar(&opts.FunctionName, "function-name", "", "Name of the one function to call, instead of --function-selector")
	}
	fl.StringVar(&opts.Broker, brokerFlag, "", brokerHelp)
	fl.StringVar(&opts.DeadLetterTopic, "dead-letter-topic", "", source+" that gets the messages whose calls still fail after the retries")
	fl.IntVar(&opts.MaxRetries, "max-retries", -1, "Retries of a failed call before the message is dead-lettered")
	// -1 stands for "not given" (the trigger's default, 5, applies); the
	// help says the default a user gets.
	fl.Lookup("max-retries").DefValue = "5"
	fl.StringVar(&opts.RetryBackoff, "retry-backoff", "", "Wait before the first retry, doubled for each next one (default 500ms)")
	fl.BoolVar(&opts.AtMostOnce, "at-most-once", false, "Commit before calling and never retry, as the original Kubeless did")
	fl.Int32Var(&opts.Parallelism, "parallelism", 0, "Messages of one "+unit+" in calls at once (default 1: in order)")
	fl.Int32Var(&opts.MaxInFlight, "max-in-flight", 0, "Calls of the trigger at once, over all "+unit+"s and functions (default 64)")
	fl.BoolVar(&opts.DryRun, "dryrun", false, "Print the trigger instead of creating it")
	fl.StringVarP(&opts.Output, "output", "o", "yaml", "Output format of --dryrun: json or yaml")
	return cmd
}

// Trigger returns the trigger of the options, with the selector parsed.
func (o *EventOptions) Trigger() (v1beta1.Trigger, error) {
	var sel metav1.LabelSelector
	if o.FunctionSelector != "" {
		ls, err := metav1.ParseToLabelSelector(o.FunctionSelector)
		if err != nil {
			return nil, fmt.Errorf("invalid --function-selector %q: %v: give a label query such as topic=orders", o.FunctionSelector, err)
		}
		sel = *ls
	}
	d := v1beta1.EventDelivery{DeadLetterTopic: o.DeadLetterTopic, RetryBackoff: o.RetryBackoff, AtMostOnce: o.AtMostOnce,
		Parallelism: o.Parallelism, MaxInFlight: o.MaxInFlight}
	if o.MaxRetries >= 0 {
		v := int32(o.MaxRetries)
		d.MaxRetries = &v
	}
	meta := metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless}}
	tm := metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: o.Kind.Kind}
	var t v1beta1.Trigger
	switch o.Kind {
	case v1beta1.KafkaTriggerKind:
		t = &v1beta1.KafkaTrigger{TypeMeta: tm, ObjectMeta: meta, Spec: v1beta1.KafkaTriggerSpec{Topic: o.Topic,
			FunctionSelector: sel, FunctionName: o.FunctionName, Brokers: o.Broker, EventDelivery: d}}
	case v1beta1.NATSTriggerKind:
		t = &v1beta1.NATSTrigger{TypeMeta: tm, ObjectMeta: meta, Spec: v1beta1.NATSTriggerSpec{Topic: o.Topic,
			FunctionSelector: sel, FunctionName: o.FunctionName, URL: o.Broker, EventDelivery: d}}
	case v1beta1.KinesisTriggerKind:
		t = &v1beta1.KinesisTrigger{TypeMeta: tm, ObjectMeta: meta, Spec: v1beta1.KinesisTriggerSpec{FunctionName: o.FunctionName,
			Region: o.Region, Secret: o.Secret, Stream: o.Topic, ShardID: o.Shard, Endpoint: o.Broker, EventDelivery: d}}
	default:
		return nil, fmt.Errorf("no command for %s", o.Kind.Kind)
	}
	if !o.Update {
		if err := t.ValidateSpec(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func eventPutRun(ctx context.Context, o *EventOptions) error {
	t, err := o.Trigger()
	if err != nil {
		return err
	}
	po := putOptions{IO: o.IO, Engine: o.Engine, DryRun: o.DryRun, Output: o.Output,
		Update: o.Update, Name: o.Name, Namespace: o.Namespace}
	switch t := t.(type) {
	case *v1beta1.KafkaTrigger:
		po.Kind = "Kafka"
		return putTrigger(ctx, po, t)
	case *v1beta1.NATSTrigger:
		po.Kind = "NATS"
		return putTrigger(ctx, po, t)
	case *v1beta1.KinesisTrigger:
		po.Kind = "Kinesis"
		return putTrigger(ctx, po, t)
	}
	return nil
}

func eventListRun(kind *v1beta1.TriggerKind) func(context.Context, *ListOptions) error {
	return func(ctx context.Context, o *ListOptions) error {
		cl, err := o.Engine(ctx)
		if err != nil {
			return err
		}
		ts, err := cl.Triggers(kind).List(ctx, o.Namespace)
		if err != nil {
			return err
		}
		if o.Output != "" {
			return cmdutil.PrintOutput(o.IO.Out, o.Output, ts)
		}
		var rows [][]string
		if kind == v1beta1.KinesisTriggerKind {
			for _, tr := range ts {
				t := tr.(*v1beta1.KinesisTrigger)
				rows = append(rows, []string{t.Name, t.Namespace, t.Spec.Stream, t.Spec.ShardID, t.Spec.FunctionName, readyOf(t)})
			}
			return table(o.IO, []string{"NAME", "NAMESPACE", "STREAM", "SHARD", "FUNCTION", "READY"}, rows)
		}
		for _, tr := range ts {
			t := tr.(v1beta1.EventTrigger)
			target := t.TargetFunction()
			if s := t.Selector(); s != nil {
				sel, _ := metav1.LabelSelectorAsSelector(s)
				target = sel.String()
			}
			rows = append(rows, []string{t.GetName(), t.GetNamespace(), t.Source(), target, readyOf(t)})
		}
		return table(o.IO, []string{"NAME", "NAMESPACE", "TOPIC", "FUNCTIONS", "READY"}, rows)
	}
}

// readyOf is the Ready condition of a trigger as "Reason: message".
func readyOf(t v1beta1.Trigger) string {
	for _, c := range t.TriggerStatus().Conditions {
		if c.Type == v1beta1.ConditionReady {
			if c.Status == metav1.ConditionTrue {
				return "True"
			}
			return c.Reason + ": " + c.Message
		}
	}
	return ""
}

// NATSPublishOptions are the flags of `trigger nats publish`.
type NATSPublishOptions struct {
	IO *iostreams.IOStreams
	// EventBus returns the local engine's event bus, the server when URL
	// is "".
	EventBus func(ctx context.Context) (string, error)
	URL      string
	Topic    string
	Message  string
}

// NewCmdNATSPublish returns `trigger nats publish`.
func NewCmdNATSPublish(f *cmdutil.Factory, runF func(*NATSPublishOptions) error) *cobra.Command {
	opts := &NATSPublishOptions{IO: f.IOStreams, EventBus: f.EventBus}
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Publish a message to a NATS subject",
		Example: `  kubeless trigger nats publish --topic orders --message '{"id": 1}'   # to the local engine's event bus
  kubeless trigger nats publish --url nats://127.0.0.1:4222 --topic orders --message '{"id": 1}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.URL == "" && (f.Engine == nil || f.UsesKubernetes()) {
				return cmdutil.FlagErrorf(c, "--url is required: the NATS server, for example --url nats://127.0.0.1:4222")
			}
			if runF != nil {
				return runF(opts)
			}
			return natsPublishRun(c.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.URL, "url", os.Getenv("KUBELESS_NATS_URL"), "NATS server URL (default $KUBELESS_NATS_URL, else the local engine's event bus)")
	cmd.Flags().StringVar(&opts.Topic, "topic", "kubeless", "Subject to publish to")
	cmd.Flags().StringVar(&opts.Message, "message", "", "The message's payload")
	return cmd
}

func natsPublishRun(ctx context.Context, o *NATSPublishOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	url := o.URL
	if url == "" {
		var err error
		if url, err = o.EventBus(ctx); err != nil {
			return fmt.Errorf("no NATS server: give --url nats://host:port: %w", err)
		}
	}
	return natsPublish(url, o.Topic, []byte(o.Message))
}

// natsPublish publishes data to subject on the NATS server at url and
// returns once the server has it.
func natsPublish(url, subject string, data []byte) error {
	nc, err := nats.Connect(url, nats.Timeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("connect to the NATS server at %s: %w", url, err)
	}
	defer nc.Close()
	if err := nc.Publish(subject, data); err != nil {
		return fmt.Errorf("publish to %s: %w", subject, err)
	}
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		return fmt.Errorf("publish to %s: %w", subject, err)
	}
	return nil
}
