package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// commitTimeout bounds the commit of messages already delivered, which is
// done even when the consumer is being stopped.
const commitTimeout = 10 * time.Second

// KafkaConsumer reads a Kafka topic in a consumer group and hands each
// message to its Deliverer. Offsets are committed per partition, in order,
// once the messages up to them are delivered or dead-lettered (with
// atMostOnce: once they are read, before the calls). A group that has
// committed nothing starts at the topic's end, as the original's did;
// partitions created later are read from their start.
type KafkaConsumer struct {
	// Brokers are the seed brokers' host:port.
	Brokers []string
	Topic   string
	// Group is the consumer group (GroupID).
	Group     string
	Deliverer *Deliverer
	// State, when set, is told nil once the consumer reads the topic and
	// the error that stops it from reading (an unreachable broker...),
	// each time this changes.
	State func(err error)
	// Opts are more client options (TLS, SASL).
	Opts   []kgo.Opt
	Logger *slog.Logger
	// Assigned, when set, is called each time the group gives this
	// consumer partitions (tests wait for it).
	Assigned func(partitions []int32)

	states stateReporter
	lagMu  sync.Mutex
	lag    map[int32]int64
}

// SplitBrokers splits a comma-separated broker list.
func SplitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

func (c *KafkaConsumer) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger.With("topic", c.Topic, "group", c.Group)
}

func (c *KafkaConsumer) state(err error) { c.states.report(c.State, err) }

// Run consumes until ctx ends; it returns nil then. It keeps trying while
// the brokers are unreachable, reporting it through State.
func (c *KafkaConsumer) Run(ctx context.Context) error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("no Kafka broker: give the trigger's brokers (host:port,...)")
	}
	// The group's start is set before this consumer joins it: a member's
	// commits need its generation.
	if err := c.start(ctx); err != nil {
		return nil // ctx ended
	}
	d := c.Deliverer
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ConsumerGroup(c.Group),
		kgo.ConsumeTopics(c.Topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AllowAutoTopicCreation(),
		kgo.ClientID("kubeless"),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if c.Assigned != nil {
				c.Assigned(m[c.Topic])
			}
		}),
	}, c.Opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("Kafka client: %w", err)
	}
	defer cl.Close()
	// A poll blocks rebalances until AllowRebalance, and Close waits for
	// them to be allowed.
	defer cl.AllowRebalance()
	if d.Delivery.DeadLetterTopic != "" && d.DeadLetter == nil {
		d.DeadLetter = func(ctx context.Context, m Message, cause error) error {
			return produceDeadLetter(ctx, cl, d.Delivery.DeadLetterTopic, m, cause)
		}
	}
	for {
		fetches := cl.PollRecords(ctx, 1000)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) {
			if ferr == nil && !isBenign(err) {
				ferr = err
			}
		})
		if ferr != nil {
			c.state(fmt.Errorf("read topic %s from %s: %w", c.Topic, strings.Join(c.Brokers, ","), ferr))
		} else {
			c.state(nil)
		}
		c.deliver(ctx, cl, fetches)
		cl.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// start waits until a broker answers, then, for a group that has committed
