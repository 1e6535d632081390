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
