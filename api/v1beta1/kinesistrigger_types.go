package v1beta1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KinesisTrigger calls a function with the records of one shard of an AWS
// Kinesis stream (docs/events.md). Manifests of the original Kubeless's
// kinesis-trigger apply unchanged.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=kubeless
// +kubebuilder:printcolumn:name="Stream",type=string,JSONPath=`.spec.stream`
// +kubebuilder:printcolumn:name="Shard",type=string,JSONPath=`.spec.shard`
// +kubebuilder:printcolumn:name="Function",type=string,JSONPath=`.spec.function-name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KinesisTrigger struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the user asked for.
	Spec KinesisTriggerSpec `json:"spec"`

	// status is what the consumer observed.
	// +optional
	Status TriggerStatus `json:"status,omitzero"`
}

// KinesisTriggerSpec is the desired state of a KinesisTrigger. Like the
// original's, its own keys are kebab-case.
type KinesisTriggerSpec struct {
	// function-name is the function, in the trigger's namespace, that
	// records are delivered to.
	// +kubebuilder:validation:MinLength=1
	FunctionName string `json:"function-name"`

	// aws-region is the stream's AWS region, for example us-west-2.
	// +kubebuilder:validation:MinLength=1
	Region string `json:"aws-region"`

	// secret names the Secret (keys aws_access_key_id and
	// aws_secret_access_key) with the credentials to read the stream; on
	// the local engine, the absolute path of a folder holding files of
	// those names. Empty: the engine's own AWS credentials.
	// +optional
	Secret string `json:"secret"`

	// stream is the Kinesis stream's name.
	// +kubebuilder:validation:MinLength=1
	Stream string `json:"stream"`

	// shard is the shard id whose records are delivered, for example
	// shardId-000000000000.
	// +kubebuilder:validation:MinLength=1
	ShardID string `json:"shard"`

	// endpoint overrides the Kinesis endpoint URL (for example a local
	// kinesalite).
	// +optional
	Endpoint string `json:"endpoint"`

	EventDelivery `json:",inline"`
}

// KinesisTriggerList is a list of KinesisTriggers.
//
// +kubebuilder:object:root=true
type KinesisTriggerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KinesisTrigger `json:"items"`
}

// KinesisTriggerKind describes the KinesisTrigger kind.
var KinesisTriggerKind = &TriggerKind{
	Kind: "KinesisTrigger", Resource: "kinesistriggers", What: "Kinesis trigger", Command: "kinesis",
	New:     func() Trigger { return &KinesisTrigger{} },
	NewList: func() TriggerList { return &KinesisTriggerList{} },
}

func init() { registerTrigger(KinesisTriggerKind) }

// TriggerKind implements Trigger.
func (t *KinesisTrigger) TriggerKind() *TriggerKind { return KinesisTriggerKind }

// TargetFunction implements Trigger.
func (t *KinesisTrigger) TargetFunction() string { return t.Spec.FunctionName }

// TriggerStatus implements Trigger.
func (t *KinesisTrigger) TriggerStatus() *TriggerStatus { return &t.Status }

// Source implements EventTrigger.
func (t *KinesisTrigger) Source() string { return t.Spec.Stream }

// Selector implements EventTrigger: a Kinesis trigger names its function.
func (t *KinesisTrigger) Selector() *metav1.LabelSelector { return nil }

// DeliverySpec implements EventTrigger.
func (t *KinesisTrigger) DeliverySpec() EventDelivery { return t.Spec.EventDelivery }

// EventNamespace implements EventTrigger.
func (t *KinesisTrigger) EventNamespace() string { return "kinesistriggers.kubeless.io" }

// ValidateSpec implements Trigger.
func (t *KinesisTrigger) ValidateSpec() error {
	for _, f := range []struct{ v, flag string }{
		{t.Spec.FunctionName, "--function-name"}, {t.Spec.Stream, "--stream"},
		{t.Spec.Region, "--aws-region"}, {t.Spec.ShardID, "--shard-id"},
	} {
		if f.v == "" {
			return fmt.Errorf("Kinesis trigger %q needs %s", t.Name, f.flag)
		}
	}
	if t.Spec.DeadLetterTopic == t.Spec.Stream {
		return fmt.Errorf("Kinesis trigger %q: deadLetterTopic is the trigger's own stream: give another stream", t.Name)
	}
	return t.Spec.Validate(fmt.Sprintf("Kinesis trigger %q", t.Name))
}

// MergeSpec implements Trigger.
func (t *KinesisTrigger) MergeSpec(patch Trigger) Trigger {
	out := t.DeepCopy()
	p := patch.(*KinesisTrigger).Spec
	for dst, src := range map[*string]string{
		&out.Spec.FunctionName: p.FunctionName, &out.Spec.Region: p.Region, &out.Spec.Secret: p.Secret,
		&out.Spec.Stream: p.Stream, &out.Spec.ShardID: p.ShardID, &out.Spec.Endpoint: p.Endpoint,
	} {
		if src != "" {
			*dst = src
		}
	}
	out.Spec.EventDelivery.merge(p.EventDelivery)
	return out
}

// Triggers implements TriggerList.
func (l *KinesisTriggerList) Triggers() []Trigger {
	out := make([]Trigger, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out
}
