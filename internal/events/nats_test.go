package events

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func natsServer(t *testing.T, port int) *NATSServer {
	t.Helper()
	s, err := StartNATSServer("127.0.0.1", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func natsConsumer(url, subject string, f *function, d v1beta1.EventDelivery) *NATSConsumer {
	return &NATSConsumer{URL: url, Subject: subject, Queue: GroupID("default", "t", "f", subject),
		Deliverer: &Deliverer{Function: "f", EventNamespace: "natstriggers.kubeless.io", Delivery: d, Invoke: f.invoke,
			Labels: Labels{"NATSTrigger", "default", "t", "f"}}}
}

// runNATS starts a consumer and returns once it is subscribed.
func runNATS(t *testing.T, c *NATSConsumer) (stop func()) {
	t.Helper()
	subscribed := make(chan struct{})
	c.Subscribed = func() { close(subscribed) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	select {
	case <-subscribed:
	case err := <-done:
		t.Fatalf("consumer ended before subscribing: %v", err)
	case <-time.After(deadline):
		cancel()
		t.Fatal("the consumer never subscribed")
	}
	return stop
}

func publish(t *testing.T, url, subject string, values ...string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, v := range values {
		if err := nc.Publish(subject, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.FlushTimeout(deadline); err != nil {
		t.Fatal(err)
	}
}

func TestNATSDeliversInOrderAndDeadLetters(t *testing.T) {
	s := natsServer(t, 0)
	nc, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	dead, err := nc.SubscribeSync("orders.dlq")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	f := newFunction("poison")
	stop := runNATS(t, natsConsumer(s.URL(), "orders", f, v1beta1.EventDelivery{MaxRetries: i32(1), RetryBackoff: "1ms", DeadLetterTopic: "orders.dlq"}))
	defer stop()
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf(`{"n":%d}`, i))
	}
	publish(t, s.URL(), "orders", append([]string{"poison"}, want...)...)
	got := f.waitBodies(t, 10)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("bodies %v, want %v in order", got, want)
	}
	m, err := dead.NextMsg(deadline)
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	if string(m.Data) != "poison" || m.Header.Get("kubeless-error") != "answered 500" || m.Header.Get("event-topic") != "orders" {
		t.Errorf("dead letter %q %v", m.Data, m.Header)
	}
	f.mu.Lock()
	h := f.headers[len(f.headers)-1]
	f.mu.Unlock()
	if h.Get("event-namespace") != "natstriggers.kubeless.io" || h.Get("event-type") != "application/json" || h.Get("event-topic") != "orders" {
		t.Errorf("headers %v", h)
	}
}

// TestNATSServerDownThenUp: State says the server is unreachable, then
// the consumer subscribes once it is up.
func TestNATSServerDownThenUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	f := newFunction()
	states := make(chan error, 100)
	c := natsConsumer(url, "later", f, v1beta1.EventDelivery{})
	c.State = func(err error) { states <- err }
	subscribed := make(chan struct{})
	c.Subscribed = func() { close(subscribed) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case err := <-states:
		if err == nil || !strings.Contains(err.Error(), "no NATS server answers at "+url) {
			t.Fatalf("first state %v, want no NATS server answers", err)
		}
	case <-time.After(deadline):
		t.Fatal("no state reported")
	}
	natsServer(t, port)
	select {
	case <-subscribed:
	case <-time.After(deadline):
		t.Fatal("never subscribed once the server was up")
	}
	publish(t, url, "later", "hello")
	if got := f.waitBodies(t, 1); got[0] != "hello" {
		t.Errorf("got %v", got)
	}
}
