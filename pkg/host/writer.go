package host

import (
	"net/http"
	"sync"
)

// ResponseWriter is the http.ResponseWriter that functions and workers write
// to. It guards the real writer so that a function still running after its
// time limit (a Go goroutine that did not return, a late frame) cannot touch
// the connection once the host has answered: from then on every write fails
// with ErrAbandoned.
type ResponseWriter struct {
	mu          sync.Mutex
	w           http.ResponseWriter
	header      http.Header
	wroteHeader bool
	closed      bool
	status      int
	bytes       int64
	noCORS      bool
}

var _ http.ResponseWriter = (*ResponseWriter)(nil)
var _ http.Flusher = (*ResponseWriter)(nil)

func newResponseWriter(w http.ResponseWriter) *ResponseWriter {
	return &ResponseWriter{w: w, header: make(http.Header)}
}

// Header returns the headers to be sent. Changes after WriteHeader have no
// effect.
func (rw *ResponseWriter) Header() http.Header { return rw.header }

// WriteHeader sends the status code and the headers.
func (rw *ResponseWriter) WriteHeader(status int) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.writeHeaderLocked(status)
}

func (rw *ResponseWriter) writeHeaderLocked(status int) {
	if rw.wroteHeader || rw.closed {
		return
	}
	rw.wroteHeader = true
	rw.status = status
	dst := rw.w.Header()
	for k, v := range rw.header {
		dst[k] = v
	}
	rw.w.WriteHeader(status)
}

// Write writes body bytes, sending status 200 first if no status was sent.
func (rw *ResponseWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.closed {
		return 0, ErrAbandoned
	}
	if !rw.wroteHeader {
		if rw.header.Get("Content-Type") == "" && len(p) > 0 {
			rw.header.Set("Content-Type", "text/plain; charset=utf-8")
		}
		rw.writeHeaderLocked(http.StatusOK)
	}
	n, err := rw.w.Write(p)
	rw.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the caller (streaming responses).
func (rw *ResponseWriter) Flush() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.closed {
		return
	}
	if !rw.wroteHeader {
		rw.writeHeaderLocked(http.StatusOK)
	}
	if f, ok := rw.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Written reports whether the status line has been sent.
func (rw *ResponseWriter) Written() bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.wroteHeader
}

// finish closes the writer for the function. If nothing was written yet and
// status is non-zero, the host's own answer (status, body) is written and
// finish returns true; it returns false when the function had already
// started the response.
func (rw *ResponseWriter) finish(status int, body string) (answered bool) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.closed {
		return false
	}
	if status != 0 && !rw.wroteHeader {
		rw.header = make(http.Header)
		rw.header.Set("Content-Type", "text/plain; charset=utf-8")
		if !rw.noCORS {
			rw.header.Set("Access-Control-Allow-Origin", "*")
		}
		rw.writeHeaderLocked(status)
		n, _ := rw.w.Write([]byte(body))
		rw.bytes += int64(n)
		answered = true
	}
	rw.closed = true
	return answered
}

func (rw *ResponseWriter) result() (status int, bytes int64) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if !rw.wroteHeader {
		return http.StatusOK, rw.bytes
	}
	return rw.status, rw.bytes
}
