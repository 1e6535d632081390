package trigger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/events"
)

// KinesisStreamOptions are the flags of `trigger kinesis publish` and
// `create-stream`, which talk to Kinesis from this machine.
type KinesisStreamOptions struct {
	IO       *iostreams.IOStreams
	Region   string
	Endpoint string
	// Secret is the path of a folder holding aws_access_key_id and
	// aws_secret_access_key; empty: the AWS SDK's default chain.
	Secret string
	Stream string

	// publish
	PartitionKey string
	Records      []string

	// create-stream
	ShardCount int32
}

func addKinesisFlags(cmd *cobra.Command, o *KinesisStreamOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.Region, "aws-region", "", "AWS region of the stream, for example us-west-2 (required)")
	fl.StringVar(&o.Endpoint, "endpoint", "", "Kinesis endpoint URL, instead of the region's (for example http://127.0.0.1:4567)")
	fl.StringVar(&o.Secret, "secret", "", "Folder holding the files aws_access_key_id and aws_secret_access_key (default: the AWS SDK's own: AWS_ACCESS_KEY_ID..., ~/.aws)")
}

// client returns the Kinesis client of the options.
func (o *KinesisStreamOptions) client(ctx context.Context) (*kinesis.Client, error) {
	cfg := events.KinesisConfig{Region: o.Region, Endpoint: o.Endpoint}
	if o.Secret != "" {
		creds, err := events.CredentialsFromFolder(o.Secret)
		if err != nil {
			return nil, fmt.Errorf("--secret: %w", err)
		}
		cfg.Credentials = creds
	}
	return events.NewKinesisClient(ctx, cfg)
}

// NewCmdKinesisPublish returns `trigger kinesis publish`.
func NewCmdKinesisPublish(f *cmdutil.Factory, runF func(*KinesisStreamOptions) error) *cobra.Command {
	opts := &KinesisStreamOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Put records into a Kinesis stream",
		Example: `  kubeless trigger kinesis publish --aws-region us-west-2 --stream clicks --partition-key user1 --records '{"click": 1}'
  kubeless trigger kinesis publish --aws-region us-east-1 --endpoint http://127.0.0.1:4567 --stream clicks --partition-key k --records one --records two`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			for _, r := range []struct{ v, flag, eg string }{
				{opts.Region, "--aws-region", "--aws-region us-west-2"},
				{opts.Stream, "--stream", "--stream clicks"},
				{opts.PartitionKey, "--partition-key", "--partition-key user1"},
			} {
				if r.v == "" {
					return cmdutil.FlagErrorf(c, "%s is required, for example %s", r.flag, r.eg)
				}
			}
			if len(opts.Records) == 0 {
				return cmdutil.FlagErrorf(c, "give at least one record with --records (repeat it for more), for example --records '{\"click\": 1}'")
			}
			if runF != nil {
				return runF(opts)
			}
			return kinesisPublishRun(c.Context(), opts)
		},
	}
	addKinesisFlags(cmd, opts)
	cmd.Flags().StringVar(&opts.Stream, "stream", "", "Stream to put the records into (required)")
	cmd.Flags().StringVar(&opts.PartitionKey, "partition-key", "", "Partition key of the records: it chooses their shard (required)")
	cmd.Flags().StringArrayVar(&opts.Records, "records", nil, "A record's data; repeat the flag for more records, put in order (required)")
	return cmd
}

func kinesisPublishRun(ctx context.Context, o *KinesisStreamOptions) error {
	cl, err := o.client(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for i, r := range o.Records {
		if _, err := cl.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(o.Stream), PartitionKey: aws.String(o.PartitionKey), Data: []byte(r)}); err != nil {
			return fmt.Errorf("put record %d of %d into Kinesis stream %s: %w", i+1, len(o.Records), o.Stream, err)
		}
	}
	fmt.Fprintf(o.IO.ErrOut, "Published %d record(s) to Kinesis stream %s\n", len(o.Records), o.Stream)
	return nil
}

// NewCmdKinesisCreateStream returns `trigger kinesis create-stream`.
func NewCmdKinesisCreateStream(f *cmdutil.Factory, runF func(*KinesisStreamOptions) error) *cobra.Command {
	opts := &KinesisStreamOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:     "create-stream",
		Short:   "Create a Kinesis stream and wait until it is active",
		Example: `  kubeless trigger kinesis create-stream --aws-region us-west-2 --stream-name clicks --shard-count 2`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.Region == "" {
				return cmdutil.FlagErrorf(c, "--aws-region is required, for example --aws-region us-west-2")
			}
			if opts.Stream == "" {
				return cmdutil.FlagErrorf(c, "--stream-name is required, for example --stream-name clicks")
			}
			if opts.ShardCount < 1 {
				return cmdutil.FlagErrorf(c, "--shard-count %d is not a number of shards: give 1 or more", opts.ShardCount)
			}
			if runF != nil {
				return runF(opts)
			}
			return kinesisCreateStreamRun(c.Context(), opts)
		},
	}
	addKinesisFlags(cmd, opts)
	cmd.Flags().StringVar(&opts.Stream, "stream-name", "", "Name of the stream (required)")
	cmd.Flags().Int32Var(&opts.ShardCount, "shard-count", 1, "Shards of the stream")
	return cmd
}

func kinesisCreateStreamRun(ctx context.Context, o *KinesisStreamOptions) error {
	cl, err := o.client(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := cl.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(o.Stream), ShardCount: aws.Int32(o.ShardCount)}); err != nil {
		return fmt.Errorf("create Kinesis stream %s: %w", o.Stream, err)
	}
	w := kinesis.NewStreamExistsWaiter(cl, func(wo *kinesis.StreamExistsWaiterOptions) { wo.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(o.Stream)}, 5*time.Minute); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("Kinesis stream %s is not active after 5 minutes", o.Stream)
		}
		return fmt.Errorf("wait for Kinesis stream %s: %w", o.Stream, err)
	}
	fmt.Fprintf(o.IO.ErrOut, "Kinesis stream %s created with %d shard(s)\n", o.Stream, o.ShardCount)
	return nil
}
