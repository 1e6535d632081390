package trigger

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

func TestNewCmdEventCreate(t *testing.T) {
	tests := []struct {
		kind    *v1beta1.TriggerKind
		cli     string
		want    EventOptions
		wantErr string
	}{
		{kind: v1beta1.KafkaTriggerKind, cli: "orders --trigger-topic orders --function-selector topic=orders --brokers k:9092 --max-retries 0 --dead-letter-topic dlq",
			want: EventOptions{Name: "orders", Namespace: "default", Topic: "orders", FunctionSelector: "topic=orders", Broker: "k:9092", MaxRetries: 0, DeadLetterTopic: "dlq", Output: "yaml"}},
		{kind: v1beta1.NATSTriggerKind, cli: "n -n ns --trigger-topic t --function-name f --url nats://h:4222 --parallelism 4 --at-most-once",
			want: EventOptions{Name: "n", Namespace: "ns", Topic: "t", FunctionName: "f", Broker: "nats://h:4222", MaxRetries: -1, Parallelism: 4, AtMostOnce: true, Output: "yaml"}},
		{kind: v1beta1.KafkaTriggerKind, cli: "orders --function-name f", wantErr: "--trigger-topic is required: the topic whose messages call the functions, for example --trigger-topic orders"},
		{kind: v1beta1.KafkaTriggerKind, cli: "orders --trigger-topic t", wantErr: "give --function-selector (for example --function-selector topic=orders) or --function-name"},
		{kind: v1beta1.KafkaTriggerKind, cli: "orders --trigger-topic t --function-name f --function-selector a=b", wantErr: "give either --function-selector or --function-name, not both"},
		{kind: v1beta1.NATSTriggerKind, cli: "--trigger-topic t", wantErr: "create: the trigger name is required, for example: kubeless trigger nats create orders --trigger-topic orders --function-selector topic=orders"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *EventOptions
		cmd := NewCmdEventCreate(&cmdutil.Factory{IOStreams: ios}, func(o *EventOptions) error { got = o; return nil }, tt.kind)
		cmd.SetArgs(strings.Fields(tt.cli))
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if tt.wantErr != "" {
			var fe *cmdutil.FlagError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &fe) {
				t.Errorf("%q: err = %v, want FlagError %q", tt.cli, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got.IO, got.Engine, got.Kind = nil, nil, nil
		if d := cmp.Diff(&tt.want, got); d != "" {
			t.Errorf("%q (-want +got):\n%s", tt.cli, d)
		}
	}
}

func TestEventOptionsTrigger(t *testing.T) {
	o := &EventOptions{Kind: v1beta1.KafkaTriggerKind, Name: "orders", Namespace: "default", Topic: "orders",
		FunctionSelector: "topic=orders,tier notin (test)", MaxRetries: 2, RetryBackoff: "1s"}
	tr, err := o.Trigger()
	if err != nil {
		t.Fatal(err)
	}
	kt := tr.(*v1beta1.KafkaTrigger)
	two := int32(2)
	want := v1beta1.KafkaTriggerSpec{Topic: "orders", FunctionSelector: metav1.LabelSelector{
		MatchLabels:      map[string]string{"topic": "orders"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"test"}}},
	}, EventDelivery: v1beta1.EventDelivery{MaxRetries: &two, RetryBackoff: "1s"}}
	if d := cmp.Diff(want, kt.Spec); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if kt.Kind != "KafkaTrigger" || kt.Labels[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless {
		t.Errorf("meta %+v %+v", kt.TypeMeta, kt.Labels)
	}
	o.FunctionSelector = "topic in (a"
	if _, err := o.Trigger(); err == nil || !strings.HasPrefix(err.Error(), `invalid --function-selector "topic in (a": `) {
		t.Errorf("bad selector: %v", err)
	}
	o.FunctionSelector, o.RetryBackoff = "a=b", "soon"
	if _, err := o.Trigger(); err == nil || err.Error() != `Kafka trigger "orders": retryBackoff "soon" is not a positive duration: give one such as 200ms or 2s` {
		t.Errorf("bad backoff: %v", err)
	}
}

func TestEventDryRun(t *testing.T) {
	ios, _, stdout, _ := iostreams.Test()
	o := &EventOptions{IO: ios, Kind: v1beta1.NATSTriggerKind, Name: "greeter", Namespace: "default", Topic: "greet",
		FunctionSelector: "function=hello", MaxRetries: -1, DryRun: true, Output: "yaml"}
	if err := eventPutRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: kubeless.io/v1beta1
kind: NATSTrigger
metadata:
  labels:
    created-by: kubeless
  name: greeter
  namespace: default
spec:
  functionSelector:
    matchLabels:
      function: hello
  topic: greet
`
	if d := cmp.Diff(want, stdout.String()); d != "" {
		t.Errorf("dry run (-want +got):\n%s", d)
	}
}
