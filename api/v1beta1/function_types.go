package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Function is a unit of user code that Kubeless runs behind an HTTP endpoint.
// The controller turns it into a ConfigMap (code and dependencies), a
// Deployment, a Service and, when asked, a HorizontalPodAutoscaler, all named
// like the Function and owned by it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=kubeless
// +kubebuilder:printcolumn:name="Runtime",type=string,JSONPath=`.spec.runtime`
// +kubebuilder:printcolumn:name="Handler",type=string,JSONPath=`.spec.handler`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.ready`,description="Ready pods out of desired pods"
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1,description="Reason of the Ready condition"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Function struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the user asked for.
	Spec FunctionSpec `json:"spec"`

	// status is what the controller observed.
	// +optional
	Status FunctionStatus `json:"status,omitzero"`
}

// FunctionSpec is the desired state of a Function (docs/compatibility.md
// §1.1).
//
// The string fields have no omitempty, like the original's, so a Function
// encoded by this package carries every key the original CLI wrote
// (`deps: ""` included); readers of the original format find them all.
// The deployment and horizontalPodAutoscaler templates are kept as raw JSON:
// see DeploymentTemplate and Autoscaler.
type FunctionSpec struct {
	// handler is "<module>.<function>": the file that holds the code, without
	// its suffix, and the function to call in it, for example "hello.foo";
	// the file may sit in a folder of the function's code, "src/api/hello.foo"
	// (no "." or ".." folder, no leading "/"). It is empty only for functions
	// that bring their own image.
	// +optional
	// +kubebuilder:validation:Pattern=`^((([^./\\][^/\\]*|\.[^./\\][^/\\]*|\.\.[^/\\]+)/)*[^./\\]+\.[^.]+)?$`
	Handler string `json:"handler"`

	// function is the code: source text, the base64 of an archive, or an
	// http(s) URL, as function-content-type says.
	// +optional
	Function string `json:"function"`

	// function-content-type says how to read function: "text" (the default
	// when empty), "base64" or "url", optionally followed by "+zip" or
	// "+compressedtar", and by "+deps" when the archive carries the
	// dependency file, for example "base64+zip+deps". As in the original,
	// the parts may come in any order and "text" may be added ("url+text"
	// is "url").
	// +optional
	FunctionContentType string `json:"function-content-type"`

	// checksum is "sha256:<64 hex digits>" of the raw code bytes (after base64
	// decoding, or as downloaded from the URL). Empty means no check.
	// +optional
	// +kubebuilder:validation:Pattern=`^(sha256:[0-9a-fA-F]{64})?$`
	Checksum string `json:"checksum"`

	// deps is the content of the runtime's dependency file
	// (requirements.txt, package.json, Gemfile, composer.json, go.mod, ...).
	// +optional
	Deps string `json:"deps"`

	// runtime is a runtime ID followed by its version, for example
	// "python3.12" or "nodejs20", and must be in the kubeless-config catalog.
	// It is empty only for functions that bring their own image.
	// +optional
	// +kubebuilder:validation:Pattern=`^([a-zA-Z_-]+[0-9]+(\.[0-9]+)*)?$`
	Runtime string `json:"runtime"`

	// timeout is the longest a call may take, in whole seconds, as a decimal
	// string. Empty means "180".
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]*$`
	Timeout string `json:"timeout"`

	// deployment is an apps/v1 Deployment merged into the one the controller
	// generates: its containers[0] is the function container (env,
	// resources, image, imagePullPolicy, volumeMounts ...), and
	// initContainers[0].resources applies to every generated init container.
	// Any object is accepted here, including the empty-shaped one the original
	// CLI wrote; one that is not a valid Deployment shows in the Function's
	// Ready condition (reason InvalidDeployment).
	// ---
	// Kept as raw JSON (see function_templates.go for why); decode it with
	// FunctionSpec.DeploymentTemplate and set it with SetDeploymentTemplate.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Deployment *runtime.RawExtension `json:"deployment,omitempty"`

	// service is the spec of the function's Service. Without ports the
	// controller uses its default: port 8080 named http-function-port.
	// +optional
	ServiceSpec corev1.ServiceSpec `json:"service"`

	// horizontalPodAutoscaler asks for autoscaling. Both the original's
	// autoscaling/v2beta1 shape (resource.targetAverageUtilization,
	// object.metricName and targetValue ...) and the autoscaling/v2 shape
	// (target: {type, ...}, metric: {name}) are read; the controller creates an
	// autoscaling/v2 HorizontalPodAutoscaler. As in the original, it is in
	// effect only when metadata.name and spec.scaleTargetRef.name are both
	// set, so the empty-shaped object the original CLI wrote means "no
	// autoscaling". One that cannot be read shows in the Function's Ready
	// condition (reason InvalidAutoscaler).
	// ---
	// Kept as raw JSON (see function_templates.go for why); decode it with
	// FunctionSpec.Autoscaler and set it with SetAutoscaler.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	HorizontalPodAutoscaler *runtime.RawExtension `json:"horizontalPodAutoscaler,omitempty"`
}

// FunctionStatus is what the controller last observed of a Function.
type FunctionStatus struct {
	// observedGeneration is the metadata.generation the controller last
	// reconciled. Until it equals metadata.generation, the conditions may
	// describe an older spec.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions say whether the function is ready and, when it is not, why
	// (see ConditionReady and the Reason constants).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// replicas is the number of function pods the Deployment wants.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of function pods that are ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// ready is "<readyReplicas>/<replicas>", for display.
	// ---
	// Set the three replica fields with SetReplicas.
	// +optional
	Ready string `json:"ready,omitempty"`

	// buildStep is the build step in progress (prepare, install or compile)
	// while the Ready condition's reason is Building on the local engine;
	// empty otherwise. On Kubernetes the steps are the pod's init
	// containers, and the controller leaves it empty.
	// +optional
	BuildStep string `json:"buildStep,omitempty"`

	// scaleEvents are the last changes of the number of instances made by
	// the local engine's autoscaler (scale to zero and back included),
	// oldest first; at most MaxScaleEvents are kept.
	// +optional
	// +listType=atomic
	ScaleEvents []ScaleEvent `json:"scaleEvents,omitempty"`
}

// MaxScaleEvents is the most scale events a Function's status keeps.
const MaxScaleEvents = 10

// ScaleEvent is one change of a function's number of instances.
type ScaleEvent struct {
	// time is when the change was decided.
	Time metav1.Time `json:"time"`
	// from and to are the numbers of instances before and after.
	From int32 `json:"from"`
	To   int32 `json:"to"`
	// reason says why, for example "idle for 1m0s" or "a call woke it".
	Reason string `json:"reason"`
}

// AddScaleEvent appends ev to the status's scale events, keeping the last
// MaxScaleEvents.
func (in *FunctionStatus) AddScaleEvent(ev ScaleEvent) {
	in.ScaleEvents = append(in.ScaleEvents, ev)
	if n := len(in.ScaleEvents); n > MaxScaleEvents {
		in.ScaleEvents = append([]ScaleEvent(nil), in.ScaleEvents[n-MaxScaleEvents:]...)
	}
}

// FunctionList is a list of Functions.
//
// +kubebuilder:object:root=true
type FunctionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Function `json:"items"`
}
