package events

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// script is an Invoker that answers the statuses of its list in turn (the
// last one after that) and records the calls.
type script struct {
	mu       sync.Mutex
	statuses []int
	calls    []http.Header
	bodies   []string
}

func (s *script) invoke(_ context.Context, fn string, h http.Header, body []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, h)
	s.bodies = append(s.bodies, string(body))
	st := s.statuses[min(len(s.calls)-1, len(s.statuses)-1)]
	if st == 0 {
		return 0, errors.New("connection refused")
	}
	return st, nil
}

func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func i32(v int32) *int32 { return &v }

func newDeliverer(s *script, d v1beta1.EventDelivery, reg prometheus.Registerer) *Deliverer {
	return &Deliverer{Function: "f", EventNamespace: "kafkatriggers.kubeless.io", Delivery: d, Invoke: s.invoke,
		Metrics: NewMetrics(reg), Labels: Labels{"KafkaTrigger", "default", "t", "f"}, Wait: noWait}
}

func TestHeader(t *testing.T) {
	at := time.Date(2009, 11, 10, 23, 0, 0, 0, time.UTC)
	h := Header(Message{ID: "orders/0/7", Topic: "orders", Time: at, Data: []byte(`{"a":1}`)}, "kafkatriggers.kubeless.io")
	want := map[string]string{"event-id": "orders/0/7", "event-time": "2009-11-10 23:00:00 +0000 UTC",
		"event-namespace": "kafkatriggers.kubeless.io", "event-topic": "orders", "event-type": "application/json",
		"Content-Type": "application/json"}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	h = Header(Message{Topic: "orders", Data: []byte(`hello`)}, "natstriggers.kubeless.io")
	if h.Get("event-type") != "application/x-www-form-urlencoded" || len(h.Get("event-id")) != 15 || !strings.HasSuffix(h.Get("event-time"), "UTC") {
		t.Errorf("non-JSON message headers: %v", h)
	}
	if g := GroupID("default", "trig", "fn", "orders"); g != "default_trig_fn_orders" {
		t.Errorf("GroupID = %q", g)
	}
}

