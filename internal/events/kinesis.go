package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// KinesisConfig is where a Kinesis stream is and how to sign the calls.
type KinesisConfig struct {
	// Region is the stream's AWS region, for example us-west-2.
	Region string
	// Endpoint, when set, replaces the region's endpoint (a kinesalite,
	// http://127.0.0.1:4567).
	Endpoint string
	// Credentials sign the calls; nil means the AWS SDK's default chain
	// (AWS_ACCESS_KEY_ID..., ~/.aws, the instance's role).
	Credentials aws.CredentialsProvider
}

// StaticCredentials are credentials from an access key, as a trigger's
// Secret (keys aws_access_key_id, aws_secret_access_key) holds them.
func StaticCredentials(id, secret string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(id, secret, "")
}

// Keys of a Kinesis trigger's Secret, as in the original.
const (
	SecretAccessKeyID     = "aws_access_key_id"
	SecretSecretAccessKey = "aws_secret_access_key"
)

// CredentialsFromFolder reads an access key from the folder dir, which
// holds the files aws_access_key_id and aws_secret_access_key: the layout
// of a mounted Kubernetes Secret, what a Kinesis trigger's secret names
// on the local engine.
func CredentialsFromFolder(dir string) (aws.CredentialsProvider, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("secret %q is not an absolute path: give the folder that holds the files %s and %s", dir, SecretAccessKeyID, SecretSecretAccessKey)
	}
	var v [2]string
	for i, k := range []string{SecretAccessKeyID, SecretSecretAccessKey} {
		b, err := os.ReadFile(filepath.Join(dir, k))
		if err != nil {
			return nil, fmt.Errorf("secret: %v: give a folder that holds the files %s and %s", err, SecretAccessKeyID, SecretSecretAccessKey)
		}
		if v[i] = strings.TrimSpace(string(b)); v[i] == "" {
			return nil, fmt.Errorf("secret: %s is empty", filepath.Join(dir, k))
		}
	}
	return StaticCredentials(v[0], v[1]), nil
}

// NewKinesisClient returns a Kinesis client for cfg.
func NewKinesisClient(ctx context.Context, cfg KinesisConfig) (*kinesis.Client, error) {
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: give the stream's region (for example us-west-2)")
	}
	var opts kinesis.Options
	if cfg.Credentials != nil {
		opts = kinesis.Options{Region: cfg.Region, Credentials: aws.NewCredentialsCache(cfg.Credentials)}
	} else {
		ac, err := config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("AWS configuration: %w", err)
		}
		return kinesis.NewFromConfig(ac, func(o *kinesis.Options) { o.BaseEndpoint = endpointOf(cfg) }), nil
	}
	opts.BaseEndpoint = endpointOf(cfg)
	return kinesis.New(opts), nil
}

func endpointOf(cfg KinesisConfig) *string {
	if cfg.Endpoint == "" {
		return nil
	}
	return aws.String(cfg.Endpoint)
}

// Checkpoints keep what a Kinesis consumer delivered last, where the
// engine chooses (the local daemon's store, a ConfigMap on Kubernetes).
type Checkpoints interface {
	// Load returns what Save stored last, nil when nothing was.
	Load(ctx context.Context) ([]byte, error)
	// Save stores b; once it returned nil, b survives the consumer.
	Save(ctx context.Context, b []byte) error
}

// checkpoint is what a Kinesis consumer saves: the sequence number of the
// last record of the shard that is done (delivered or dead-lettered).
type checkpoint struct {
	Stream         string `json:"stream"`
	Shard          string `json:"shard"`
	SequenceNumber string `json:"sequenceNumber"`
}

