package events

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// deadline bounds every wait of these tests: a failure bound, never a
// synchronisation.
const deadline = 2 * time.Minute

// kafkaBrokers returns the brokers of the test: KAFKA_BROKERS when set (a
// real Kafka), else a kfake cluster of one broker (franz-go's fake Kafka,
// which speaks the Kafka protocol).
func kafkaBrokers(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	if b := os.Getenv("KAFKA_BROKERS"); b != "" {
		return SplitBrokers(b)
	}
	return fakeBrokers(t, opts...)
}

// fakeBrokers starts a kfake cluster of one broker and returns its address.
func fakeBrokers(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// topicName is unique per test, so that the tests can share a real broker.
func topicName(t *testing.T) string {
	return strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + fmt.Sprint(time.Now().UnixNano())
}

func createTopic(t *testing.T, brokers []string, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

func produce(t *testing.T, brokers []string, topic string, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var rs []*kgo.Record
	for i, v := range values {
		rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(v)})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// function is a fake function: it records each call's event-id and body,
// fails the bodies in fail, and signals each new body on got.
type function struct {
	mu      sync.Mutex
	fail    map[string]bool
	calls   map[string]int // by event-id
	seen    map[string]bool
	bodies  []string
	headers []http.Header
	got     chan string
}

func newFunction(fail ...string) *function {
	f := &function{fail: map[string]bool{}, calls: map[string]int{}, seen: map[string]bool{}, got: make(chan string, 100000)}
	for _, b := range fail {
		f.fail[b] = true
	}
	return f
}

func (f *function) invoke(_ context.Context, _ string, h http.Header, body []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := h.Get(HeaderEventID)
	f.calls[id]++
	f.headers = append(f.headers, h)
	if f.fail[string(body)] {
		return http.StatusInternalServerError, nil
	}
	if !f.seen[string(body)] {
		f.seen[string(body)] = true
		f.bodies = append(f.bodies, string(body))
		f.got <- string(body)
	}
	return http.StatusOK, nil
}

// waitBodies waits until the function got n new bodies.
func (f *function) waitBodies(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	timeout := time.After(deadline)
	for len(out) < n {
		select {
		case b := <-f.got:
			out = append(out, b)
		case <-timeout:
			t.Fatalf("the function got %d messages, want %d: %v", len(out), n, out)
		}
	}
	return out
}

// runKafka starts a consumer and returns when it has its partitions.
func runKafka(t *testing.T, c *KafkaConsumer) (stop func()) {
	t.Helper()
	assigned := make(chan struct{}, 1)
	c.Assigned = func([]int32) {
		select {
		case assigned <- struct{}{}:
		default:
		}
	}
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
	case <-assigned:
	case err := <-done:
		t.Fatalf("consumer ended before joining its group: %v", err)
	case <-time.After(deadline):
		cancel()
		t.Fatal("the consumer never got its partitions")
	}
	return stop
}

func kafkaConsumer(brokers []string, topic string, f *function, d v1beta1.EventDelivery, reg prometheus.Registerer) *KafkaConsumer {
	return &KafkaConsumer{Brokers: brokers, Topic: topic, Group: GroupID("default", "t", "f", topic),
		Deliverer: &Deliverer{Function: "f", EventNamespace: "kafkatriggers.kubeless.io", Delivery: d, Invoke: f.invoke,
			Metrics: NewMetrics(reg), Labels: Labels{"KafkaTrigger", "default", "t", "f"}}}
}

func TestKafkaDeliversInOrderWithHeaders(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := topicName(t)
	createTopic(t, brokers, topic, 1)
	produce(t, brokers, topic, `{"before":"start"}`) // before the trigger: not delivered
	f := newFunction()
	c := kafkaConsumer(brokers, topic, f, v1beta1.EventDelivery{}, prometheus.NewRegistry())
	stop := runKafka(t, c)
	defer stop()
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf(`{"n":%d}`, i))
	}
	produce(t, brokers, topic, want...)
	got := f.waitBodies(t, 20)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("bodies %v, want %v in order", got, want)
	}
	f.mu.Lock()
	h := f.headers[0]
	f.mu.Unlock()
	if h.Get("event-namespace") != "kafkatriggers.kubeless.io" || h.Get("event-type") != "application/json" ||
		h.Get("event-topic") != topic || !strings.HasSuffix(h.Get("event-time"), "UTC") || h.Get("event-id") != topic+"/0/1" {
		t.Errorf("headers %v", h)
	}
	if n := testutil.ToFloat64(c.Deliverer.Metrics.Delivered.WithLabelValues(c.Deliverer.Labels.values()...)); n != 20 {
		t.Errorf("delivered counter %v, want 20", n)
	}
}