func TestDeliverRetriesThenDelivers(t *testing.T) {
	s := &script{statuses: []int{500, 0, 200}}
	reg := prometheus.NewRegistry()
	d := newDeliverer(s, v1beta1.EventDelivery{}, reg)
	if err := d.Deliver(context.Background(), Message{ID: "x", Topic: "orders", Data: []byte(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	if len(s.calls) != 3 {
		t.Fatalf("%d calls, want 3", len(s.calls))
	}
	for _, h := range s.calls {
		if h.Get("event-id") != "x" {
			t.Errorf("a retry changed the event-id: %q", h.Get("event-id"))
		}
	}
	want := `
# HELP kubeless_event_calls_failed_total Calls of the function that failed (no answer, or a status other than 2xx).
# TYPE kubeless_event_calls_failed_total counter
kubeless_event_calls_failed_total{function="f",kind="KafkaTrigger",namespace="default",trigger="t"} 2
# HELP kubeless_event_calls_retried_total Calls repeated after a failed one.
# TYPE kubeless_event_calls_retried_total counter
kubeless_event_calls_retried_total{function="f",kind="KafkaTrigger",namespace="default",trigger="t"} 2
# HELP kubeless_event_messages_delivered_total Messages the function answered with a 2xx status.
# TYPE kubeless_event_messages_delivered_total counter
kubeless_event_messages_delivered_total{function="f",kind="KafkaTrigger",namespace="default",trigger="t"} 1
# HELP kubeless_event_messages_received_total Messages read from the broker, redeliveries included.
# TYPE kubeless_event_messages_received_total counter
kubeless_event_messages_received_total{function="f",kind="KafkaTrigger",namespace="default",trigger="t"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kubeless_event_calls_failed_total",
		"kubeless_event_calls_retried_total", "kubeless_event_messages_delivered_total", "kubeless_event_messages_received_total",
		"kubeless_event_messages_dead_lettered_total"); err != nil {
		t.Error(err)
	}
}

func TestDeliverDeadLetters(t *testing.T) {
	s := &script{statuses: []int{503}}
	var dead []string
	var causes []string
	d := newDeliverer(s, v1beta1.EventDelivery{MaxRetries: i32(2), DeadLetterTopic: "dlq"}, prometheus.NewRegistry())
	failDLQ := 1
	d.DeadLetter = func(_ context.Context, m Message, cause error) error {
		if failDLQ > 0 {
			failDLQ--
			return errors.New("broker busy")
		}
		dead = append(dead, m.ID)
		causes = append(causes, cause.Error())
		return nil
	}
	if err := d.Deliver(context.Background(), Message{ID: "m1", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if len(s.calls) != 3 {
		t.Errorf("%d calls, want 1 + 2 retries", len(s.calls))
	}
	if len(dead) != 1 || dead[0] != "m1" || causes[0] != "answered 503" {
		t.Errorf("dead-lettered %v (causes %v), want m1 once after a failed send", dead, causes)
	}
	if got := testutil.ToFloat64(d.Metrics.DeadLettered.WithLabelValues(d.Labels.values()...)); got != 1 {
		t.Errorf("dead-lettered counter %v, want 1", got)
	}

	// Without a dead-letter topic, the message is counted and dropped.
	s2 := &script{statuses: []int{500}}
	d2 := newDeliverer(s2, v1beta1.EventDelivery{MaxRetries: i32(0)}, prometheus.NewRegistry())
	if err := d2.Deliver(context.Background(), Message{ID: "m2"}); err != nil {
		t.Fatal(err)
	}
	if len(s2.calls) != 1 || testutil.ToFloat64(d2.Metrics.DeadLettered.WithLabelValues(d2.Labels.values()...)) != 1 {
		t.Errorf("maxRetries 0: %d calls, want 1 and one dead letter", len(s2.calls))
	}
}

func TestDeliverAtMostOnceCallsOnce(t *testing.T) {
	s := &script{statuses: []int{500}}
	d := newDeliverer(s, v1beta1.EventDelivery{AtMostOnce: true, MaxRetries: i32(5)}, nil)
	if err := d.Deliver(context.Background(), Message{ID: "m"}); err != nil {
		t.Fatal(err)
	}
	if len(s.calls) != 1 {
		t.Errorf("%d calls, want 1", len(s.calls))
	}
}

func TestDeliverStopsWithContext(t *testing.T) {
	s := &script{statuses: []int{500}}
	d := newDeliverer(s, v1beta1.EventDelivery{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	d.Wait = func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
	if err := d.Deliver(ctx, Message{ID: "m"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver = %v, want context.Canceled (not done, not committed)", err)
	}
}

func TestDeliverAllKeepsOrderAndReportsThePrefix(t *testing.T) {
	s := &script{statuses: []int{200}}
	d := newDeliverer(s, v1beta1.EventDelivery{}, nil)
	var msgs []Message
	for _, id := range []string{"a", "b", "c", "d"} {
		msgs = append(msgs, Message{ID: id, Data: []byte(id)})
	}
	if n := d.DeliverAll(context.Background(), msgs); n != 4 {
		t.Fatalf("DeliverAll = %d, want 4", n)
	}
	if got := strings.Join(s.bodies, ""); got != "abcd" {
		t.Errorf("order %q, want abcd", got)
	}

	// A context that ends during the third message: two are done.
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	d.Invoke = func(ctx context.Context, _ string, _ http.Header, _ []byte) (int, error) {
		calls++
		if calls == 3 {
			cancel()
			return 0, ctx.Err()
		}
		return 200, nil
	}
	if n := d.DeliverAll(ctx, msgs); n != 2 {
		t.Errorf("DeliverAll with a context ended at the third = %d, want 2", n)
	}
}

// TestInFlightBound: with parallelism 8 and maxInFlight 2, no more than
// two calls run at once, and two do (a barrier).
func TestInFlightBound(t *testing.T) {
	del := v1beta1.EventDelivery{Parallelism: 8, MaxInFlight: 2}
	var mu sync.Mutex
	running, peak := 0, 0
	bothIn := make(chan struct{})
	release := make(chan struct{})
	d := &Deliverer{Function: "f", Delivery: del, InFlight: NewInFlight(del), Wait: noWait,
		Invoke: func(ctx context.Context, _ string, _ http.Header, _ []byte) (int, error) {
			mu.Lock()
			running++
			peak = max(peak, running)
			if running == 2 {
				select {
				case <-bothIn:
				default:
					close(bothIn)
				}
			}
			mu.Unlock()
			<-release
			mu.Lock()
			running--
			mu.Unlock()
			return 200, nil
		}}
	msgs := make([]Message, 6)
	done := make(chan int)
	go func() { done <- d.DeliverAll(context.Background(), msgs) }()
	select {
	case <-bothIn:
	case <-time.After(30 * time.Second):
		t.Fatal("two calls never ran at once")
	}
	close(release)
	if n := <-done; n != 6 {
		t.Errorf("DeliverAll = %d", n)
	}
	if peak != 2 {
		t.Errorf("peak in-flight calls %d, want 2", peak)
	}
}
