package v1beta1_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func sel(kv ...string) metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return metav1.LabelSelector{MatchLabels: m}
}

func TestEventTriggerValidateSpec(t *testing.T) {
	neg, big := int32(-1), int32(1001)
	badExpr := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}
	for _, tt := range []struct {
		tr      v1beta1.Trigger
		wantErr string
	}{
		{&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "t", FunctionSelector: sel("a", "b")}}, ""},
		{&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "t", FunctionName: "f"}}, ""},
		{&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{FunctionName: "f"}}, `Kafka trigger "x" has no topic: give one with --trigger-topic`},
		{&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "t"}},
			`Kafka trigger "x" selects no function: give --function-selector (for example --function-selector function=hello) or --function-name`},
		{&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "t", FunctionName: "f", FunctionSelector: sel("a", "b")}},
			`Kafka trigger "x" has both a function-name and a functionSelector: give one of them`},
		{&v1beta1.NATSTrigger{Spec: v1beta1.NATSTriggerSpec{Topic: "t", FunctionSelector: badExpr}},
			`NATS trigger "x": invalid functionSelector: "Near" is not a valid label selector operator`},
		{&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "t", FunctionName: "f", EventDelivery: v1beta1.EventDelivery{DeadLetterTopic: "t"}}},
			`Kafka trigger "x": deadLetterTopic is the trigger's own topic: give another topic`},
		{&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "t", FunctionName: "f", EventDelivery: v1beta1.EventDelivery{MaxRetries: &neg}}},
			`Kafka trigger "x": maxRetries -1 is out of range: give 0 to 1000`},
		{&v1beta1.NATSTrigger{Spec: v1beta1.NATSTriggerSpec{Topic: "t", FunctionName: "f", EventDelivery: v1beta1.EventDelivery{MaxRetries: &big}}},
			`NATS trigger "x": maxRetries 1001 is out of range: give 0 to 1000`},
		{&v1beta1.NATSTrigger{Spec: v1beta1.NATSTriggerSpec{Topic: "t", FunctionName: "f", EventDelivery: v1beta1.EventDelivery{RetryBackoff: "soon"}}},
			`NATS trigger "x": retryBackoff "soon" is not a positive duration: give one such as 200ms or 2s`},
		{&v1beta1.NATSTrigger{Spec: v1beta1.NATSTriggerSpec{Topic: "t", FunctionName: "f", EventDelivery: v1beta1.EventDelivery{Parallelism: -2}}},
			`NATS trigger "x": parallelism -2 is out of range: give 1 to 1000`},
		{&v1beta1.KinesisTrigger{Spec: v1beta1.KinesisTriggerSpec{FunctionName: "f", Stream: "s", Region: "r", ShardID: "0"}}, ""},
		{&v1beta1.KinesisTrigger{Spec: v1beta1.KinesisTriggerSpec{FunctionName: "f", Stream: "s", Region: "r"}}, `Kinesis trigger "x" needs --shard-id`},
	} {
		tt.tr.SetName("x")
		err := tt.tr.ValidateSpec()
		if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
			t.Errorf("ValidateSpec(%+v) = %v, want %q", tt.tr, err, tt.wantErr)
		}
	}
}

func TestEventTriggerMergeSpec(t *testing.T) {
	three := int32(3)
	old := &v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "t", FunctionSelector: sel("a", "b"), Brokers: "k:9092",
		EventDelivery: v1beta1.EventDelivery{DeadLetterTopic: "dlq", Parallelism: 2}}}
	got := old.MergeSpec(&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{FunctionName: "f", EventDelivery: v1beta1.EventDelivery{MaxRetries: &three}}}).(*v1beta1.KafkaTrigger)
	want := v1beta1.KafkaTriggerSpec{Topic: "t", FunctionName: "f", Brokers: "k:9092",
		EventDelivery: v1beta1.EventDelivery{DeadLetterTopic: "dlq", Parallelism: 2, MaxRetries: &three}}
	if d := cmp.Diff(want, got.Spec); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if old.Spec.FunctionName != "" || old.Spec.MaxRetries != nil {
		t.Error("old was modified")
	}
	back := got.MergeSpec(&v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "u", FunctionSelector: sel("c", "d")}}).(*v1beta1.KafkaTrigger)
	if back.Spec.FunctionName != "" || back.Spec.Topic != "u" || back.Spec.FunctionSelector.MatchLabels["c"] != "d" {
		t.Errorf("a selector does not replace the function name: %+v", back.Spec)
	}
}

func TestSelects(t *testing.T) {
	fn := func(ns, name string, labels ...string) *v1beta1.Function {
		f := &v1beta1.Function{}
		f.Namespace, f.Name, f.Labels = ns, name, sel(labels...).MatchLabels
		return f
	}
	byLabel := &v1beta1.NATSTrigger{Spec: v1beta1.NATSTriggerSpec{Topic: "t", FunctionSelector: sel("topic", "orders")}}
	byLabel.Namespace = "default"
	byName := &v1beta1.KafkaTrigger{Spec: v1beta1.KafkaTriggerSpec{Topic: "t", FunctionName: "g"}}
	byName.Namespace = "default"
	for _, tt := range []struct {
		tr   v1beta1.EventTrigger
		fn   *v1beta1.Function
		want bool
	}{
		{byLabel, fn("default", "f", "topic", "orders", "x", "y"), true},
		{byLabel, fn("default", "f", "topic", "other"), false},
		{byLabel, fn("prod", "f", "topic", "orders"), false},
		{byName, fn("default", "g"), true},
		{byName, fn("default", "h"), false},
	} {
		if got := v1beta1.Selects(tt.tr, tt.fn); got != tt.want {
			t.Errorf("Selects(%s, %s/%s %v) = %v, want %v", tt.tr.GetName(), tt.fn.Namespace, tt.fn.Name, tt.fn.Labels, got, tt.want)
		}
	}
}

func TestEventDeliveryDefaults(t *testing.T) {
	var d v1beta1.EventDelivery
	if d.Retries() != 5 || d.Backoff() != 500*time.Millisecond || d.PerPartition() != 1 || d.InFlight() != 64 {
		t.Errorf("defaults: %d %v %d %d", d.Retries(), d.Backoff(), d.PerPartition(), d.InFlight())
	}
	zero := int32(0)
	d = v1beta1.EventDelivery{MaxRetries: &zero, RetryBackoff: "10ms", Parallelism: 3, MaxInFlight: 7}
	if d.Retries() != 0 || d.Backoff() != 10*time.Millisecond || d.PerPartition() != 3 || d.InFlight() != 7 {
		t.Errorf("set: %d %v %d %d", d.Retries(), d.Backoff(), d.PerPartition(), d.InFlight())
	}
}
