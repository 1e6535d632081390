package controller_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/nats-io/nats.go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/events"
	"github.com/kubeless/kubeless/internal/kubetest"
	kltestutil "github.com/kubeless/kubeless/internal/testutil"
)

// call is one request a fake function got.
type call struct {
	header http.Header
	body   string
}

// fakeFunction creates Function name in ns (with labels) and stands in for
// its Service: the controller's dialer (dialPod) takes the Service's
// address to a local server that records each call.
func fakeFunction(t *testing.T, c client.Client, ns, name string, labels map[string]string) <-chan call {
	t.Helper()
	calls := make(chan call, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- call{header: r.Header.Clone(), body: string(b)}
	}))
	t.Cleanup(srv.Close)
	addr := fmt.Sprintf("%s.%s.svc.cluster.local:8080", name, ns)
	podAddrs.Store(addr, srv.Listener.Addr().String())
	t.Cleanup(func() { podAddrs.Delete(addr) })
	fn := newFunction(ns, name, "python3.11", "hello.foo", "def foo(event, context):\n    return 'x'\n", "")
	fn.Labels = labels
	if err := c.Create(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	return calls
}

// nextCall waits for the function's next call (waitFor is a failure bound).
func nextCall(t *testing.T, calls <-chan call) call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	select {
	case c := <-calls:
		return c
	case <-ctx.Done():
		t.Fatal("the function got no call")
		return call{}
	}
}

func kfakeCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func kafkaAdmin(t *testing.T, brokers []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func createTopic(t *testing.T, brokers []string, topic string) {
	t.Helper()
	if _, err := kafkaAdmin(t, brokers).CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

func produce(t *testing.T, brokers []string, topic, value string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// createTrigger creates a trigger, and deletes it when the test ends
// (before the brokers it reads stop), so that its consumers stop.
func createTrigger(t *testing.T, c client.Client, tr client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), tr) })
}

func kafkaTrigger(ns, name, topic, brokers string) *v1beta1.KafkaTrigger {
	return &v1beta1.KafkaTrigger{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1beta1.KafkaTriggerSpec{Topic: topic, Brokers: brokers},
	}
}

// TestKafkaTriggerDeliversOnKubernetes: a KafkaTrigger that selects a
// function by its labels gets a consumer in the controller, which calls
// the function's Service with the original's event headers; deleting the
// trigger stops the consumer (its consumer group loses its member).
func TestKafkaTriggerDeliversOnKubernetes(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	brokers := kfakeCluster(t)
	createTopic(t, brokers, "orders")
	calls := fakeFunction(t, c, ns, "consumer", map[string]string{"topic": "orders"})

	tr := kafkaTrigger(ns, "orders", "orders", strings.Join(brokers, ","))
	tr.Spec.FunctionSelector = metav1.LabelSelector{MatchLabels: map[string]string{"topic": "orders"}}
	createTrigger(t, c, tr)
	cond := triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonReady)
	if !strings.Contains(cond.Message, "consumer") {
		t.Errorf("Ready message %q does not name the function", cond.Message)
	}

	produce(t, brokers, "orders", `{"id":7}`)
	got := nextCall(t, calls)
	if got.body != `{"id":7}` {
		t.Errorf("body %q, want the message", got.body)
	}
	for h, want := range map[string]string{
		events.HeaderEventNamespace: "kafkatriggers.kubeless.io",
		events.HeaderEventTopic:     "orders",
		events.HeaderEventType:      "application/json",
		"Content-Type":              "application/json",
	} {
		if v := got.header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	if !strings.HasPrefix(got.header.Get(events.HeaderEventID), "orders/0/") {
		t.Errorf("event-id %q, want orders/0/<offset>", got.header.Get(events.HeaderEventID))
	}
	if !strings.HasSuffix(got.header.Get(events.HeaderEventTime), " UTC") {
		t.Errorf("event-time %q, want Go's time.String() in UTC", got.header.Get(events.HeaderEventTime))
	}
	// The call is counted once it answered, after the server saw it.
	kubetest.Eventually(t, waitFor, func() error {
		if n := eventMetric(t, "kubeless_event_messages_delivered_total", "KafkaTrigger", ns, "orders", "consumer"); n != 1 {
			return fmt.Errorf("kubeless_event_messages_delivered_total = %v on the manager's registry, want 1", n)
		}
		return nil
	})

	group := events.GroupID(ns, "orders", "consumer", "orders")
	adm := kafkaAdmin(t, brokers)
	members := func() (int, error) {
		gs, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return 0, err
		}
		g, ok := gs[group]
		if !ok {
			return 0, fmt.Errorf("group %s not described", group)
		}
		return len(g.Members), g.Err
	}
	kubetest.Eventually(t, waitFor, func() error {
		if n, err := members(); err != nil || n != 1 {
			return fmt.Errorf("group %s: %d members (%v), want 1", group, n, err)
		}
		return nil
	})
	if err := c.Delete(ctx, tr); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, waitFor, func() error {
		if n, err := members(); err != nil || n != 0 {
			return fmt.Errorf("group %s: %d members (%v) after the trigger's deletion, want 0", group, n, err)
		}
		return nil
	})
}

