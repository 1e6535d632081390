package engine

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/events"
	kltestutil "github.com/kubeless/kubeless/internal/testutil"
)

// waitTrigger waits until the trigger's Ready condition has reason.
func waitTrigger(t *testing.T, e *Engine, kind *v1beta1.TriggerKind, name, reason string) *metav1.Condition {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last *metav1.Condition
	for time.Now().Before(deadline) {
		tr, err := e.Triggers(kind).Get(context.Background(), "default", name)
		if err != nil {
			t.Fatal(err)
		}
		last = meta.FindStatusCondition(tr.TriggerStatus().Conditions, v1beta1.ConditionReady)
		if last != nil && last.Reason == reason {
			return last
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("%s %s never reached %s; last Ready condition %+v", kind.What, name, reason, last)
	return nil
}

// waitDelivered waits until the engine counted n deliveries of trigger to fn.
func waitDelivered(t *testing.T, e *Engine, kind, trigger, fn string, n float64) {
	t.Helper()
	c := e.eventMetrics.Delivered.WithLabelValues(kind, "default", trigger, fn)
	deadline := time.Now().Add(60 * time.Second)
	for testutil.ToFloat64(c) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%v deliveries of %s to %s, want %v", testutil.ToFloat64(c), trigger, fn, n)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func produceTo(t *testing.T, brokers []string, topic string, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, v := range values {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKafkaTriggerOnTheLocalEngine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	brokers := fmt.Sprintf("127.0.0.1:%d", port)
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	kt := backend.TriggersOf[v1beta1.KafkaTrigger](e)

	// Bad input is refused with what to fix.
	bad := &v1beta1.KafkaTrigger{ObjectMeta: metav1.ObjectMeta{Name: "orders"}, Spec: v1beta1.KafkaTriggerSpec{Topic: "orders", FunctionName: "nope", Brokers: brokers}}
	if _, err := kt.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), `function "nope" not found`) {
		t.Errorf("unknown function: %v", err)
	}
	bad.Spec.FunctionName = ""
	bad.Spec.FunctionSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "topic", Operator: "Near"}}}
	if _, err := kt.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "invalid functionSelector") {
		t.Errorf("bad selector: %v", err)
	}

	// A selector that matches nothing yet, and a broker that is not there.
	tr := &v1beta1.KafkaTrigger{ObjectMeta: metav1.ObjectMeta{Name: "orders"}, Spec: v1beta1.KafkaTriggerSpec{
		Topic: "orders", Brokers: brokers, FunctionSelector: metav1.LabelSelector{MatchLabels: map[string]string{"topic": "orders"}}}}
	if _, err := kt.Create(ctx, tr); err != nil {
		t.Fatal(err)
	}
	c := waitTrigger(t, e, v1beta1.KafkaTriggerKind, "orders", v1beta1.ReasonNoFunctionSelected)
	if !strings.Contains(c.Message, "topic=orders") {
		t.Errorf("message %q does not name the selector", c.Message)
	}
	fn := testFunction("hello", "v1")
	fn.Labels = map[string]string{"topic": "orders"}
	if _, err := e.Deploy(ctx, fn); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	c = waitTrigger(t, e, v1beta1.KafkaTriggerKind, "orders", v1beta1.ReasonBrokerUnreachable)
	if !strings.Contains(c.Message, "no Kafka broker answers at "+brokers) {
		t.Errorf("message %q", c.Message)
	}

	// The broker comes up: the trigger recovers and delivers.
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	c = waitTrigger(t, e, v1beta1.KafkaTriggerKind, "orders", v1beta1.ReasonReady)
	if c.Message != "delivers orders to hello" {
		t.Errorf("Ready message %q", c.Message)
	}
	waitAssigned(t, brokers, "default_orders_hello_orders")
	produceTo(t, []string{brokers}, "orders", `{"n":1}`, `{"n":2}`, "three")
	waitDelivered(t, e, "KafkaTrigger", "orders", "hello", 3)

	// Deleting the trigger stops its consumer.
	e.mu.Lock()
	var dones []chan struct{}
	for _, fc := range e.triggers[v1beta1.KafkaTriggerKind].use.(*eventConsumer).runs["kafkatriggers/default/orders"].fns {
		dones = append(dones, fc.done)
	}
	e.mu.Unlock()
	if err := kt.Delete(ctx, "default", "orders"); err != nil {
		t.Fatal(err)
	}
	for _, d := range dones {
		select {
		case <-d:
		case <-time.After(60 * time.Second):
			t.Fatal("the consumer still runs after its trigger was deleted")
		}
	}
}