// consumeAll reads n records of topic from its start.
func consumeAll(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of %s, want %d", len(out), topic, n)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func TestKafkaRetriesThenDeadLetters(t *testing.T) {
	brokers := kafkaBrokers(t)
	topic := topicName(t)
	createTopic(t, brokers, topic, 1)
	f := newFunction(`{"poison":true}`)
	c := kafkaConsumer(brokers, topic, f, v1beta1.EventDelivery{MaxRetries: i32(2), RetryBackoff: "1ms", DeadLetterTopic: topic + "-dlq"}, prometheus.NewRegistry())
	stop := runKafka(t, c)
	defer stop()
	produce(t, brokers, topic, `{"n":1}`, `{"poison":true}`, `{"n":2}`)
	if got := f.waitBodies(t, 2); got[0] != `{"n":1}` || got[1] != `{"n":2}` {
		t.Errorf("delivered %v", got)
	}
	dead := consumeAll(t, brokers, topic+"-dlq", 1)
	if string(dead[0].Value) != `{"poison":true}` {
		t.Errorf("dead letter %q", dead[0].Value)
	}
	hdr := map[string]string{}
	for _, h := range dead[0].Headers {
		hdr[h.Key] = string(h.Value)
	}
	if hdr["event-id"] != topic+"/0/1" || hdr["kubeless-error"] != "answered 500" || hdr["event-topic"] != topic {
		t.Errorf("dead letter headers %v", hdr)
	}
	f.mu.Lock()
	calls := f.calls[topic+"/0/1"]
	f.mu.Unlock()
	if calls != 3 {
		t.Errorf("the failing message was called %d times, want 1 + 2 retries", calls)
	}
}

// TestKafkaBrokerDownThenUp: a consumer whose broker is not there says so
// through State, and delivers once the broker is up.
func TestKafkaBrokerDownThenUp(t *testing.T) {
	// Its own broker, also when KAFKA_BROKERS names another: it stops and
	// starts the broker itself.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	f := newFunction()
	states := make(chan error, 100)
	c := kafkaConsumer([]string{addr}, "later", f, v1beta1.EventDelivery{}, nil)
	c.State = func(err error) { states <- err }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case err := <-states:
		if err == nil || !strings.Contains(err.Error(), "no Kafka broker answers at "+addr) {
			t.Fatalf("first state %v, want no Kafka broker answers", err)
		}
	case <-time.After(deadline):
		t.Fatal("no state reported")
	}
	brokers := fakeBrokers(t, kfake.Ports(port))
	createTopic(t, brokers, "later", 1)
	for err := range states {
		if err == nil {
			break
		}
	}
	produce(t, brokers, "later", "hello")
	if got := f.waitBodies(t, 1); got[0] != "hello" {
		t.Errorf("got %v", got)
	}
}

