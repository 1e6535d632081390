package events

import (
	"context"
	"sync"
	"time"
)

// What the consumers (KafkaConsumer, NATSConsumer, KinesisConsumer) share
// besides the Deliverer: how they report their state and how they wait
// between two tries while the broker cannot be read.

// stateReporter tells a consumer's State callback its state (nil: it
// reads) each time it changes.
type stateReporter struct {
	mu   sync.Mutex
	last string
}

// report calls fn (when set) with err unless the last call had the same.
func (s *stateReporter) report(fn func(error), err error) {
	v := "ok"
	if err != nil {
		v = err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == s.last {
		return
	}
	s.last = v
	if fn != nil {
		fn(err)
	}
}

// backoff is the wait between two tries of a consumer that cannot read:
// 200ms, doubled each time, up to 10s.
type backoff struct{ d time.Duration }

const (
	firstBackoff = 200 * time.Millisecond
	lastBackoff  = 10 * time.Second
)

func newBackoff() *backoff { return &backoff{d: firstBackoff} }

func (b *backoff) reset() { b.d = firstBackoff }

// wait waits the current time, or until ctx ends (its error then), and
// doubles the next.
func (b *backoff) wait(ctx context.Context) error {
	err := sleep(ctx, b.d)
	b.d = min(2*b.d, lastBackoff)
	return err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
