package v1beta1

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Trigger is an object of a trigger kind (see TriggerKind for how to add
// one): it calls one function, named by its spec.function-name, in its
// namespace.
//
// +kubebuilder:object:generate=false
type Trigger interface {
	metav1.Object
	runtime.Object
	// TriggerKind describes the object's kind.
	TriggerKind() *TriggerKind
	// TargetFunction is the name of the function the trigger calls.
	TargetFunction() string
	// TriggerStatus is the trigger's status, to update in place.
	TriggerStatus() *TriggerStatus
	// MergeSpec returns a copy of the trigger with the non-empty fields of
	// patch's spec (patch is of the same kind), as `kubeless trigger <kind>
	// update` means them.
	MergeSpec(patch Trigger) Trigger
	// ValidateSpec checks what both engines refuse in the spec; the error
	// is one line that says what to fix.
	ValidateSpec() error
}

// TriggerKind describes a trigger kind. Both engines, the local engine's
// API and client, the controller and the commands handle every trigger
// kind through Trigger and TriggerKind, so that a kind is written once.
//
// Adding a trigger kind (Kafka, NATS, Kinesis...) means:
//
//  1. its API type here, in <kind>_types.go: the object, its spec, its
//     List, and the Trigger methods (TriggerKind, TargetFunction,
//     TriggerStatus, MergeSpec, ValidateSpec) and TriggerList's
//     (Triggers), with a TriggerKind value registered by an init function
//     (see httptrigger_types.go); then hack/update-codegen.sh;
//  2. what makes it run: on Kubernetes its renderer (internal/render),
//     its entry in the controller's renderers (internal/controller,
//     trigger.go) and the RBAC markers for its resource and for the
//     objects it makes (internal/controller, controller.go); on the local
//     engine its consumer (internal/engine, the consumers of
//     engine_triggers.go);
//  3. its CLI verb (internal/cli/trigger), which reaches either engine
//     through backend.TriggersOf.
//
// Nothing else: the local engine's API routes (/v1/<resource>), its
// client, its store and the Kubernetes engine's calls come from the
// registered TriggerKind.
//
// +kubebuilder:object:generate=false
type TriggerKind struct {
	// Kind is the API kind, for example "HTTPTrigger".
	Kind string
	// Resource is the plural resource name, for example "httptriggers":
	// the Kubernetes resource and the path of the local engine's API.
	Resource string
	// What names the kind in messages, for example "HTTP trigger".
	What string
	// Command is the CLI noun: kubeless trigger <Command>.
	Command string
	// New returns an empty object of the kind.
	New func() Trigger
	// NewList returns an empty list of the kind.
	NewList func() TriggerList
}

// TriggerList is the List type of a trigger kind.
//
// +kubebuilder:object:generate=false
type TriggerList interface {
	runtime.Object
	metav1.ListInterface
	// Triggers returns pointers to the list's items.
	Triggers() []Trigger
}

var triggerKinds []*TriggerKind

// registerTrigger adds a trigger kind; each kind's file calls it from init.
func registerTrigger(k *TriggerKind) { triggerKinds = append(triggerKinds, k) }

// TriggerKinds returns every trigger kind, in the order registered.
func TriggerKinds() []*TriggerKind { return append([]*TriggerKind(nil), triggerKinds...) }

// checkPayload refuses a payload that is not JSON.
func checkPayload(what, name string, p *runtime.RawExtension) error {
	if p != nil && len(p.Raw) > 0 && !json.Valid(p.Raw) {
		return fmt.Errorf("%s %q: the payload is not valid JSON", what, name)
	}
	return nil
}
