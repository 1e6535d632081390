package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// maxBackoff caps the wait between two calls of one message.
const maxBackoff = 30 * time.Second

// DeadLetter sends a message that could not be delivered to the trigger's
// dead-letter topic; cause is the last call's failure.
type DeadLetter func(ctx context.Context, m Message, cause error) error

// Deliverer delivers the messages of one trigger to one function.
type Deliverer struct {
	// Function is the function called, of the trigger's namespace.
	Function string
	// EventNamespace is the event-namespace header.
	EventNamespace string
	// Delivery is the trigger's retry, dead-letter and parallelism
	// settings.
	Delivery v1beta1.EventDelivery
	// Invoke calls the function.
	Invoke Invoker
	// DeadLetter, when set, takes the messages given up; nil means that
	// they are logged and counted only.
	DeadLetter DeadLetter
	// InFlight, when set, bounds the calls of the trigger that run at
	// once: its capacity is the trigger's maxInFlight; it may be shared
	// by the Deliverers of the trigger's functions.
	InFlight chan struct{}
	Metrics  *Metrics
	Labels   Labels
	Logger   *slog.Logger
	// Wait waits d or until ctx ends (time.After by default; tests
	// replace it).
	Wait func(ctx context.Context, d time.Duration) error
}

// NewInFlight returns the in-flight bound of a trigger's delivery.
func NewInFlight(d v1beta1.EventDelivery) chan struct{} { return make(chan struct{}, d.InFlight()) }

// CallError is a failed call: no answer (Err), or an answer other than
// 2xx (Status).
type CallError struct {
	Status int
	Err    error
}

func (e *CallError) Error() string {
	if e.Err != nil {
		return "no answer: " + e.Err.Error()
	}
	return fmt.Sprintf("answered %d", e.Status)
}

func (e *CallError) Unwrap() error { return e.Err }

// Deliver delivers m: it calls the function until it answers 2xx, at most
// 1+maxRetries times (once with atMostOnce), waiting retryBackoff,
// doubled each time, between calls; then the message is dead-lettered
// (a failed dead-letter send is repeated the same way). It returns nil
// once the message is delivered or dead-lettered, and ctx's error when ctx
// ended first: the message is then not done and must not be committed.
func (d *Deliverer) Deliver(ctx context.Context, m Message) error {
	d.count(received)
	h := Header(m, d.EventNamespace)
	attempts := 1 + d.Delivery.Retries()
	if d.Delivery.AtMostOnce {
		attempts = 1
	}
	backoff := d.Delivery.Backoff()
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			d.count(retried)
			if err := d.wait(ctx, backoff); err != nil {
				return err
			}
			backoff = min(2*backoff, maxBackoff)
		}
		err := d.call(ctx, h, m.Data)
		if err == nil {
			d.count(delivered)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.count(failed)
		last = err
		d.logger().Warn("event delivery failed", "message", m.ID, "attempt", i+1, "of", attempts, "err", err)
	}
	return d.deadLetter(ctx, m, last)
}

func (d *Deliverer) call(ctx context.Context, h map[string][]string, body []byte) error {
	if d.InFlight != nil {
		select {
		case d.InFlight <- struct{}{}:
			defer func() { <-d.InFlight }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	status, err := d.Invoke(ctx, d.Function, h, body)
	if err != nil {
		return &CallError{Err: err}
	}
	if status < 200 || status > 299 {
		return &CallError{Status: status}
	}
	return nil
}

func (d *Deliverer) deadLetter(ctx context.Context, m Message, cause error) error {
	log := d.logger().With("message", m.ID, "topic", m.Topic, "cause", cause)
	if d.DeadLetter == nil {
		d.count(deadLettered)
		log.Error("event dropped after its last retry: give the trigger a deadLetterTopic to keep such messages")
		return nil
	}
	backoff := d.Delivery.Backoff()
	for {
		err := d.DeadLetter(ctx, m, cause)
		if err == nil {
			d.count(deadLettered)
			log.Warn("event sent to the dead-letter topic", "deadLetterTopic", d.Delivery.DeadLetterTopic)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Error("dead-letter send failed; retrying", "deadLetterTopic", d.Delivery.DeadLetterTopic, "err", err)
		if err := d.wait(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// DeliverAll delivers msgs, which are in order, keeping that order when
// the trigger's parallelism is 1 and running up to parallelism calls at
// once otherwise. It returns how many messages from the first are done
// (delivered or dead-lettered) with none missing in between: what the
// consumer may commit. It returns len(msgs) unless ctx ended.
func (d *Deliverer) DeliverAll(ctx context.Context, msgs []Message) int {
	p := d.Delivery.PerPartition()
	if p <= 1 {
		for i, m := range msgs {
			if d.Deliver(ctx, m) != nil {
				return i
			}
		}
		return len(msgs)
	}
	done := make([]bool, len(msgs))
	sem := make(chan struct{}, p)
	var wg sync.WaitGroup
	for i, m := range msgs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			done[i] = d.Deliver(ctx, m) == nil
		}()
	}
	wg.Wait()
	for i, ok := range done {
		if !ok {
			return i
		}
	}
	return len(msgs)
}

func (d *Deliverer) wait(ctx context.Context, t time.Duration) error {
	if d.Wait != nil {
		return d.Wait(ctx, t)
	}
	return sleep(ctx, t)
}

func (d *Deliverer) logger() *slog.Logger {
	l := d.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With("trigger", d.Labels.Trigger, "namespace", d.Labels.Namespace, "function", d.Function)
}

type metric int

const (
	received metric = iota
	delivered
	failed
	retried
	deadLettered
)

func (d *Deliverer) count(k metric) {
	if d.Metrics == nil {
		return
	}
	v := map[metric]*prometheus.CounterVec{received: d.Metrics.Received, delivered: d.Metrics.Delivered,
		failed: d.Metrics.Failed, retried: d.Metrics.Retried, deadLettered: d.Metrics.DeadLettered}[k]
	v.WithLabelValues(d.Labels.values()...).Inc()
}

// ErrStopped is returned by a consumer's Run when its context ended.
var ErrStopped = errors.New("consumer stopped")
