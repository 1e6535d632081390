package host

import (
	"context"
	"errors"
	"net/http"
)

// Invoker runs the function. The host calls Start once, Invoke for each
// invocation (concurrently, at most Config.Concurrency at once) and Close on
// shutdown.
type Invoker interface {
	// Start loads the function and returns once it can be invoked. An error
	// means the function cannot be loaded: the host prints it and exits 1.
	Start(ctx context.Context) error
	// Invoke runs one invocation. It writes a successful response to
	// call.Writer itself, and returns:
	//   - nil when the function finished (the response is written);
	//   - a *FunctionError when the function failed before it wrote anything
	//     (the host answers 500 and counts a failure);
	//   - ctx.Err() when ctx ends first (the host answers 408). Invoke must
	//     return promptly when ctx is done and stop the invocation, or arrange
	//     for it to be stopped, without disturbing other invocations;
	//   - any other error when the function could not be run (the host
	//     answers 502).
	Invoke(ctx context.Context, call *Call) error
	// DefaultConcurrency is the concurrency used when FUNC_CONCURRENCY is unset.
	DefaultConcurrency() int
	// Close stops the function's processes; ctx bounds how long it waits.
	Close(ctx context.Context) error
}

// FunctionError is a failure of the user's function: an exception, an error
// return or a rejected promise. Its message is short and has no stack trace.
type FunctionError struct {
	Message string
	// Answered is true when the worker already sent its own complete error
	// response (http mode): the host only counts the failure.
	Answered bool
}

func (e *FunctionError) Error() string { return e.Message }

// Event is the event metadata of one invocation, with absent headers
// already defaulted (docs/runtime-contract.md §2.2).
type Event struct {
	ID        string `json:"event-id"`
	Type      string `json:"event-type"`
	Time      string `json:"event-time"`
	Namespace string `json:"event-namespace"`
}

// Call is one invocation.
type Call struct {
	// Request is the caller's request. Its body has been read into Body.
	Request *http.Request
	// Body is the whole request body.
	Body []byte
	// JSON is true when the body is declared JSON and non-empty; it has been
	// checked to parse.
	JSON bool
	// Event is the invocation's event metadata.
	Event Event
	// Writer is where the response goes. After the invocation has timed out,
	// writes to it fail with ErrAbandoned.
	Writer *ResponseWriter
}

// ErrAbandoned is returned by writes to a ResponseWriter after the host has
// answered the call itself (time limit reached).
var ErrAbandoned = errors.New("invocation was abandoned: time limit reached")
