package v1beta1

// Names that the original Kubeless put on Functions and on every object made
// for them (docs/compatibility.md §1.5). Scripts and selectors rely on
// them, so they never change.
const (
	// LabelCreatedBy marks objects made by Kubeless; its value is
	// CreatedByKubeless.
	LabelCreatedBy = "created-by"
	// CreatedByKubeless is the value of LabelCreatedBy.
	CreatedByKubeless = "kubeless"
	// LabelFunction holds the Function's name on the Function and on every
	// object made for it.
	LabelFunction = "function"
	// FunctionFinalizer is the finalizer the original controller put on
	// Functions; this controller removes it (docs/compatibility.md §1.5).
	FunctionFinalizer = "kubeless.io/function"
)

// AnnotationIdleWindow, on a Function's spec.horizontalPodAutoscaler whose
// minReplicas is 0, is how long the function may go without a call before
// its last instance stops: a Go duration such as "90s" or "5m". Without
// it the engine's default applies.
const AnnotationIdleWindow = "kubeless.io/idle-window"

// MetricConcurrency is the name of the Pods metric of an autoscaler that
// scales on concurrency: its target average value is the number of calls in
// flight per instance.
const MetricConcurrency = "concurrency"

// AnnotationActivatorPort, on the Service of a function that scales to
// zero, is the port of the activator that receives the function's calls
// while it has no ready pod; the controller allocates it.
const AnnotationActivatorPort = "kubeless.io/activator-port"
