// Package fnspec is the one validator of a Function spec's code fields
// (runtime, handler, content type, checksum, timeout). The local engine,
// the builder, render (and so the controller) call it, so that one bad
// value gets one message whichever path meets it.
//
// It imports only internal/source and internal/langruntime: the builder,
// which must work with no cluster, can use it as well as the packages that
// hold the Kubernetes API types.
//
// What a caller requires to be present (a handler, code, a runtime) is the
// caller's rule: a Function on Kubernetes may bring its own image and no
// code. Validate checks the values that are given.
package fnspec

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"
)

// ErrNoHandler is the message for a function with code and no handler
// (the original Kubeless's text).
var ErrNoHandler = errors.New("You must specify handler for the runtime.")

// Spec is the part of a Function spec that Validate checks, as text.
type Spec struct {
	Runtime     string // spec.runtime, e.g. python3.11
	Handler     string // spec.handler, module.function
	ContentType string // spec.function-content-type
	Checksum    string // spec.checksum, sha256:<hex>
	Timeout     string // spec.timeout, whole seconds
}

// Field names the spec field an *Error is about.
type Field string

const (
	FieldRuntime     Field = "runtime"
	FieldHandler     Field = "handler"
	FieldContentType Field = "function-content-type"
	FieldChecksum    Field = "checksum"
	FieldTimeout     Field = "timeout"
)

// Error is a bad field: its text is the user's one-line message; Field
// lets callers map it (render maps it to a condition reason).
type Error struct {
	Field Field
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// FieldOf returns the field of an *Error in err's chain, or "".
func FieldOf(err error) Field {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// Parsed is what Validate makes of a valid Spec.
type Parsed struct {
	Entry       langruntime.Entry  // zero when cat is nil
	Handler     source.Handler     // zero when the handler is empty
	ContentType source.ContentType // "" parses as text
}

// Validate checks the fields of s that are not empty (the content type is
// always checked: "" means text). When cat is not nil the runtime is looked
// up in it, empty or not; a caller with no catalog at hand (or whose
// Functions may have no runtime) passes nil. The first bad field is
// returned as an *Error.
func Validate(s Spec, cat *langruntime.Catalog) (Parsed, error) {
	var p Parsed
	if cat != nil {
		e, err := cat.Lookup(s.Runtime)
		if err != nil {
			return p, &Error{FieldRuntime, err}
		}
		p.Entry = e
	}
	if s.Handler != "" {
		h, err := source.ParseHandler(s.Handler)
		if err != nil {
			return p, &Error{FieldHandler, err}
		}
		p.Handler = h
	}
	ct, err := source.ParseContentType(s.ContentType)
	if err != nil {
		return p, &Error{FieldContentType, err}
	}
	p.ContentType = ct
	// VerifyChecksum of no bytes fails with a mismatch for any well formed
	// checksum; only the format error matters here.
	var cf *source.ChecksumFormatError
	if err := source.VerifyChecksum(nil, s.Checksum); errors.As(err, &cf) {
		return p, &Error{FieldChecksum, err}
	}
	if s.Timeout != "" {
		if n, err := strconv.Atoi(s.Timeout); err != nil || n <= 0 {
			return p, &Error{FieldTimeout, fmt.Errorf("invalid timeout %q: give a whole number of seconds, for example --timeout 180", s.Timeout)}
		}
	}
	return p, nil
}