// waitAssigned waits until group has a member with partitions.
func waitAssigned(t *testing.T, brokers, group string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		gs, err := adm.DescribeGroups(context.Background(), group)
		if err == nil {
			if g, ok := gs[group]; ok && g.State == "Stable" && len(g.Members) > 0 {
				return
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("group %s never became stable", group)
}

func TestNATSTriggerOnTheLocalEngine(t *testing.T) {
	srv, err := events.StartNATSServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	nt := backend.TriggersOf[v1beta1.NATSTrigger](e)
	if _, err := nt.Create(ctx, &v1beta1.NATSTrigger{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: v1beta1.NATSTriggerSpec{Topic: "greet", FunctionName: "hello", URL: srv.URL()}}); err != nil {
		t.Fatal(err)
	}
	waitTrigger(t, e, v1beta1.NATSTriggerKind, "n", v1beta1.ReasonReady)
	nc, err := natsConnect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish("greet", []byte(`{"hi":1}`)); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, e, "NATSTrigger", "n", "hello", 1)
	// Deleting the function deletes the trigger that names it.
	if err := e.Delete(ctx, "default", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := nt.Get(ctx, "default", "n"); backend.CodeOf(err) != backend.CodeNotFound {
		t.Errorf("trigger of a deleted function: %v", err)
	}
}

func natsConnect(url string) (*nats.Conn, error) { return nats.Connect(url) }

func TestKinesisTriggerOnTheLocalEngine(t *testing.T) {
	endpoint := kltestutil.Kinesalite(t)
	secret := t.TempDir()
	kltestutil.WriteFiles(t, secret, map[string]string{"aws_access_key_id": "test\n", "aws_secret_access_key": "test\n"})
	home := t.TempDir()
	e, stopEngine := newTestEngine(t, home)
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	kt := backend.TriggersOf[v1beta1.KinesisTrigger](e)
	spec := v1beta1.KinesisTriggerSpec{FunctionName: "hello", Region: "us-east-1", Stream: "orders", ShardID: "shardId-000000000000",
		Endpoint: endpoint, Secret: t.TempDir()}
	if _, err := kt.Create(ctx, &v1beta1.KinesisTrigger{ObjectMeta: metav1.ObjectMeta{Name: "k"}, Spec: spec}); err == nil ||
		!strings.Contains(err.Error(), "give a folder that holds the files aws_access_key_id and aws_secret_access_key") {
		t.Errorf("secret folder without the keys: %v", err)
	}

	// The stream does not exist yet: the condition says how to create it.
	spec.Secret = secret
	if _, err := kt.Create(ctx, &v1beta1.KinesisTrigger{ObjectMeta: metav1.ObjectMeta{Name: "k"}, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	c := waitTrigger(t, e, v1beta1.KinesisTriggerKind, "k", v1beta1.ReasonBrokerUnreachable)
	if !strings.Contains(c.Message, "Kinesis stream orders has no shard shardId-000000000000") || !strings.Contains(c.Message, "create-stream --stream-name orders") {
		t.Errorf("message %q", c.Message)
	}

	// Created, the trigger recovers and delivers; the checkpoint is kept
	// in the engine's store.
	cl, err := events.NewKinesisClient(ctx, events.KinesisConfig{Region: "us-east-1", Endpoint: endpoint, Credentials: events.StaticCredentials("test", "test")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("orders"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	c = waitTrigger(t, e, v1beta1.KinesisTriggerKind, "k", v1beta1.ReasonReady)
	if c.Message != "delivers orders to hello" {
		t.Errorf("Ready message %q", c.Message)
	}
	out, err := cl.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("p"), Data: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, e, "KinesisTrigger", "k", "hello", 1)
	key := "kinesis-checkpoints/default/k/hello"
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := e.store.Get(key)
		if strings.Contains(string(b), aws.ToString(out.SequenceNumber)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint %q, want the record's sequence number %s", b, aws.ToString(out.SequenceNumber))
		}
		time.Sleep(30 * time.Millisecond)
	}

	// The daemon stops; a record put meanwhile is delivered by the next
	// one, which resumes after the checkpoint (record 1 is not delivered
	// again).
	stopEngine()
	if _, err := cl.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("p"), Data: []byte(`{"n":2}`)}); err != nil {
		t.Fatal(err)
	}
	e, _ = newTestEngine(t, home)
	kt = backend.TriggersOf[v1beta1.KinesisTrigger](e)
	waitDelivered(t, e, "KinesisTrigger", "k", "hello", 1)
	if n := testutil.ToFloat64(e.eventMetrics.Received.WithLabelValues("KinesisTrigger", "default", "k", "hello")); n != 1 {
		t.Errorf("the restarted daemon received %v records, want only the one put while it was stopped", n)
	}

	// Deleting the trigger stops its consumer and deletes its checkpoint.
	e.mu.Lock()
	var dones []chan struct{}
	for _, fc := range e.triggers[v1beta1.KinesisTriggerKind].use.(*eventConsumer).runs["kinesistriggers/default/k"].fns {
		dones = append(dones, fc.done)
	}
	e.mu.Unlock()
	if err := kt.Delete(ctx, "default", "k"); err != nil {
		t.Fatal(err)
	}
	for _, d := range dones {
		select {
		case <-d:
		case <-time.After(60 * time.Second):
			t.Fatal("the consumer still runs after its trigger was deleted")
		}
	}
	if _, err := e.store.Get(key); err == nil {
		t.Errorf("the checkpoint %s is still there after its trigger was deleted", key)
	}
}