// KinesisConsumer reads one shard of a Kinesis stream and hands its records
// to its Deliverer, in order (parallelism 1) or up to parallelism at once,
// as the shard's batches come. The sequence number of the last record done
// (delivered or dead-lettered) is saved in Checkpoints after each batch
// (with atMostOnce: once read, before the calls), and a consumer that
// starts resumes after it. With no checkpoint it starts at the shard's
// end, as the original's did: what was published before it first read is
// not delivered.
type KinesisConsumer struct {
	Config KinesisConfig
	Stream string
	Shard  string
	// Checkpoints keep the consumer's position; nil keeps it in memory
	// only (a consumer that starts again starts at the shard's end).
	Checkpoints Checkpoints
	Deliverer   *Deliverer
	// State, when set, is told nil once the consumer reads the shard and
	// the error that stops it from reading (a missing stream, an
	// unreachable endpoint...), each time this changes.
	State  func(err error)
	Logger *slog.Logger
	// PollInterval is the wait after a read that found no record
	// (default 1s: Kinesis allows 5 reads per second and shard).
	PollInterval time.Duration
	// Reading, when set, is called each time the consumer has its place
	// in the shard and reads from it (tests wait for it).
	Reading func()

	states stateReporter
}

func (c *KinesisConsumer) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger.With("stream", c.Stream, "shard", c.Shard)
}

func (c *KinesisConsumer) state(err error) { c.states.report(c.State, err) }

// position is where the consumer is in the shard: after seq, or (no record
// done yet) at the shard's end, or, once it has read from there, at the
// time it first did, so that a consumer that reconnects misses nothing.
type position struct {
	seq   string
	since time.Time
}

// Run consumes until ctx ends; it returns nil then. It keeps trying while
// the stream is missing or the endpoint unreachable, reporting it through
// State, and returns an error only for what retrying cannot fix (the
// shard was closed by a resharding).
func (c *KinesisConsumer) Run(ctx context.Context) error {
	cl, err := NewKinesisClient(ctx, c.Config)
	if err != nil {
		return err
	}
	d := c.Deliverer
	if dl := d.Delivery.DeadLetterTopic; dl != "" && d.DeadLetter == nil {
		d.DeadLetter = func(ctx context.Context, m Message, cause error) error {
			return putDeadLetter(ctx, cl, dl, m)
		}
	}
	poll := c.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	var pos position
	b := newBackoff()
	for {
		if err := c.load(ctx, &pos); err != nil {
			c.state(err)
			if b.wait(ctx) != nil {
				return nil
			}
			continue
		}
		break
	}
	for ctx.Err() == nil {
		it, err := c.iterator(ctx, cl, &pos)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.state(err)
			c.logger().Warn("Kinesis shard not readable yet", "err", err)
			if b.wait(ctx) != nil {
				return nil
			}
			continue
		}
		c.state(nil)
		if c.Reading != nil {
			c.Reading()
		}
		for it != nil && ctx.Err() == nil {
			out, err := cl.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(1000)})
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				var expired *types.ExpiredIteratorException
				var throttled *types.ProvisionedThroughputExceededException
				switch {
				case errors.As(err, &expired):
				case errors.As(err, &throttled):
					// The shard's read limit, shared with its other
					// readers: not the trigger's failure.
					c.logger().Warn("Kinesis reads throttled", "err", err)
					if b.wait(ctx) != nil {
						return nil
					}
					continue
				default:
					c.state(fmt.Errorf("read shard %s of Kinesis stream %s: %w", c.Shard, c.Stream, err))
					if b.wait(ctx) != nil {
						return nil
					}
				}
				break // a new iterator from the position
			}
			c.state(nil)
			b.reset()
			if !c.deliver(ctx, out.Records, &pos) {
				return nil // ctx ended: what is not done is not checkpointed
			}
			c.setLag(out.MillisBehindLatest, len(out.Records))
			it = out.NextShardIterator
			if it == nil {
				return fmt.Errorf("shard %s of Kinesis stream %s is closed (the stream was resharded): point the trigger at one of its new shards", c.Shard, c.Stream)
			}
			if len(out.Records) == 0 {
				if sleep(ctx, poll) != nil {
					return nil
				}
			}
		}
	}
	return nil
}

// load reads the checkpoint; one of another stream or shard (the trigger
// was changed) does not count.
func (c *KinesisConsumer) load(ctx context.Context, pos *position) error {
	if c.Checkpoints == nil {
		return nil
	}
	b, err := c.Checkpoints.Load(ctx)
	if err != nil {
		return fmt.Errorf("read the checkpoint of shard %s of Kinesis stream %s: %w", c.Shard, c.Stream, err)
	}
	if len(b) == 0 {
		return nil
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		c.logger().Error("unreadable checkpoint: starting at the shard's end", "err", err)
		return nil
	}
	if cp.Stream == c.Stream && cp.Shard == c.Shard {
		pos.seq = cp.SequenceNumber
		c.logger().Info("resuming after the checkpoint", "sequence_number", cp.SequenceNumber)
	}
	return nil
}