// eventMetric reads one series of the delivery metrics from the controller
// manager's registry.
func eventMetric(t *testing.T, name, kind, ns, trigger, fn string) float64 {
	t.Helper()
	mfs, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			want := map[string]string{"kind": kind, "namespace": ns, "trigger": trigger, "function": fn}
			for _, l := range m.GetLabel() {
				if w, ok := want[l.GetName()]; ok && w != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestNATSTriggerWaitsForItsFunction: a NATSTrigger that names a function
// that does not exist says so, delivers once the function is created,
// follows a change of its topic, and says so again once the function is
// deleted; one whose selector selects nothing
// says that too.
func TestNATSTriggerWaitsForItsFunction(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	srv, err := events.StartNATSServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	none := &v1beta1.NATSTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "none"},
		Spec: v1beta1.NATSTriggerSpec{Topic: "none", URL: srv.URL(),
			FunctionSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "nothing"}}}}
	createTrigger(t, c, none)
	cond := triggerReady(t, c, none, func() *v1beta1.TriggerStatus { return &none.Status }, v1beta1.ReasonNoFunctionSelected)
	if !strings.Contains(cond.Message, "app=nothing") {
		t.Errorf("NoFunctionSelected message %q does not give the selector", cond.Message)
	}

	tr := &v1beta1.NATSTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "greetings"},
		Spec: v1beta1.NATSTriggerSpec{Topic: "greetings", URL: srv.URL(), FunctionName: "later"}}
	createTrigger(t, c, tr)
	cond = triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonFunctionNotFound)
	if cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, `function "later" does not exist`) {
		t.Errorf("condition %s: %s", cond.Status, cond.Message)
	}

	calls := fakeFunction(t, c, ns, "later", nil)
	triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonReady)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish("greetings", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := nextCall(t, calls)
	if got.body != "hello" || got.header.Get(events.HeaderEventNamespace) != "natstriggers.kubeless.io" ||
		got.header.Get(events.HeaderEventTopic) != "greetings" {
		t.Errorf("call %q with headers %v", got.body, got.header)
	}

	// The topic changed: the consumer starts again on the new subject.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(tr), tr); err != nil {
			return err
		}
		tr.Spec.Topic = "greetings.v2"
		return c.Update(ctx, tr)
	}); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonReady)
	if err := nc.Publish("greetings.v2", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if got := nextCall(t, calls); got.body != "again" || got.header.Get(events.HeaderEventTopic) != "greetings.v2" {
		t.Errorf("after the topic's change: call %q with headers %v", got.body, got.header)
	}

	// The function deleted: its consumer stops, and the trigger says so.
	if err := c.Delete(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}}); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonFunctionNotFound)
}

