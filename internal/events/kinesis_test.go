package events

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kubeless/kubeless/api/v1beta1"
	kltestutil "github.com/kubeless/kubeless/internal/testutil"
)

// The Kinesis consumer's tests run against kinesalite (npm), which
// hack/kinesalite.sh installs the first time.

const testShard = "shardId-000000000000"

func kinesisConfig(endpoint string) KinesisConfig {
	return KinesisConfig{Region: "us-east-1", Endpoint: endpoint, Credentials: StaticCredentials("test", "test")}
}

func kinesisClient(t *testing.T, endpoint string) *kinesis.Client {
	t.Helper()
	cl, err := NewKinesisClient(context.Background(), kinesisConfig(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func streamName(t *testing.T) string {
	return strings.NewReplacer("/", "-").Replace(t.Name())
}

func createStream(t *testing.T, cl *kinesis.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if _, err := cl.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
	w := kinesis.NewStreamExistsWaiter(cl, func(o *kinesis.StreamExistsWaiterOptions) { o.MinDelay = 10 * time.Millisecond })
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, deadline); err != nil {
		t.Fatalf("stream %s not active: %v", name, err)
	}
}

// putRecords puts values into stream, one record each, in order, and
// returns their sequence numbers.
func putRecords(t *testing.T, cl *kinesis.Client, stream string, values ...string) []string {
	t.Helper()
	var seqs []string
	for _, v := range values {
		out, err := cl.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: []byte(v)})
		if err != nil {
			t.Fatalf("put record: %v", err)
		}
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	return seqs
}

// readStream reads n records of stream from its start.
func readStream(t *testing.T, cl *kinesis.Client, stream string, n int) []types.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	it, err := cl.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(testShard),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var out []types.Record
	iter := it.ShardIterator
	for len(out) < n {
		r, err := cl.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatalf("read %s: %v (%d of %d records)", stream, err, len(out), n)
		}
		out = append(out, r.Records...)
		iter = r.NextShardIterator
	}
	return out
}

// memCheckpoints keep the checkpoint in memory and tell each save.
type memCheckpoints struct {
	mu    sync.Mutex
	b     []byte
	saved chan string // the saved sequence numbers
}

func newMemCheckpoints() *memCheckpoints { return &memCheckpoints{saved: make(chan string, 1000)} }

func (m *memCheckpoints) Load(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b, nil
}

func (m *memCheckpoints) Save(_ context.Context, b []byte) error {
	m.mu.Lock()
	m.b = append([]byte(nil), b...)
	m.mu.Unlock()
	var cp checkpoint
	_ = json.Unmarshal(b, &cp)
	select {
	case m.saved <- cp.SequenceNumber:
	default: // no test waits for so many
	}
	return nil
}

func (m *memCheckpoints) seq() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cp checkpoint
	_ = json.Unmarshal(m.b, &cp)
	return cp.SequenceNumber
}

// waitSaved waits until seq is saved.
func (m *memCheckpoints) waitSaved(t *testing.T, seq string) {
	t.Helper()
	timeout := time.After(deadline)
	for {
		select {
		case s := <-m.saved:
			if s == seq {
				return
			}
		case <-timeout:
			t.Fatalf("checkpoint %s never saved; last %q", seq, m.seq())
		}
	}
}

func kinesisConsumer(endpoint, stream string, f *function, d v1beta1.EventDelivery, cps Checkpoints, reg prometheus.Registerer) *KinesisConsumer {
	return &KinesisConsumer{Config: kinesisConfig(endpoint), Stream: stream, Shard: testShard, Checkpoints: cps,
		PollInterval: 20 * time.Millisecond,
		Deliverer: &Deliverer{Function: "f", EventNamespace: "kinesistriggers.kubeless.io", Delivery: d, Invoke: f.invoke,
			Metrics: NewMetrics(reg), Labels: Labels{"KinesisTrigger", "default", "t", "f"}}}
}

