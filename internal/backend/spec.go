package backend

import (
	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/fnspec"
	"github.com/kubeless/kubeless/internal/langruntime"
)

// Spec is the part of fn's spec that fnspec validates.
func Spec(fn *v1beta1.Function) fnspec.Spec {
	return fnspec.Spec{
		Runtime:     fn.Spec.Runtime,
		Handler:     fn.Spec.Handler,
		ContentType: fn.Spec.FunctionContentType,
		Checksum:    fn.Spec.Checksum,
		Timeout:     fn.Spec.Timeout,
	}
}

// CheckSpec validates fn's spec with fnspec, the validator the builder and
// render use too; a bad field is a CodeInvalid *Error with fnspec's
// message. cat is the runtime catalog, or nil when the engine does not
// hold it (on Kubernetes the controller's catalog decides).
func CheckSpec(fn *v1beta1.Function, cat *langruntime.Catalog) error {
	if _, err := fnspec.Validate(Spec(fn), cat); err != nil {
		return &Error{Code: CodeInvalid, Message: err.Error()}
	}
	return nil
}