func (c *KinesisConsumer) save(ctx context.Context, seq string) {
	if c.Checkpoints == nil {
		return
	}
	b, _ := json.Marshal(checkpoint{Stream: c.Stream, Shard: c.Shard, SequenceNumber: seq})
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := c.Checkpoints.Save(sctx, b); err != nil {
		// Not lost: the records after the last checkpoint are delivered
		// again by the next consumer.
		c.logger().Error("save checkpoint", "sequence_number", seq, "err", err)
	}
}

// iterator returns a shard iterator at pos.
func (c *KinesisConsumer) iterator(ctx context.Context, cl *kinesis.Client, pos *position) (*string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(c.Stream), ShardId: aws.String(c.Shard)}
	switch {
	case pos.seq != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(pos.seq)
	case !pos.since.IsZero():
		in.ShardIteratorType, in.Timestamp = types.ShardIteratorTypeAtTimestamp, aws.Time(pos.since)
	default:
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	}
	out, err := cl.GetShardIterator(ctx, in)
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("Kinesis stream %s has no shard %s in region %s (%s): create the stream (kubeless trigger kinesis create-stream --stream-name %s) or fix the trigger's stream and shard",
				c.Stream, c.Shard, c.Config.Region, nf.ErrorMessage(), c.Stream)
		}
		where := c.Config.Endpoint
		if where == "" {
			where = "region " + c.Config.Region
		}
		return nil, fmt.Errorf("read shard %s of Kinesis stream %s at %s: %w", c.Shard, c.Stream, where, err)
	}
	if pos.seq == "" && pos.since.IsZero() {
		pos.since = time.Now()
	}
	return out.ShardIterator, nil
}

// deliver delivers a batch and checkpoints what was done; it returns false
// when ctx ended before the batch was done.
func (c *KinesisConsumer) deliver(ctx context.Context, recs []types.Record, pos *position) bool {
	if len(recs) == 0 {
		return true
	}
	d := c.Deliverer
	msgs := make([]Message, len(recs))
	for i, r := range recs {
		seq := aws.ToString(r.SequenceNumber)
		msgs[i] = Message{ID: c.Stream + "/" + c.Shard + "/" + seq, Topic: c.Stream, Data: r.Data, Key: aws.ToString(r.PartitionKey)}
		if r.ApproximateArrivalTimestamp != nil {
			msgs[i].Time = *r.ApproximateArrivalTimestamp
		}
	}
	if d.Delivery.AtMostOnce {
		last := aws.ToString(recs[len(recs)-1].SequenceNumber)
		c.save(ctx, last)
		pos.seq = last
	}
	n := d.DeliverAll(ctx, msgs)
	if n > 0 && !d.Delivery.AtMostOnce {
		pos.seq = aws.ToString(recs[n-1].SequenceNumber)
		c.save(ctx, pos.seq)
	}
	return n == len(recs)
}

// setLag records how far behind the shard's end the consumer is: 0 once
// it has caught up, else the records of the last batch read (Kinesis
// tells the lag in time, MillisBehindLatest, not in records).
func (c *KinesisConsumer) setLag(behind *int64, n int) {
	d := c.Deliverer
	if d.Metrics == nil {
		return
	}
	lag := 0
	if behind != nil && *behind > 0 {
		lag = n
	}
	d.Metrics.Lag.WithLabelValues(d.Labels.values()...).Set(float64(lag))
}

// putDeadLetter writes m to the stream dl, with its partition key: a
// Kinesis record has no headers, so the cause is only logged.
func putDeadLetter(ctx context.Context, cl *kinesis.Client, dl string, m Message) error {
	key := m.Key
	if key == "" {
		key = m.ID
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := cl.PutRecord(pctx, &kinesis.PutRecordInput{StreamName: aws.String(dl), PartitionKey: aws.String(key), Data: m.Data})
	if err != nil {
		return fmt.Errorf("put the record into dead-letter stream %s: %w", dl, err)
	}
	return nil
}