// runKinesis starts a consumer and returns once it reads its shard.
func runKinesis(t *testing.T, c *KinesisConsumer) (stop func()) {
	t.Helper()
	reading := make(chan struct{}, 1)
	c.Reading = func() {
		select {
		case reading <- struct{}{}:
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
	case <-reading:
	case err := <-done:
		t.Fatalf("consumer ended before reading: %v", err)
	case <-time.After(deadline):
		cancel()
		t.Fatal("the consumer never read its shard")
	}
	return stop
}

func TestKinesisDeliversInOrderWithHeaders(t *testing.T) {
	endpoint := kltestutil.Kinesalite(t)
	cl := kinesisClient(t, endpoint)
	stream := streamName(t)
	createStream(t, cl, stream)
	putRecords(t, cl, stream, `{"before":"start"}`) // before the trigger: not delivered
	f := newFunction()
	cps := newMemCheckpoints()
	c := kinesisConsumer(endpoint, stream, f, v1beta1.EventDelivery{}, cps, prometheus.NewRegistry())
	stop := runKinesis(t, c)
	defer stop()
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf(`{"n":%d}`, i))
	}
	seqs := putRecords(t, cl, stream, want...)
	got := f.waitBodies(t, 20)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("bodies %v, want %v in order", got, want)
	}
	cps.waitSaved(t, seqs[19])
	f.mu.Lock()
	h := f.headers[0]
	f.mu.Unlock()
	if h.Get("event-namespace") != "kinesistriggers.kubeless.io" || h.Get("event-type") != "application/json" ||
		h.Get("event-topic") != stream || !strings.HasSuffix(h.Get("event-time"), "UTC") || h.Get("event-id") != stream+"/"+testShard+"/"+seqs[0] {
		t.Errorf("headers %v", h)
	}
	if n := testutil.ToFloat64(c.Deliverer.Metrics.Delivered.WithLabelValues(c.Deliverer.Labels.values()...)); n != 20 {
		t.Errorf("delivered counter %v, want 20", n)
	}
}

