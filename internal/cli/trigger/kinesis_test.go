package trigger

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/events"
	"github.com/kubeless/kubeless/internal/testutil"
)

func TestNewCmdKinesisCreate(t *testing.T) {
	tests := []struct {
		update  bool
		cli     string
		want    EventOptions
		wantErr string
	}{
		{cli: "clicks --function-name count --aws-region us-west-2 --stream clicks --shard-id shardId-000000000000 --secret ec2 --endpoint http://k:4567 --dead-letter-topic failed --max-retries 2",
			want: EventOptions{Name: "clicks", Namespace: "default", FunctionName: "count", Region: "us-west-2", Topic: "clicks", Shard: "shardId-000000000000",
				Secret: "ec2", Broker: "http://k:4567", DeadLetterTopic: "failed", MaxRetries: 2, Output: "yaml"}},
		{update: true, cli: "clicks -n ns --shard-id shardId-000000000001 --at-most-once",
			want: EventOptions{Name: "clicks", Namespace: "ns", Shard: "shardId-000000000001", AtMostOnce: true, MaxRetries: -1, Output: "yaml", Update: true}},
		{cli: "clicks --aws-region r --stream s --shard-id x", wantErr: "--function-name is required: the function to call, for example --function-name count"},
		{cli: "clicks --function-name f --stream s --shard-id x", wantErr: "--aws-region is required: the stream's AWS region, for example --aws-region us-west-2"},
		{cli: "clicks --function-name f --aws-region r --shard-id x", wantErr: "--stream is required: the Kinesis stream, for example --stream clicks"},
		{cli: "clicks --function-name f --aws-region r --stream s", wantErr: "--shard-id is required: the shard whose records call the function, for example --shard-id shardId-000000000000"},
		{cli: "clicks --function-name f --aws-region r --stream s --shard-id x --dryrun -o table", wantErr: "Output format needs to be yaml or json"},
		{cli: "--function-name f", wantErr: "create: the trigger name is required, for example: kubeless trigger kinesis create clicks --function-name count --aws-region us-west-2 --stream clicks --shard-id shardId-000000000000"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *EventOptions
		newCmd := NewCmdEventCreate
		if tt.update {
			newCmd = NewCmdEventUpdate
		}
		cmd := newCmd(&cmdutil.Factory{IOStreams: ios}, func(o *EventOptions) error { got = o; return nil }, v1beta1.KinesisTriggerKind)
		err := execute(cmd, tt.cli)
		if tt.wantErr != "" {
			var fe *cmdutil.FlagError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &fe) {
				t.Errorf("%q: err = %v, want FlagError %q", tt.cli, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got.IO, got.Engine, got.Kind = nil, nil, nil
		if d := cmp.Diff(&tt.want, got); d != "" {
			t.Errorf("%q (-want +got):\n%s", tt.cli, d)
		}
	}
}

func execute(cmd *cobra.Command, cli string) error {
	cmd.SetArgs(strings.Fields(cli))
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	return cmd.Execute()
}

func TestKinesisDryRun(t *testing.T) {
	ios, _, stdout, _ := iostreams.Test()
	o := &EventOptions{IO: ios, Kind: v1beta1.KinesisTriggerKind, Name: "clicks", Namespace: "default", FunctionName: "count",
		Region: "us-west-2", Topic: "clicks", Shard: "shardId-000000000000", Secret: "ec2", MaxRetries: -1, DryRun: true, Output: "yaml"}
	if err := eventPutRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	// The original's keys: manifests of the original apply unchanged.
	want := `apiVersion: kubeless.io/v1beta1
kind: KinesisTrigger
metadata:
  labels:
    created-by: kubeless
  name: clicks
  namespace: default
spec:
  aws-region: us-west-2
  endpoint: ""
  function-name: count
  secret: ec2
  shard: shardId-000000000000
  stream: clicks
`
	if d := cmp.Diff(want, stdout.String()); d != "" {
		t.Errorf("dry run (-want +got):\n%s", d)
	}
	o.DeadLetterTopic = "clicks"
	if err := eventPutRun(context.Background(), o); err == nil || !strings.Contains(err.Error(), "deadLetterTopic is the trigger's own stream") {
		t.Errorf("dead letters into the trigger's own stream: %v", err)
	}
}

func TestNewCmdKinesisStreamFlags(t *testing.T) {
	tests := []struct {
		cmd     func(*cmdutil.Factory, func(*KinesisStreamOptions) error) *cobra.Command
		cli     string
		want    KinesisStreamOptions
		wantErr string
	}{
		{cmd: NewCmdKinesisPublish, cli: "--aws-region r --stream s --partition-key k --records a --records b --endpoint http://e --secret /s",
			want: KinesisStreamOptions{Region: "r", Stream: "s", PartitionKey: "k", Records: []string{"a", "b"}, Endpoint: "http://e", Secret: "/s"}},
		{cmd: NewCmdKinesisPublish, cli: "--stream s --partition-key k --records a", wantErr: "--aws-region is required, for example --aws-region us-west-2"},
		{cmd: NewCmdKinesisPublish, cli: "--aws-region r --stream s --records a", wantErr: "--partition-key is required, for example --partition-key user1"},
		{cmd: NewCmdKinesisPublish, cli: "--aws-region r --stream s --partition-key k", wantErr: `give at least one record with --records (repeat it for more), for example --records '{"click": 1}'`},
		{cmd: NewCmdKinesisCreateStream, cli: "--aws-region r --stream-name s", want: KinesisStreamOptions{Region: "r", Stream: "s", ShardCount: 1}},
		{cmd: NewCmdKinesisCreateStream, cli: "--aws-region r", wantErr: "--stream-name is required, for example --stream-name clicks"},
		{cmd: NewCmdKinesisCreateStream, cli: "--aws-region r --stream-name s --shard-count 0", wantErr: "--shard-count 0 is not a number of shards: give 1 or more"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *KinesisStreamOptions
		err := execute(tt.cmd(&cmdutil.Factory{IOStreams: ios}, func(o *KinesisStreamOptions) error { got = o; return nil }), tt.cli)
		if tt.wantErr != "" {
			var fe *cmdutil.FlagError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &fe) {
				t.Errorf("%q: err = %v, want FlagError %q", tt.cli, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got.IO = nil
		if d := cmp.Diff(&tt.want, got); d != "" {
			t.Errorf("%q (-want +got):\n%s", tt.cli, d)
		}
	}
}

// TestKinesisCreateStreamAndPublishRun: against kinesalite, create-stream
// makes an active stream and publish puts the records in order.
func TestKinesisCreateStreamAndPublishRun(t *testing.T) {
	endpoint := testutil.Kinesalite(t)
	secret := t.TempDir()
	testutil.WriteFiles(t, secret, map[string]string{"aws_access_key_id": "test", "aws_secret_access_key": "test"})
	ctx := context.Background()
	ios, _, _, stderr := iostreams.Test()
	o := &KinesisStreamOptions{IO: ios, Region: "us-east-1", Endpoint: endpoint, Secret: secret, Stream: "clicks", ShardCount: 1}
	if err := kinesisCreateStreamRun(ctx, o); err != nil {
		t.Fatal(err)
	}
	o.PartitionKey, o.Records = "k", []string{`{"n":1}`, "two"}
	if err := kinesisPublishRun(ctx, o); err != nil {
		t.Fatal(err)
	}
	if want := "Kinesis stream clicks created with 1 shard(s)\nPublished 2 record(s) to Kinesis stream clicks\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	cl, err := events.NewKinesisClient(ctx, events.KinesisConfig{Region: "us-east-1", Endpoint: endpoint, Credentials: events.StaticCredentials("test", "test")})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cl.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("clicks"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cl.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.Records {
		got = append(got, string(r.Data))
	}
	if d := cmp.Diff([]string{`{"n":1}`, "two"}, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	o.Secret = "relative/dir"
	if err := kinesisPublishRun(ctx, o); err == nil || !strings.HasPrefix(err.Error(), `--secret: secret "relative/dir" is not an absolute path`) {
		t.Errorf("relative secret: %v", err)
	}
	o.Secret, o.Stream = secret, "missing"
	if err := kinesisPublishRun(ctx, o); err == nil || !strings.Contains(err.Error(), "put record 1 of 2 into Kinesis stream missing") {
		t.Errorf("missing stream: %v", err)
	}
}
