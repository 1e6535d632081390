// Package api is the local engine's HTTP API, served on a Unix socket that
// only its owner can open (tailscale LocalAPI style): an explicit handler
// table over a Backend, JSON bodies, and errors as
// {"error": "...", "code": "NotFound|AlreadyExists|Invalid|..."} with the
// matching HTTP status. It is the local daemon's protocol only: the engine
// (internal/engine) serves it and its client (internal/engine/client)
// speaks it; what the commands see of either engine is internal/backend.
//
// This package is internal; its API is not stable.
package api

import (
	"context"
	"net/http"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// Status is the answer of GET /v1/status.
type Status = backend.Status

// LogOptions select the lines of GET .../logs.
type LogOptions = backend.LogOptions

// httpStatus is the HTTP status of an error code.
func httpStatus(code string) int {
	switch code {
	case backend.CodeNotFound:
		return http.StatusNotFound
	case backend.CodeAlreadyExists:
		return http.StatusConflict
	case backend.CodeInvalid:
		return http.StatusBadRequest
	case backend.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
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