// TestKinesisCheckpointsAfter2xxOnly: a record whose call failed is not
// checkpointed while it is retried; a consumer stopped in the middle of a
// call leaves the checkpoint at the last record answered 2xx, and the next
// consumer resumes right after it.
func TestKinesisCheckpointsAfter2xxOnly(t *testing.T) {
	endpoint := kltestutil.Kinesalite(t)
	cl := kinesisClient(t, endpoint)
	stream := streamName(t)
	createStream(t, cl, stream)
	cps := newMemCheckpoints()

	// 1. The first call of record 1 fails: no checkpoint until the retry
	// answered 2xx. 2. Record 3's call is cut by the consumer's stop.
	f := newFunction(`{"n":1}`)
	c := kinesisConsumer(endpoint, stream, f, v1beta1.EventDelivery{}, cps, nil)
	retrying, release, calledThree := make(chan struct{}), make(chan struct{}), make(chan struct{})
	c.Deliverer.Wait = func(ctx context.Context, _ time.Duration) error {
		close(retrying)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		f.mu.Lock()
		delete(f.fail, `{"n":1}`)
		f.mu.Unlock()
		return nil
	}
	c.Deliverer.Invoke = func(ctx context.Context, fn string, h http.Header, body []byte) (int, error) {
		if string(body) == `{"n":3}` {
			close(calledThree)
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return f.invoke(ctx, fn, h, body)
	}
	stop := runKinesis(t, c)
	seqs := putRecords(t, cl, stream, `{"n":1}`)
	select {
	case <-retrying:
	case <-time.After(deadline):
		t.Fatal("the failed call was never retried")
	}
	if s := cps.seq(); s != "" {
		t.Errorf("checkpoint %s saved while record 1 was still failing", s)
	}
	close(release)
	f.waitBodies(t, 1)
	cps.waitSaved(t, seqs[0])

	// Record 2 is answered, record 3's call is cut: the checkpoint stays
	// at record 2.
	seqs = append(seqs, putRecords(t, cl, stream, `{"n":2}`, `{"n":3}`)...)
	select {
	case <-calledThree:
	case <-time.After(deadline):
		t.Fatal("record 3 never called")
	}
	stop()
	if s := cps.seq(); s != seqs[1] {
		t.Fatalf("checkpoint %q after the stop, want record 2's %s", s, seqs[1])
	}

	// 3. A new consumer resumes after record 2: it delivers 3, then 4,
	// and neither 1 nor 2 again.
	f2 := newFunction()
	stop = runKinesis(t, kinesisConsumer(endpoint, stream, f2, v1beta1.EventDelivery{}, cps, nil))
	defer stop()
	seqs = append(seqs, putRecords(t, cl, stream, `{"n":4}`)...)
	if got := f2.waitBodies(t, 2); got[0] != `{"n":3}` || got[1] != `{"n":4}` {
		t.Errorf("the restarted consumer delivered %v, want records 3 and 4", got)
	}
	cps.waitSaved(t, seqs[3])
	f2.mu.Lock()
	defer f2.mu.Unlock()
	if len(f2.bodies) != 2 {
		t.Errorf("the restarted consumer delivered %v, want only records 3 and 4", f2.bodies)
	}
}

func TestKinesisRetriesThenDeadLetters(t *testing.T) {
	endpoint := kltestutil.Kinesalite(t)
	cl := kinesisClient(t, endpoint)
	stream := streamName(t)
	createStream(t, cl, stream)
	createStream(t, cl, stream+"-dlq")
	f := newFunction(`{"poison":true}`)
	cps := newMemCheckpoints()
	c := kinesisConsumer(endpoint, stream, f, v1beta1.EventDelivery{MaxRetries: i32(2), RetryBackoff: "1ms", DeadLetterTopic: stream + "-dlq"}, cps, prometheus.NewRegistry())
	stop := runKinesis(t, c)
	defer stop()
	seqs := putRecords(t, cl, stream, `{"n":1}`, `{"poison":true}`, `{"n":2}`)
	if got := f.waitBodies(t, 2); got[0] != `{"n":1}` || got[1] != `{"n":2}` {
		t.Errorf("delivered %v", got)
	}
	cps.waitSaved(t, seqs[2])
	dead := readStream(t, cl, stream+"-dlq", 1)
	if string(dead[0].Data) != `{"poison":true}` || aws.ToString(dead[0].PartitionKey) != "k" {
		t.Errorf("dead letter %q with partition key %q", dead[0].Data, aws.ToString(dead[0].PartitionKey))
	}
	f.mu.Lock()
	calls := f.calls[stream+"/"+testShard+"/"+seqs[1]]
	f.mu.Unlock()
	if calls != 3 {
		t.Errorf("the failing record was called %d times, want 1 + 2 retries", calls)
	}
	if n := testutil.ToFloat64(c.Deliverer.Metrics.DeadLettered.WithLabelValues(c.Deliverer.Labels.values()...)); n != 1 {
		t.Errorf("dead-lettered counter %v, want 1", n)
	}
}

// TestKinesisStreamMissingThenCreated: a consumer of a stream that does not
// exist says so through State, and delivers once it is created.
func TestKinesisStreamMissingThenCreated(t *testing.T) {
	endpoint := kltestutil.Kinesalite(t)
	cl := kinesisClient(t, endpoint)
	stream := streamName(t)
	f := newFunction()
	c := kinesisConsumer(endpoint, stream, f, v1beta1.EventDelivery{}, nil, nil)
	states := make(chan error, 100)
	c.State = func(err error) { states <- err }
	reading := make(chan struct{}, 1)
	c.Reading = func() { reading <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case err := <-states:
		if err == nil || !strings.Contains(err.Error(), "has no shard "+testShard) || !strings.Contains(err.Error(), "create-stream --stream-name "+stream) {
			t.Fatalf("state %v, want the missing stream and how to create it", err)
		}
	case <-time.After(deadline):
		t.Fatal("no state reported")
	}
	createStream(t, cl, stream)
	select {
	case <-reading:
	case <-time.After(deadline):
		t.Fatal("the consumer never read the stream once created")
	}
	var last error
	for len(states) > 0 {
		last = <-states
	}
	if last != nil {
		t.Errorf("state %v once the stream exists, want nil", last)
	}
	putRecords(t, cl, stream, `{"n":1}`)
	f.waitBodies(t, 1)
}

// TestKinesisAtMostOnce: the checkpoint is saved before the call, which is
// not retried.
func TestKinesisAtMostOnce(t *testing.T) {
	endpoint := kltestutil.Kinesalite(t)
	cl := kinesisClient(t, endpoint)
	stream := streamName(t)
	createStream(t, cl, stream)
	cps := newMemCheckpoints()
	f := newFunction(`{"n":1}`)
	c := kinesisConsumer(endpoint, stream, f, v1beta1.EventDelivery{AtMostOnce: true}, cps, nil)
	saved := make(chan struct{})
	invoke := c.Deliverer.Invoke
	c.Deliverer.Invoke = func(ctx context.Context, fn string, h http.Header, body []byte) (int, error) {
		if string(body) == `{"n":1}` {
			<-saved // the checkpoint came first
		}
		return invoke(ctx, fn, h, body)
	}
	stop := runKinesis(t, c)
	defer stop()
	seqs := putRecords(t, cl, stream, `{"n":1}`)
	cps.waitSaved(t, seqs[0])
	close(saved)
	seqs = append(seqs, putRecords(t, cl, stream, `{"n":2}`)...)
	if got := f.waitBodies(t, 1); got[0] != `{"n":2}` {
		t.Errorf("delivered %v", got)
	}
	cps.waitSaved(t, seqs[1])
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.calls[stream+"/"+testShard+"/"+seqs[0]]; n != 1 {
		t.Errorf("the failing record was called %d times, want once (no retry)", n)
	}
}

// TestKinesisEndpointDownThenUp: a consumer whose endpoint does not answer
// says so through State, and delivers once it is up.
func TestKinesisEndpointDownThenUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	f := newFunction()
	c := kinesisConsumer(endpoint, "late", f, v1beta1.EventDelivery{}, nil, nil)
	states := make(chan error, 100)
	c.State = func(err error) { states <- err }
	reading := make(chan struct{}, 1)
	c.Reading = func() { reading <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case err := <-states:
		if err == nil || !strings.Contains(err.Error(), "read shard "+testShard+" of Kinesis stream late at "+endpoint) {
			t.Fatalf("state %v, want the endpoint that does not answer", err)
		}
	case <-time.After(deadline):
		t.Fatal("no state reported")
	}
	if got := kltestutil.KinesaliteOn(t, port); got != endpoint {
		t.Fatalf("kinesalite at %s, want %s", got, endpoint)
	}
	createStream(t, kinesisClient(t, endpoint), "late")
	select {
	case <-reading:
	case <-time.After(deadline):
		t.Fatal("the consumer never read the stream once the endpoint was up")
	}
	putRecords(t, kinesisClient(t, endpoint), "late", `{"n":1}`)
	f.waitBodies(t, 1)
}