// TestKafkaNoLossAcrossRestarts publishes N messages over 3 partitions while
// the consumer is stopped and started again every N/5 deliveries, some of
// them cut in the middle of a call: every message must be delivered at
// least once; duplicates are counted and reported.
func TestKafkaNoLossAcrossRestarts(t *testing.T) {
	const n = 3000
	brokers := kafkaBrokers(t)
	topic := topicName(t)
	createTopic(t, brokers, topic, 3)
	f := newFunction()
	var mu sync.Mutex
	calls := 0
	restart := make(chan struct{}, 1)
	invoke := func(ctx context.Context, fn string, h http.Header, body []byte) (int, error) {
		mu.Lock()
		calls++
		cut := calls%(n/5) == 0
		mu.Unlock()
		if cut {
			select {
			case restart <- struct{}{}:
			default:
			}
			<-ctx.Done() // stopped in the middle of this call
			return 0, ctx.Err()
		}
		return f.invoke(ctx, fn, h, body)
	}
	newConsumer := func() *KafkaConsumer {
		c := kafkaConsumer(brokers, topic, f, v1beta1.EventDelivery{Parallelism: 4}, nil)
		c.Deliverer.Invoke = invoke
		return c
	}
	stop := runKafka(t, newConsumer())
	produced := make(chan error, 1)
	go func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
		if err != nil {
			produced <- err
			return
		}
		defer cl.Close()
		var rs []*kgo.Record
		for i := range n {
			rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf(`{"n":%d}`, i))})
			if len(rs) == 500 {
				if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
					produced <- err
					return
				}
				rs = nil
			}
		}
		produced <- nil
	}()
	restarts := 0
	got := map[string]bool{}
	timeout := time.After(deadline)
	for len(got) < n {
		select {
		case err := <-produced:
			if err != nil {
				t.Fatalf("produce: %v", err)
			}
		case b := <-f.got:
			got[b] = true
		case <-restart:
			stop()
			restarts++
			stop = runKafka(t, newConsumer())
		case <-timeout:
			t.Fatalf("%d of %d messages delivered after %d restarts", len(got), n, restarts)
		}
	}
	stop()
	for i := range n {
		if !got[fmt.Sprintf(`{"n":%d}`, i)] {
			t.Errorf("message %d lost", i)
		}
	}
	f.mu.Lock()
	dups := 0
	for _, c := range f.calls {
		dups += c - 1
	}
	f.mu.Unlock()
	if restarts < 3 {
		t.Errorf("%d restarts, want at least 3", restarts)
	}
	t.Logf("%d messages delivered, %d duplicate calls, %d restarts", n, dups, restarts)
}

// TestKafkaSASL: a consumer given the broker's SASL user delivers; one
// with a wrong password reports it through State.
func TestKafkaSASL(t *testing.T) {
	// Its own broker, with SASL, whatever broker KAFKA_BROKERS gives the
	// other tests.
	brokers := fakeBrokers(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "kubeless", "s3cret"))
	admin, err := KafkaSecurity{SASL: true, User: "kubeless", Password: "s3cret"}.Opts()
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := KafkaSecurity{SASL: true, User: "kubeless", Password: "wrong"}.Opts()
	if err != nil {
		t.Fatal(err)
	}

	bad := kafkaConsumer(brokers, "secured", newFunction(), v1beta1.EventDelivery{}, nil)
	bad.Opts = wrong
	states := make(chan error, 100)
	bad.State = func(err error) { states <- err }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bad.Run(ctx) }()
	select {
	case err := <-states:
		if err == nil || !strings.Contains(err.Error(), "no Kafka broker answers") {
			t.Errorf("state with a wrong password: %v, want no Kafka broker answers", err)
		}
	case <-time.After(deadline):
		t.Fatal("no state reported with a wrong password")
	}
	cancel()
	<-done

	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("secured")}, admin...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, "secured"); err != nil {
		t.Fatal(err)
	}
	f := newFunction()
	c := kafkaConsumer(brokers, "secured", f, v1beta1.EventDelivery{}, nil)
	c.Opts = admin
	stop := runKafka(t, c)
	defer stop()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte("private")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if got := f.waitBodies(t, 1); got[0] != "private" {
		t.Errorf("got %v", got)
	}
}

func TestKafkaSecurityBadInput(t *testing.T) {
	for _, tc := range []struct {
		s    KafkaSecurity
		want string
	}{
		{KafkaSecurity{SASL: true}, "the user is empty"},
		{KafkaSecurity{CACertFile: "ca.pem"}, "TLS is off"},
		{KafkaSecurity{TLS: true, CertFile: "c.pem"}, "both the certificate and the key"},
		{KafkaSecurity{TLS: true, CACertFile: filepath.Join(t.TempDir(), "missing.pem")}, "Kafka CA certificates"},
	} {
		if _, err := tc.s.Opts(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.s, err, tc.want)
		}
	}
	if opts, err := (KafkaSecurity{TLS: true, Insecure: true}).Opts(); err != nil || len(opts) != 1 {
		t.Errorf("TLS alone: %d options, %v", len(opts), err)
	}
}
