package api

import (
	"context"
	"net/http"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// Client is what the kubeless commands use of an engine, whichever it is:
// the local engine's client (internal/engine/client) or the Kubernetes
// engine (internal/kubeengine). Errors are *Error values (or wrap one) when
// they have a code, so that NotFound and the others read the same on both.
type Client interface {
	Status(ctx context.Context) (*Status, error)
	Deploy(ctx context.Context, fn *v1beta1.Function) (*v1beta1.Function, error)
	// Update merges the non-empty parts of fn into the stored function
	// (MergeFunction).
	Update(ctx context.Context, fn *v1beta1.Function) (*v1beta1.Function, error)
	Delete(ctx context.Context, namespace, name string) error
	Get(ctx context.Context, namespace, name string) (*v1beta1.Function, error)
	// List lists the functions of namespace, or of all when it is "".
	List(ctx context.Context, namespace string) ([]v1beta1.Function, error)
	// Logs calls line for each line of the function's output until it ends
	// (or, with Follow, until ctx ends, which is not an error).
	Logs(ctx context.Context, namespace, name string, opts LogOptions, line func(string)) error
	// Call sends one HTTP request to the function and returns its answer,
	// whatever its status; an error means the function could not be
	// reached.
	Call(ctx context.Context, namespace, name string, req *CallRequest) (*CallResponse, error)

	TriggerBackend
}

// CallRequest is an HTTP request to a function, as `kubeless function call`
// builds it.
type CallRequest struct {
	Method string
	// Path is the path (and query) after the function's root: "" or
	// starting with "/", for example "/items?x=1".
	Path   string
	Header http.Header
	// Body is sent when it is not nil.
	Body []byte
}

// CallResponse is the function's answer.
type CallResponse struct {
	StatusCode int
	// Status is the status line, for example "404 Not Found".
	Status string
	Header http.Header
	Body   []byte
}

// MaxCallResponse is the most of an answer a Call reads.
const MaxCallResponse = 64 << 20
