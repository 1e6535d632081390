package events

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func TestReadyCondition(t *testing.T) {
	named := &v1beta1.KafkaTrigger{ObjectMeta: metav1.ObjectMeta{Name: "k", Namespace: "team"},
		Spec: v1beta1.KafkaTriggerSpec{Topic: "orders", FunctionName: "hello"}}
	selecting := &v1beta1.NATSTrigger{ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: "team"},
		Spec: v1beta1.NATSTriggerSpec{Topic: "greet", FunctionSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}}
	down := errors.New("Kafka brokers 127.0.0.1:1 do not answer")
	for _, tt := range []struct {
		name   string
		t      v1beta1.EventTrigger
		source string
		states []ConsumerState
		want   metav1.Condition
	}{
		{"named function missing", named, "k:9092", nil, metav1.Condition{Status: metav1.ConditionFalse, Reason: v1beta1.ReasonFunctionNotFound,
			Message: `function "hello" does not exist in namespace team: deploy it (kubeless function deploy hello -n team) or fix the trigger's function name`}},
		{"selector matches none", selecting, "", nil, metav1.Condition{Status: metav1.ConditionFalse, Reason: v1beta1.ReasonNoFunctionSelected,
			Message: "no function of namespace team has the labels app=x: deploy one with --label, or fix the trigger's function selector"}},
		{"one failed, one waits", selecting, "nats://h:4222",
			[]ConsumerState{{Function: "b"}, {Function: "c", Reported: true, Err: errors.New("other")}, {Function: "a", Reported: true, Err: down}},
			metav1.Condition{Status: metav1.ConditionFalse, Reason: v1beta1.ReasonBrokerUnreachable, Message: down.Error()}},
		{"waiting, source named", selecting, "nats://h:4222", []ConsumerState{{Function: "b"}, {Function: "a", Reported: true}, {Function: "c"}},
			metav1.Condition{Status: metav1.ConditionUnknown, Reason: v1beta1.ReasonReconciling, Message: "connecting to nats://h:4222 for b, c"}},
		{"waiting, no source", selecting, "", []ConsumerState{{Function: "a"}},
			metav1.Condition{Status: metav1.ConditionUnknown, Reason: v1beta1.ReasonReconciling, Message: "connecting to the broker for a"}},
		{"ready, source named", named, "k:9092", []ConsumerState{{Function: "hello", Reported: true}},
			metav1.Condition{Status: metav1.ConditionTrue, Reason: v1beta1.ReasonReady, Message: "delivers orders from k:9092 to hello"}},
		{"ready, no source, sorted", selecting, "", []ConsumerState{{Function: "b", Reported: true}, {Function: "a", Reported: true}},
			metav1.Condition{Status: metav1.ConditionTrue, Reason: v1beta1.ReasonReady, Message: "delivers greet to a, b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Type = v1beta1.ConditionReady
			if diff := cmp.Diff(tt.want, ReadyCondition(tt.t, tt.source, tt.states)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}
