package cron

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// Event header names and values of a cron trigger's request
// (docs/compatibility.md §1.4).
const (
	// EventNamespace is the event-namespace of cron trigger requests.
	EventNamespace = "cronjobtrigger.kubeless.io"
	// EventType is the event-type of cron trigger requests.
	EventType = "application/json"

	// HeaderEventID carries a random id, new for every request.
	HeaderEventID = "event-id"
	// HeaderEventTime carries the fire time, RFC 3339 in UTC.
	HeaderEventTime = "event-time"
	// HeaderEventType carries EventType.
	HeaderEventType = "event-type"
	// HeaderEventNamespace carries EventNamespace.
	HeaderEventNamespace = "event-namespace"
	// HeaderContentType is set to application/json with a payload.
	HeaderContentType = "Content-Type"
)

// Request is the request a cron trigger sends to its function's root path,
// as a plain value (this package does not use net/http).
type Request struct {
	// Method is GET without a payload and POST with one.
	Method string
	// Header holds the event headers, and Content-Type with a payload.
	Header map[string]string
	// Body is the payload, nil without one.
	Body []byte
}

// NewRequest builds the request for a tick fired at firedAt. payload is the
// trigger's JSON payload, or empty for none; it must be valid JSON. The
// event-time is firedAt in UTC (RFC 3339), unlike the original, which sent
// the time the CronJob was created; the event-id is new for every request.
func NewRequest(payload []byte, firedAt time.Time) (Request, error) {
	r := Request{
		Method: "GET",
		Header: map[string]string{
			HeaderEventID:        NewEventID(),
			HeaderEventTime:      firedAt.UTC().Format(time.RFC3339),
			HeaderEventType:      EventType,
			HeaderEventNamespace: EventNamespace,
		},
	}
	if len(payload) > 0 {
		if !json.Valid(payload) {
			return Request{}, errors.New("cron trigger payload is not valid JSON")
		}
		r.Method = "POST"
		r.Header[HeaderContentType] = "application/json"
		r.Body = payload
	}
	return r, nil
}

// NewEventID returns a random event id: 11 random bytes in unpadded
// base64url, 15 characters, like the CLI's (docs/compatibility.md §4.2).
func NewEventID() string {
	var b [11]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