// nothing, commits the topic's end offsets so that the trigger delivers
// what is published from now on.
func (c *KafkaConsumer) start(ctx context.Context) error {
	b := newBackoff()
	for {
		err := c.seed(ctx)
		if err == nil {
			c.state(nil)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.state(err)
		c.logger().Warn("Kafka not reachable yet", "err", err)
		if err := b.wait(ctx); err != nil {
			return err
		}
	}
}

func (c *KafkaConsumer) seed(ctx context.Context) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...)}, c.Opts...)...)
	if err != nil {
		return fmt.Errorf("Kafka client: %w", err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		if errors.Is(err, io.EOF) {
			// Some brokers close the connection on a wrong SASL password
			// instead of answering SASL_AUTHENTICATION_FAILED.
			return fmt.Errorf("no Kafka broker answers at %s: it closed the connection (%w): check the SASL user and password and the TLS settings", strings.Join(c.Brokers, ","), err)
		}
		return fmt.Errorf("no Kafka broker answers at %s: %w", strings.Join(c.Brokers, ","), err)
	}
	adm := kadm.NewClient(cl)
	committed, err := adm.FetchOffsets(pctx, c.Group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("read the offsets of group %s: %w", c.Group, err)
	}
	if len(committed.Offsets()) > 0 {
		return nil
	}
	ends, err := adm.ListEndOffsets(pctx, c.Topic)
	if err != nil {
		return fmt.Errorf("read the end offsets of topic %s: %w", c.Topic, err)
	}
	offs := kadm.Offsets{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Partition >= 0 {
			offs.AddOffset(o.Topic, o.Partition, o.Offset, -1)
		}
	})
	if len(offs) == 0 {
		return nil // the topic does not exist yet: it will be read from its start
	}
	resp, err := adm.CommitOffsets(pctx, c.Group, offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("commit the start offsets of group %s: %w", c.Group, err)
	}
	c.logger().Info("new consumer group starts at the topic's end")
	return nil
}

// isBenign says whether a fetch error is one the client recovers from on
// its own without the user doing anything.
func isBenign(err error) bool {
	return err == context.Canceled || kerr.IsRetriable(err)
}

// deliver delivers a poll's records, each partition in its own goroutine,
// and commits what was done.
func (c *KafkaConsumer) deliver(ctx context.Context, cl *kgo.Client, fetches kgo.Fetches) {
	d := c.Deliverer
	var wg sync.WaitGroup
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		recs := p.Records
		if d.Delivery.AtMostOnce {
			c.commit(ctx, cl, recs[len(recs)-1])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := make([]Message, len(recs))
			for i, r := range recs {
				msgs[i] = Message{ID: fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset), Topic: r.Topic, Time: r.Timestamp, Data: r.Value}
			}
			n := d.DeliverAll(ctx, msgs)
			if n > 0 && !d.Delivery.AtMostOnce {
				c.commit(ctx, cl, recs[n-1])
			}
			next := recs[0].Offset
			if n > 0 {
				next = recs[n-1].Offset + 1
			}
			c.setLag(p.Partition, p.HighWatermark-next)
		}()
	})
	wg.Wait()
}

func (c *KafkaConsumer) commit(ctx context.Context, cl *kgo.Client, r *kgo.Record) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := cl.CommitRecords(cctx, r); err != nil {
		// Not lost: the messages after the last commit are delivered again.
		c.logger().Error("commit offset", "partition", r.Partition, "offset", r.Offset, "err", err)
	}
}

// setLag records the lag of a partition: its high watermark minus the
// next offset to deliver.
func (c *KafkaConsumer) setLag(partition int32, lag int64) {
	d := c.Deliverer
	if d.Metrics == nil {
		return
	}
	c.lagMu.Lock()
	defer c.lagMu.Unlock()
	if c.lag == nil {
		c.lag = map[int32]int64{}
	}
	c.lag[partition] = max(lag, 0)
	var sum int64
	for _, v := range c.lag {
		sum += v
	}
	d.Metrics.Lag.WithLabelValues(d.Labels.values()...).Set(float64(sum))
}

// produceDeadLetter writes m to topic with headers that say where it came
// from and why it was given up.
func produceDeadLetter(ctx context.Context, cl *kgo.Client, topic string, m Message, cause error) error {
	r := &kgo.Record{Topic: topic, Value: m.Data, Headers: []kgo.RecordHeader{
		{Key: HeaderEventID, Value: []byte(m.ID)},
		{Key: HeaderEventTopic, Value: []byte(m.Topic)},
		{Key: "kubeless-error", Value: []byte(fmt.Sprint(cause))},
	}}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return cl.ProduceSync(pctx, r).FirstErr()
}
