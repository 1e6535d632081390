package v1beta1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NATSTrigger calls the functions it selects with the messages of a NATS
// subject (docs/events.md). Manifests of the original Kubeless's
// nats-trigger (topic, functionSelector) apply unchanged.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=kubeless
// +kubebuilder:printcolumn:name="Topic",type=string,JSONPath=`.spec.topic`
// +kubebuilder:printcolumn:name="Function",type=string,JSONPath=`.spec.function-name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type NATSTrigger struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the user asked for.
	Spec NATSTriggerSpec `json:"spec"`

	// status is what the consumer observed.
	// +optional
	Status TriggerStatus `json:"status,omitzero"`
}

// NATSTriggerSpec is the desired state of a NATSTrigger.
type NATSTriggerSpec struct {
	// topic is the NATS subject (wildcards * and > allowed) whose messages are delivered.
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

	// url is the NATS server's URL, for example nats://127.0.0.1:4222
	// (several comma-separated for a cluster). Empty: the engine's (on the
	// local engine, its embedded NATS server).
	// +optional
	URL string `json:"url,omitempty"`

	EventDelivery `json:",inline"`
}

// NATSTriggerList is a list of NATSTriggers.
//
// +kubebuilder:object:root=true
type NATSTriggerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NATSTrigger `json:"items"`
}

// NATSTriggerKind describes the NATSTrigger kind.
var NATSTriggerKind = &TriggerKind{
	Kind: "NATSTrigger", Resource: "natstriggers", What: "NATS trigger", Command: "nats",
	New:     func() Trigger { return &NATSTrigger{} },
	NewList: func() TriggerList { return &NATSTriggerList{} },
}

func init() { registerTrigger(NATSTriggerKind) }

// TriggerKind implements Trigger.
func (t *NATSTrigger) TriggerKind() *TriggerKind { return NATSTriggerKind }

// TargetFunction implements Trigger: it is "" when the trigger selects
// functions by label.
func (t *NATSTrigger) TargetFunction() string { return t.Spec.FunctionName }

// TriggerStatus implements Trigger.
func (t *NATSTrigger) TriggerStatus() *TriggerStatus { return &t.Status }

// Source implements EventTrigger.
func (t *NATSTrigger) Source() string { return t.Spec.Topic }

// Selector implements EventTrigger.
func (t *NATSTrigger) Selector() *metav1.LabelSelector {
	return selectorOrNil(&t.Spec.FunctionSelector)
}

// DeliverySpec implements EventTrigger.
func (t *NATSTrigger) DeliverySpec() EventDelivery { return t.Spec.EventDelivery }

// EventNamespace implements EventTrigger.
func (t *NATSTrigger) EventNamespace() string { return "natstriggers.kubeless.io" }

// ValidateSpec implements Trigger.
func (t *NATSTrigger) ValidateSpec() error {
	if t.Spec.Topic == "" {
		return fmt.Errorf("NATS trigger %q has no topic: give one with --trigger-topic", t.Name)
	}
	if err := validateTarget("NATS trigger", t.Name, t.Spec.FunctionName, t.Spec.FunctionSelector, "--function-selector"); err != nil {
		return err
	}
	if t.Spec.DeadLetterTopic == t.Spec.Topic {
		return fmt.Errorf("NATS trigger %q: deadLetterTopic is the trigger's own topic: give another topic", t.Name)
	}
	return t.Spec.Validate(fmt.Sprintf("NATS trigger %q", t.Name))
}

// MergeSpec implements Trigger.
func (t *NATSTrigger) MergeSpec(patch Trigger) Trigger {
	out := t.DeepCopy()
	p := patch.(*NATSTrigger).Spec
	if p.Topic != "" {
		out.Spec.Topic = p.Topic
	}
	if p.URL != "" {
		out.Spec.URL = p.URL
	}
	mergeTarget(&out.Spec.FunctionName, &out.Spec.FunctionSelector, p.FunctionName, p.FunctionSelector)
	out.Spec.EventDelivery.merge(p.EventDelivery)
	return out
}

// Triggers implements TriggerList.
func (l *NATSTriggerList) Triggers() []Trigger {
	out := make([]Trigger, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out
}
