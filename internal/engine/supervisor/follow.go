package supervisor

import (
	"context"
	"fmt"
	"sync"
)

// FollowQueueBytes bounds the output queued for one Follow caller that
// reads more slowly than the process writes.
const FollowQueueBytes = 1 << 20

// subscriber queues lines for one Follow caller; forward hands them over.
type subscriber struct {
	mu      sync.Mutex
	lines   []string
	bytes   int
	dropped int
	closed  bool
	wake    chan struct{}
}

func newSubscriber() *subscriber {
	return &subscriber{wake: make(chan struct{}, 1)}
}

// push queues a line, dropping the oldest ones past FollowQueueBytes. It
// never blocks, so a slow follower never slows the process.
func (s *subscriber) push(line string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.lines = append(s.lines, line)
	s.bytes += len(line)
	for s.bytes > FollowQueueBytes && len(s.lines) > 1 {
		s.bytes -= len(s.lines[0])
		s.lines = s.lines[1:]
		s.dropped++
	}
	s.mu.Unlock()
	s.signal()
}

// close ends the subscription once the queued lines are delivered.
func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// forward sends the queued lines to out until the subscription is closed
// and drained, ctx ends, or quit is closed; then it calls unregister and
// closes out.
func (s *subscriber) forward(ctx context.Context, quit <-chan struct{}, out chan<- string, unregister func()) {
	defer close(out)
	defer unregister()
	for {
		s.mu.Lock()
		batch, dropped, closed := s.lines, s.dropped, s.closed
		s.lines, s.bytes, s.dropped = nil, 0, 0
		s.mu.Unlock()
		if dropped > 0 {
			batch = append([]string{fmt.Sprintf("[kubeless: %d lines dropped because the reader fell behind]", dropped)}, batch...)
		}
		for _, l := range batch {
			select {
			case out <- l:
			case <-ctx.Done():
				return
			case <-quit:
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		if closed {
			return
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return
		case <-quit:
			return
		}
	}
}
