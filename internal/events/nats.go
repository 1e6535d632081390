package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// NATSConsumer subscribes to a NATS subject in a queue group and hands each
// message to its Deliverer: in order (one call after the other) with
// parallelism 1, up to parallelism calls at once otherwise. Core NATS keeps
// no messages: what is published while no consumer is subscribed is not
// delivered (docs/events.md).
type NATSConsumer struct {
	// URL is the server's URL (several comma-separated).
	URL     string
	Subject string
	// Queue is the queue group: the consumers of one group share the
	// messages.
	Queue     string
	Deliverer *Deliverer
	// State, when set, is told nil once subscribed and the error that
	// stops the consumer from reading, each time this changes.
	State  func(err error)
	Logger *slog.Logger
	// Subscribed, when set, is called once the subscription is in place
	// on the server (tests wait for it).
	Subscribed func()

	states stateReporter
}

func (c *NATSConsumer) state(err error) { c.states.report(c.State, err) }

func (c *NATSConsumer) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger.With("subject", c.Subject)
}

// Run consumes until ctx ends; it returns nil then. It keeps trying while
// the server is unreachable, reporting it through State.
func (c *NATSConsumer) Run(ctx context.Context) error {
	nc, err := c.connect(ctx)
	if err != nil {
		return nil // ctx ended
	}
	defer nc.Close()
	d := c.Deliverer
	if d.Delivery.DeadLetterTopic != "" && d.DeadLetter == nil {
		d.DeadLetter = func(_ context.Context, m Message, cause error) error {
			msg := nats.NewMsg(d.Delivery.DeadLetterTopic)
			msg.Data = m.Data
			msg.Header.Set(HeaderEventID, m.ID)
			msg.Header.Set(HeaderEventTopic, m.Topic)
			msg.Header.Set("kubeless-error", fmt.Sprint(cause))
			if err := nc.PublishMsg(msg); err != nil {
				return err
			}
			return nc.FlushTimeout(10 * time.Second)
		}
	}
	sub, err := nc.QueueSubscribeSync(c.Subject, c.Queue)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", c.Subject, err)
	}
	// The default bounds (64 Ki messages, 64 MiB) drop messages of a
	// slow function; an unbounded queue keeps them in memory instead.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return err
	}
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		c.state(fmt.Errorf("subscribe to %s on %s: %w", c.Subject, c.URL, err))
	} else {
		c.state(nil)
	}
	if c.Subscribed != nil {
		c.Subscribed()
	}
	sem := make(chan struct{}, d.Delivery.PerPartition())
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
				return fmt.Errorf("NATS subscription to %s ended: %w", c.Subject, err)
			}
			c.logger().Warn("NATS read", "err", err)
			continue
		}
		m := Message{ID: msg.Header.Get(nats.MsgIdHdr), Topic: msg.Subject, Time: time.Now(), Data: msg.Data}
		if m.ID == "" {
			m.ID = RandomID()
		}
		if cap(sem) == 1 {
			// In order: this delivery ends before the next message is read.
			_ = d.Deliver(ctx, m)
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = d.Deliver(ctx, m)
		}()
	}
}

// connect connects, retrying until the server answers or ctx ends, and
// reports disconnections through State.
func (c *NATSConsumer) connect(ctx context.Context) (*nats.Conn, error) {
	b := newBackoff()
	for {
		nc, err := nats.Connect(c.URL,
			nats.Name("kubeless "+c.Queue),
			nats.MaxReconnects(-1),
			nats.ReconnectWait(500*time.Millisecond),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err == nil {
					err = errors.New("disconnected")
				}
				c.state(fmt.Errorf("NATS server %s: %w", c.URL, err))
			}),
			nats.ReconnectHandler(func(*nats.Conn) { c.state(nil) }),
		)
		if err == nil {
			return nc, nil
		}
		c.state(fmt.Errorf("no NATS server answers at %s: %w", c.URL, err))
		if err := b.wait(ctx); err != nil {
			return nil, err
		}
	}
}