// TestKafkaTriggerBrokerDownThenUp: a KafkaTrigger whose broker does not
// answer is BrokerUnreachable, and delivers once the broker is up.
func TestKafkaTriggerBrokerDownThenUp(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	calls := fakeFunction(t, c, ns, "late", nil)

	tr := kafkaTrigger(ns, "late", "late", addr)
	tr.Spec.FunctionName = "late"
	createTrigger(t, c, tr)
	cond := triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonBrokerUnreachable)
	if !strings.Contains(cond.Message, "no Kafka broker answers at "+addr) {
		t.Errorf("BrokerUnreachable message %q does not name the broker", cond.Message)
	}

	brokers := kfakeCluster(t, kfake.Ports(port))
	createTopic(t, brokers, "late")
	triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonReady)
	produce(t, brokers, "late", "after")
	if got := nextCall(t, calls); got.body != "after" {
		t.Errorf("body %q, want after", got.body)
	}
}

// TestKafkaTriggerWithoutBrokers: a Kafka trigger that names no broker,
// with none configured, says how to fix it.
func TestKafkaTriggerWithoutBrokers(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	tr := kafkaTrigger(ns, "nobroker", "t", "")
	tr.Spec.FunctionName = "f"
	createTrigger(t, c, tr)
	cond := triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonInvalidTrigger)
	if !strings.Contains(cond.Message, "set spec.brokers") || !strings.Contains(cond.Message, "kafka-brokers in kubeless-config") {
		t.Errorf("message %q does not say how to fix it", cond.Message)
	}
}

