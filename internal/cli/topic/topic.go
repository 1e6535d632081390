// Package topic holds `kubeless topic create|delete|list|publish`: Kafka
// topics, managed through the Kafka admin API of the brokers given by
// --brokers (default $KUBELESS_KAFKA_BROKERS), where the original Kubeless
// ran Kafka's scripts in a pod. With no broker, publish sends to the local
// engine's event bus (its NATS server; the subject is the topic).
package topic

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// EnvBrokers is the default of --brokers.
const EnvBrokers = "KUBELESS_KAFKA_BROKERS"

// timeout bounds one command's talk with the brokers.
const timeout = 30 * time.Second

// Options are the flags of every topic verb.
type Options struct {
	IO      *iostreams.IOStreams
	Brokers string
	// EventBus returns the local engine's event bus (NATS), where publish
	// sends when no Kafka broker is given.
	EventBus func(ctx context.Context) (string, error)

	Topic             string
	Partitions        int32
	ReplicationFactor int16
	Data              string
}

// NewCmdTopic returns the `topic` group.
func NewCmdTopic(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IOStreams, EventBus: f.EventBus}
	cmd := &cobra.Command{
		Use:   "topic <command>",
		Short: "Manage Kafka topics: create, delete, list, publish",
	}
	cmd.PersistentFlags().StringVar(&opts.Brokers, "brokers", os.Getenv(EnvBrokers), "Kafka brokers, host:port,... (default $"+EnvBrokers+")")
	check := func(c *cobra.Command) error {
		if strings.TrimSpace(opts.Brokers) == "" {
			return cmdutil.FlagErrorf(c, "no Kafka broker: give --brokers host:port or set %s", EnvBrokers)
		}
		return nil
	}
	create := &cobra.Command{
		Use:     "create <topic>",
		Short:   "Create a Kafka topic",
		Example: "  kubeless topic create orders --partitions 3",
		Args:    cmdutil.ExactArgs(1, "create: the topic name is required, for example: kubeless topic create orders"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := check(c); err != nil {
				return err
			}
			opts.Topic = args[0]
			return run(c.Context(), opts, createRun)
		},
	}
	create.Flags().Int32Var(&opts.Partitions, "partitions", 1, "Number of partitions")
	create.Flags().Int16Var(&opts.ReplicationFactor, "replication-factor", 1, "Number of copies of each partition")
	del := &cobra.Command{
		Use:   "delete <topic>",
		Short: "Delete a Kafka topic",
		Args:  cmdutil.ExactArgs(1, "delete: the topic name is required, for example: kubeless topic delete orders"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := check(c); err != nil {
				return err
			}
			opts.Topic = args[0]
			return run(c.Context(), opts, deleteRun)
		},
	}
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the Kafka topics",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := check(c); err != nil {
				return err
			}
			return run(c.Context(), opts, listRun)
		},
	}
	publish := &cobra.Command{
		Use:   "publish",
		Short: "Publish a message to a Kafka topic, or with no Kafka broker to the local engine's event bus (NATS)",
		Example: `  kubeless topic publish --topic orders --data '{"id": 1}' --brokers 127.0.0.1:9092
  kubeless topic publish --topic orders --data '{"id": 1}'   # no broker: the local engine's NATS bus`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if strings.TrimSpace(opts.Brokers) == "" && f.Engine != nil && !f.UsesKubernetes() {
				return busPublishRun(c.Context(), opts)
			}
			if err := check(c); err != nil {
				return err
			}
			return run(c.Context(), opts, publishRun)
		},
	}
	publish.Flags().StringVar(&opts.Topic, "topic", "kubeless", "Topic to publish to")
	publish.Flags().StringVar(&opts.Data, "data", "", "The message's payload")
	cmd.AddCommand(create, del, list, publish)
	return cmd
}

func run(ctx context.Context, o *Options, fn func(context.Context, *Options, *kgo.Client) error) error {
	if ctx == nil {
		ctx = context.Background()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(splitBrokers(o.Brokers)...), kgo.AllowAutoTopicCreation())
	if err != nil {
		return fmt.Errorf("Kafka client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("no Kafka broker answers at %s: %w", o.Brokers, err)
	}
	return fn(ctx, o, cl)
}

func splitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

func createRun(ctx context.Context, o *Options, cl *kgo.Client) error {
	r, err := kadm.NewClient(cl).CreateTopic(ctx, o.Partitions, o.ReplicationFactor, nil, o.Topic)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", o.Topic, err)
	}
	fmt.Fprintf(o.IO.ErrOut, "Topic %s created\n", o.Topic)
	return nil
}

func deleteRun(ctx context.Context, o *Options, cl *kgo.Client) error {
	rs, err := kadm.NewClient(cl).DeleteTopics(ctx, o.Topic)
	if err == nil {
		err = rs.Error()
	}
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", o.Topic, err)
	}
	fmt.Fprintf(o.IO.ErrOut, "Topic %s deleted\n", o.Topic)
	return nil
}

func listRun(ctx context.Context, o *Options, cl *kgo.Client) error {
	ts, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	names := ts.Names()
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(o.IO.Out, n)
	}
	return nil
}

// busPublishRun publishes to the subject named like the topic on the local
// engine's event bus.
func busPublishRun(ctx context.Context, o *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	url, err := o.EventBus(ctx)
	if err != nil {
		return fmt.Errorf("no Kafka broker and no event bus: give --brokers host:port or set %s: %w", EnvBrokers, err)
	}
	nc, err := nats.Connect(url, nats.Timeout(timeout))
	if err != nil {
		return fmt.Errorf("connect to the local engine's event bus at %s: %w", url, err)
	}
	defer nc.Close()
	if err := nc.Publish(o.Topic, []byte(o.Data)); err != nil {
		return fmt.Errorf("publish to %s: %w", o.Topic, err)
	}
	if err := nc.FlushTimeout(timeout); err != nil {
		return fmt.Errorf("publish to %s: %w", o.Topic, err)
	}
	return nil
}

func publishRun(ctx context.Context, o *Options, cl *kgo.Client) error {
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: o.Topic, Value: []byte(o.Data)}).FirstErr(); err != nil {
		return fmt.Errorf("publish to %s: %w", o.Topic, err)
	}
	return nil
}
