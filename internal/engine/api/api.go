// Package api is the local engine's HTTP API, served on a Unix socket that
// only its owner can open (tailscale LocalAPI style): an explicit handler
// table over a Backend, JSON bodies, and errors as
// {"error": "...", "code": "NotFound|AlreadyExists|Invalid|..."} with the
// matching HTTP status. The wire types are here too, for the typed client,
// with Client, what the kubeless commands use of either engine (the local
// one's client or internal/kubeengine), and what both engines share
// (MergeFunction, ParseMetrics).
//
// This package is internal; its API is not stable.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// Error codes.
const (
	CodeNotFound      = "NotFound"
	CodeAlreadyExists = "AlreadyExists"
	CodeInvalid       = "Invalid"
	CodeUnavailable   = "Unavailable"
	CodeInternal      = "Internal"
)

// Error is an API error: a code and a one-line message. Engines return it
// (wrapped or not) and the client turns error bodies back into it.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// HTTPStatus is the HTTP status of the error's code.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeNotFound:
		return http.StatusNotFound
	case CodeAlreadyExists:
		return http.StatusConflict
	case CodeInvalid:
		return http.StatusBadRequest
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Errorf returns an *Error with code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err's *Error, or "" when it has none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Status is the answer of GET /v1/status.
type Status struct {
	Version string `json:"version"`
	Home    string `json:"home"`
	Gateway string `json:"gateway"`
	PID     int    `json:"pid"`
}

// LogOptions select the lines of GET .../logs.
type LogOptions struct {
	// Follow keeps streaming new lines until the caller goes away.
	Follow bool
	// Tail is how many past lines to send first; < 0 means all kept.
	Tail int
}

// Backend is what the API serves; the engine implements it.
type Backend interface {
	Status(ctx context.Context) (*Status, error)
	Deploy(ctx context.Context, fn *v1beta1.Function) (*v1beta1.Function, error)
	// Update merges the non-empty parts of fn into the stored function.
	Update(ctx context.Context, fn *v1beta1.Function) (*v1beta1.Function, error)
	Delete(ctx context.Context, namespace, name string) error
	Get(ctx context.Context, namespace, name string) (*v1beta1.Function, error)
	// List lists the functions of namespace, or of all when it is "".
	List(ctx context.Context, namespace string) ([]v1beta1.Function, error)
	// Logs returns the lines of the function's instances; the channel is
	// closed at the end (at once without Follow, or when ctx ends).
	Logs(ctx context.Context, namespace, name string, opts LogOptions) (<-chan string, error)

	TriggerBackend
}