// TestKinesisNoLossAcrossRestarts: N records are put while the consumer is
// stopped and started again every N/5 calls, in the middle of a call, with
// parallelism 4: every record must be delivered at least once; duplicates
// are counted and reported.
func TestKinesisNoLossAcrossRestarts(t *testing.T) {
	const n = 1000
	endpoint := kltestutil.Kinesalite(t)
	cl := kinesisClient(t, endpoint)
	stream := streamName(t)
	createStream(t, cl, stream)
	cps := newMemCheckpoints()
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
	newConsumer := func() *KinesisConsumer {
		c := kinesisConsumer(endpoint, stream, f, v1beta1.EventDelivery{Parallelism: 4}, cps, nil)
		c.Deliverer.Invoke = invoke
		return c
	}
	start := time.Now()
	stop := runKinesis(t, newConsumer())
	produced := make(chan error, 1)
	go func() {
		pcl, err := NewKinesisClient(context.Background(), kinesisConfig(endpoint))
		if err != nil {
			produced <- err
			return
		}
		for i := 0; i < n; i += 250 {
			var entries []types.PutRecordsRequestEntry
			for j := i; j < i+250 && j < n; j++ {
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte(fmt.Sprintf(`{"n":%d}`, j))})
			}
			out, err := pcl.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err == nil && aws.ToInt32(out.FailedRecordCount) > 0 {
				err = fmt.Errorf("%d records refused", aws.ToInt32(out.FailedRecordCount))
			}
			if err != nil {
				produced <- err
				return
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
				t.Fatalf("put records: %v", err)
			}
		case b := <-f.got:
			got[b] = true
		case <-restart:
			stop()
			restarts++
			stop = runKinesis(t, newConsumer())
		case <-timeout:
			t.Fatalf("%d of %d records delivered after %d restarts", len(got), n, restarts)
		}
	}
	stop()
	for i := range n {
		if !got[fmt.Sprintf(`{"n":%d}`, i)] {
			t.Errorf("record %d lost", i)
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
	t.Logf("%d records delivered, %d duplicate calls, %d restarts, %v", n, dups, restarts, time.Since(start).Round(time.Millisecond))
}