// TestKinesisTriggerOnKubernetes: a KinesisTrigger whose Secret or stream
// is missing says so and recovers once they exist; it then calls its
// function with the original's headers, keeps its checkpoint in a
// ConfigMap it owns, and stops when deleted.
func TestKinesisTriggerOnKubernetes(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	endpoint := kltestutil.Kinesalite(t)
	calls := fakeFunction(t, c, ns, "reader", nil)

	tr := &v1beta1.KinesisTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "clicks"},
		Spec: v1beta1.KinesisTriggerSpec{FunctionName: "reader", Region: "us-east-1", Stream: "clicks",
			ShardID: "shardId-000000000000", Endpoint: endpoint, Secret: "aws"}}
	createTrigger(t, c, tr)
	status := func() *v1beta1.TriggerStatus { return &tr.Status }
	readyWith(t, c, tr, status, v1beta1.ReasonBrokerUnreachable, "read the trigger's Secret "+ns+"/aws")

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "aws"},
		StringData: map[string]string{"aws_access_key_id": "test", "aws_secret_access_key": "test"}}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	readyWith(t, c, tr, status, v1beta1.ReasonBrokerUnreachable, "Kinesis stream clicks has no shard shardId-000000000000")

	cl, err := events.NewKinesisClient(ctx, events.KinesisConfig{Region: "us-east-1", Endpoint: endpoint, Credentials: events.StaticCredentials("test", "test")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("clicks"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, tr, status, v1beta1.ReasonReady)
	out, err := cl.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("clicks"), PartitionKey: aws.String("p"), Data: []byte(`{"click":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	got := nextCall(t, calls)
	if got.body != `{"click":1}` || got.header.Get(events.HeaderEventNamespace) != "kinesistriggers.kubeless.io" ||
		got.header.Get(events.HeaderEventTopic) != "clicks" ||
		got.header.Get(events.HeaderEventID) != "clicks/shardId-000000000000/"+aws.ToString(out.SequenceNumber) {
		t.Errorf("call %q with headers %v", got.body, got.header)
	}

	// The checkpoint: in a ConfigMap owned by the trigger.
	kubetest.Eventually(t, waitFor, func() error {
		var cm corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "clicks-kinesis-checkpoint"}, &cm); err != nil {
			return err
		}
		if !strings.Contains(cm.Data["reader"], aws.ToString(out.SequenceNumber)) {
			return fmt.Errorf("checkpoint %q, want the record's sequence number", cm.Data["reader"])
		}
		if len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != tr.UID {
			return fmt.Errorf("owners %v, want the trigger", cm.OwnerReferences)
		}
		return nil
	})
	kubetest.Eventually(t, waitFor, func() error {
		if n := eventMetric(t, "kubeless_event_messages_delivered_total", "KinesisTrigger", ns, "clicks", "reader"); n != 1 {
			return fmt.Errorf("delivered = %v, want 1", n)
		}
		return nil
	})

	// Deleted, the trigger's consumer stops (its series go with it).
	if err := c.Delete(ctx, tr); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, waitFor, func() error {
		if n := eventMetric(t, "kubeless_event_messages_received_total", "KinesisTrigger", ns, "clicks", "reader"); n != 0 {
			return fmt.Errorf("received = %v after the trigger's deletion, want its series gone", n)
		}
		return nil
	})
}

// readyWith waits until the trigger's Ready condition has reason and a
// message that contains text.
func readyWith(t *testing.T, c client.Client, obj client.Object, status func() *v1beta1.TriggerStatus, reason, text string) {
	t.Helper()
	kubetest.Eventually(t, waitFor, func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		got := meta.FindStatusCondition(status().Conditions, v1beta1.ConditionReady)
		if got == nil || got.Reason != reason || !strings.Contains(got.Message, text) {
			return fmt.Errorf("%s: Ready condition %+v, want reason %s and a message with %q", obj.GetName(), got, reason, text)
		}
		return nil
	})
}

// TestKinesisTriggerResumesFromItsConfigMap: a checkpoint in the trigger's
// ConfigMap (left by the controller that ran the consumer before, on
// another replica or before a restart) is where a new consumer starts: it
// delivers the record after it, put before the trigger existed, and not the
// one before.
func TestKinesisTriggerResumesFromItsConfigMap(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	endpoint := kltestutil.Kinesalite(t)
	calls := fakeFunction(t, c, ns, "resumer", nil)
	cl, err := events.NewKinesisClient(ctx, events.KinesisConfig{Region: "us-east-1", Endpoint: endpoint, Credentials: events.StaticCredentials("test", "test")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("resume"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var seqs []string
	for _, d := range []string{"done", "next"} {
		out, err := cl.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("resume"), PartitionKey: aws.String("p"), Data: []byte(d)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "resume-kinesis-checkpoint"},
		Data: map[string]string{"resumer": `{"stream":"resume","shard":"shardId-000000000000","sequenceNumber":"` + seqs[0] + `"}`}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	tr := &v1beta1.KinesisTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "resume"},
		Spec: v1beta1.KinesisTriggerSpec{FunctionName: "resumer", Region: "us-east-1", Stream: "resume",
			ShardID: "shardId-000000000000", Endpoint: endpoint}}
	t.Setenv("AWS_ACCESS_KEY_ID", "test") // no secret: the controller's own credentials
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	createTrigger(t, c, tr)
	if got := nextCall(t, calls); got.body != "next" || got.header.Get(events.HeaderEventID) != "resume/shardId-000000000000/"+seqs[1] {
		t.Errorf("first call %q (event-id %s), want the record after the checkpoint", got.body, got.header.Get(events.HeaderEventID))
	}
	kubetest.Eventually(t, waitFor, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
			return err
		}
		if !strings.Contains(cm.Data["resumer"], seqs[1]) {
			return fmt.Errorf("checkpoint %q, want the delivered record's %s", cm.Data["resumer"], seqs[1])
		}
		return nil
	})
}

// TestKafkaTriggerInvalidSelector: a manifest's selector that the CLI would
// refuse is InvalidTrigger with what is wrong, and the trigger recovers once
// it is fixed.
func TestKafkaTriggerInvalidSelector(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	tr := kafkaTrigger(ns, "badsel", "t", "127.0.0.1:1")
	tr.Spec.FunctionSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "topic", Operator: "Bogus", Values: []string{"t"}}}}
	createTrigger(t, c, tr)
	cond := triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonInvalidTrigger)
	if !strings.Contains(cond.Message, "invalid functionSelector") || !strings.Contains(cond.Message, "Bogus") {
		t.Errorf("message %q does not say what is wrong with the selector", cond.Message)
	}
	tr.Spec.FunctionSelector = metav1.LabelSelector{MatchLabels: map[string]string{"topic": "t"}}
	if err := c.Update(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, tr, func() *v1beta1.TriggerStatus { return &tr.Status }, v1beta1.ReasonNoFunctionSelected)
}
