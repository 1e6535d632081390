// Package backend is what the kubeless commands see of an engine, whichever
// it is: the local engine (through its client, internal/engine/client) or
// the Kubernetes engine (internal/kubeengine). Neither engine owns it.
//
// It holds one small interface per noun (Functions, Metrics, Autoscalers,
// and Triggers of each kind), the error vocabulary both engines speak (*Error and
// its codes, so that NotFound and the others read the same on both), and
// what both engines do alike: MergeFunction and the trigger merges for
// updates, NormalizeAutoscaler, and the parsing and summing of the
// function metrics.
//
// This package is internal; its API is not stable.
package backend

import (
	"context"
	"net/http"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// Engine is an engine as the commands use it: every noun's interface.
// Errors are *Error values (or wrap one) when they have a code.
type Engine interface {
	// Status describes the engine.
	Status(ctx context.Context) (*Status, error)
	Functions
	Metrics
	Autoscalers
	TriggerSource
}

// Status describes an engine: its version, where its gateway is, and for
// the local engine its home folder and pid.
type Status struct {
	Version string `json:"version"`
	Home    string `json:"home"`
	Gateway string `json:"gateway"`
	PID     int    `json:"pid"`
	// Sandbox says what confines the local engine's function instances
	// on this machine.
	Sandbox string `json:"sandbox,omitempty"`
	// EventBus is the URL of the local engine's event bus (NATS): the
	// server of the NATS triggers that name none.
	EventBus string `json:"eventBus,omitempty"`
}

// Functions deploys, updates, removes, reads, calls and follows functions.
type Functions interface {
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
}

// Metrics reads the functions' call metrics.
type Metrics interface {
	// Top returns the metrics rows of the function name, or of every
	// function of namespace ("" for all) when name is "".
	Top(ctx context.Context, namespace, name string) ([]FunctionMetrics, error)
}

// Autoscalers sets and removes the functions' autoscalers.
type Autoscalers interface {
	// SetAutoscaler sets (or, with nil, removes) the function's
	// horizontalPodAutoscaler and returns the function.
	SetAutoscaler(ctx context.Context, namespace, name string, h *autoscalingv2.HorizontalPodAutoscaler) (*v1beta1.Function, error)
}

// LogOptions select the lines of Logs.
type LogOptions struct {
	// Follow keeps streaming new lines until the caller goes away.
	Follow bool
	// Tail is how many past lines to send first; < 0 means all kept.
	Tail int
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
