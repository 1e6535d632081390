package v1beta1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// CronJobTrigger calls a Function on a schedule, through a batch/v1 CronJob
// (docs/compatibility.md §1.4).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=kubeless
// +kubebuilder:printcolumn:name="Function",type=string,JSONPath=`.spec.function-name`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CronJobTrigger struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the user asked for.
	Spec CronJobTriggerSpec `json:"spec"`

	// status is what the controller observed.
	// +optional
	Status TriggerStatus `json:"status,omitzero"`
}

// CronJobTriggerSpec is the desired state of a CronJobTrigger.
type CronJobTriggerSpec struct {
	// schedule is a standard five-field cron expression ("*/5 * * * *") or a
	// descriptor such as "@hourly" or "@every 10m".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^\s*(@\S+(\s+\S+)?|\S+(\s+\S+){4})\s*$`
	Schedule string `json:"schedule"`

	// function-name is the Function, in the trigger's namespace, to call.
	// +kubebuilder:validation:MinLength=1
	FunctionName string `json:"function-name"`

	// payload is any JSON value, sent as the request body (the function's
	// event data) with Content-Type application/json.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	Payload *runtime.RawExtension `json:"payload,omitempty"`
}

// CronJobTriggerList is a list of CronJobTriggers.
//
// +kubebuilder:object:root=true
type CronJobTriggerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CronJobTrigger `json:"items"`
}

// CronJobTriggerKind describes the CronJobTrigger kind.
var CronJobTriggerKind = &TriggerKind{
	Kind: "CronJobTrigger", Resource: "cronjobtriggers", What: "cron trigger", Command: "cronjob",
	New:     func() Trigger { return &CronJobTrigger{} },
	NewList: func() TriggerList { return &CronJobTriggerList{} },
}

func init() { registerTrigger(CronJobTriggerKind) }

// TriggerKind implements Trigger.
func (t *CronJobTrigger) TriggerKind() *TriggerKind { return CronJobTriggerKind }

// TargetFunction implements Trigger.
func (t *CronJobTrigger) TargetFunction() string { return t.Spec.FunctionName }

// TriggerStatus implements Trigger.
func (t *CronJobTrigger) TriggerStatus() *TriggerStatus { return &t.Status }

// ValidateSpec implements Trigger: a schedule is required and the payload
// must be JSON. (The local engine also parses the schedule; on Kubernetes
// the CronJob's validation does.)
func (t *CronJobTrigger) ValidateSpec() error {
	if t.Spec.Schedule == "" {
		return fmt.Errorf("cron trigger %q has no schedule: give one with --schedule, for example --schedule '*/5 * * * *'", t.Name)
	}
	return checkPayload("cron trigger", t.Name, t.Spec.Payload)
}

// MergeSpec implements Trigger.
func (t *CronJobTrigger) MergeSpec(patch Trigger) Trigger {
	out := t.DeepCopy()
	p := patch.(*CronJobTrigger).Spec
	if p.Schedule != "" {
		out.Spec.Schedule = p.Schedule
	}
	if p.FunctionName != "" {
		out.Spec.FunctionName = p.FunctionName
	}
	if p.Payload != nil {
		out.Spec.Payload = p.Payload.DeepCopy()
	}
	return out
}

// Triggers implements TriggerList.
func (l *CronJobTriggerList) Triggers() []Trigger {
	out := make([]Trigger, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out
}
