// Package functions is the API of Go functions run by Kubeless.
//
// A Go function is an exported function of a package named kubeless with the
// signature
//
//	func Name(event functions.Event, context functions.Context) (string, error)
//
// Its returned string is the response body (status 200, Content-Type
// text/plain; charset=utf-8 unless the function set one). A returned error is
// answered 500 with body "Error: <err>". To set the status code and headers,
// use event.Extensions.Response: set headers with Header().Set, then call
// WriteHeader(status) and, optionally, write the body yourself; the returned
// string is then appended to what was written. The function should watch
// event.Extensions.Context.Done(): it is cancelled at the time limit.
//
// This package keeps the types of the original Kubeless so that existing
// functions compile unchanged. It imports only the standard library.
package functions

import (
	"context"
	"net/http"
)

// Extension holds the native objects of an invocation.
type Extension struct {
	// Request is the HTTP request that invoked the function. Its body has
	// already been read into Event.Data.
	Request *http.Request
	// Response lets the function set the status code and headers, or write
	// the body itself.
	Response http.ResponseWriter
	// Context is cancelled when the invocation's time limit (FUNC_TIMEOUT) is
	// reached.
	Context context.Context
}

// Event is what a function is called with.
type Event struct {
	// Data is the request body.
	Data string `json:"data"`
	// EventID is the event-id header, or a generated unique id.
	EventID string `json:"event-id"`
	// EventType is the event-type header, or the request's Content-Type.
	EventType string `json:"event-type"`
	// EventTime is the event-time header, or the time of the request in
	// RFC 3339 (UTC).
	EventTime string `json:"event-time"`
	// EventNamespace is the event-namespace header (cli.kubeless.io for
	// kubeless function call, cronjobtrigger.kubeless.io for schedules).
	EventNamespace string `json:"event-namespace"`
	// Extensions holds the native request, response and context.
	Extensions Extension `json:"-"`
}

// Context describes the function being run.
type Context struct {
	// FunctionName is FUNC_HANDLER.
	FunctionName string `json:"function-name"`
	// Timeout is FUNC_TIMEOUT, in seconds.
	Timeout string `json:"timeout"`
	// Runtime is FUNC_RUNTIME, for example go1.26.
	Runtime string `json:"runtime"`
	// MemoryLimit is FUNC_MEMORY_LIMIT.
	MemoryLimit string `json:"memory-limit"`
}

// Handler is the signature of a Kubeless Go function.
type Handler func(Event, Context) (string, error)
