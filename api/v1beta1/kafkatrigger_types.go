package v1beta1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KafkaTrigger calls the functions it selects with the messages of a Kafka
// topic (docs/events.md). Manifests of the original Kubeless's
// kafka-trigger (topic, functionSelector) apply unchanged.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=kubeless
// +kubebuilder:printcolumn:name="Topic",type=string,JSONPath=`.spec.topic`
// +kubebuilder:printcolumn:name="Function",type=string,JSONPath=`.spec.function-name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KafkaTrigger struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the user asked for.
	Spec KafkaTriggerSpec `json:"spec"`

	// status is what the consumer observed.
	// +optional
	Status TriggerStatus `json:"status,omitzero"`
}

// KafkaTriggerSpec is the desired state of a KafkaTrigger.
type KafkaTriggerSpec struct {
	// topic is the Kafka topic whose messages are delivered.
	// +kubebuilder:validation:MinLength=1
	Topic string `json:"topic"`

	// functionSelector selects, by their labels, the functions of the
	// trigger's namespace that each message is delivered to.
	// +optional
	FunctionSelector metav1.LabelSelector `json:"functionSelector,omitzero"`

	// function-name names the one function messages are delivered to,
	// instead of a functionSelector.
	// +optional
	FunctionName string `json:"function-name,omitempty"`

	// brokers is a comma-separated list of the Kafka brokers' host:port.
	// Empty: the engine's (the local daemon's KUBELESS_KAFKA_BROKERS).
	// +optional
	Brokers string `json:"brokers,omitempty"`

	EventDelivery `json:",inline"`
}

// KafkaTriggerList is a list of KafkaTriggers.
//
// +kubebuilder:object:root=true
type KafkaTriggerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KafkaTrigger `json:"items"`
}

// KafkaTriggerKind describes the KafkaTrigger kind.
var KafkaTriggerKind = &TriggerKind{
	Kind: "KafkaTrigger", Resource: "kafkatriggers", What: "Kafka trigger", Command: "kafka",
	New:     func() Trigger { return &KafkaTrigger{} },
	NewList: func() TriggerList { return &KafkaTriggerList{} },
}

func init() { registerTrigger(KafkaTriggerKind) }

// TriggerKind implements Trigger.
func (t *KafkaTrigger) TriggerKind() *TriggerKind { return KafkaTriggerKind }

// TargetFunction implements Trigger: it is "" when the trigger selects
// functions by label.
func (t *KafkaTrigger) TargetFunction() string { return t.Spec.FunctionName }

// TriggerStatus implements Trigger.
func (t *KafkaTrigger) TriggerStatus() *TriggerStatus { return &t.Status }

// Source implements EventTrigger.
func (t *KafkaTrigger) Source() string { return t.Spec.Topic }

// Selector implements EventTrigger.
func (t *KafkaTrigger) Selector() *metav1.LabelSelector {
	return selectorOrNil(&t.Spec.FunctionSelector)
}

// DeliverySpec implements EventTrigger.
func (t *KafkaTrigger) DeliverySpec() EventDelivery { return t.Spec.EventDelivery }

// EventNamespace implements EventTrigger.
func (t *KafkaTrigger) EventNamespace() string { return "kafkatriggers.kubeless.io" }

// ValidateSpec implements Trigger.
func (t *KafkaTrigger) ValidateSpec() error {
	if t.Spec.Topic == "" {
		return fmt.Errorf("Kafka trigger %q has no topic: give one with --trigger-topic", t.Name)
	}
	if err := validateTarget("Kafka trigger", t.Name, t.Spec.FunctionName, t.Spec.FunctionSelector, "--function-selector"); err != nil {
		return err
	}
	if t.Spec.DeadLetterTopic == t.Spec.Topic {
		return fmt.Errorf("Kafka trigger %q: deadLetterTopic is the trigger's own topic: give another topic", t.Name)
	}
	return t.Spec.Validate(fmt.Sprintf("Kafka trigger %q", t.Name))
}

// MergeSpec implements Trigger.
func (t *KafkaTrigger) MergeSpec(patch Trigger) Trigger {
	out := t.DeepCopy()
	p := patch.(*KafkaTrigger).Spec
	if p.Topic != "" {
		out.Spec.Topic = p.Topic
	}
	if p.Brokers != "" {
		out.Spec.Brokers = p.Brokers
	}
	mergeTarget(&out.Spec.FunctionName, &out.Spec.FunctionSelector, p.FunctionName, p.FunctionSelector)
	out.Spec.EventDelivery.merge(p.EventDelivery)
	return out
}

// Triggers implements TriggerList.
func (l *KafkaTriggerList) Triggers() []Trigger {
	out := make([]Trigger, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out
}
