package gateway

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/kubeless/kubeless/pkg/contract"
)

// failover is the proxy's RoundTripper: it picks the function's instances
// round-robin and retries once on the next instance when connecting fails
// before any of the request body was sent.
type failover struct {
	base http.RoundTripper
	log  *slog.Logger
}

// RoundTrip sends req to an instance of the function named by its context.
func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	c, _ := req.Context().Value(ctxKey{}).(*call)
	if c == nil || len(c.fn.backends) == 0 {
		return nil, errors.New("gateway: request without a function route")
	}
	bs := c.fn.backends
	start := int((c.fn.next.Add(1) - 1) % uint32(len(bs)))
	attempts := min(2, len(bs))

	var body *heldBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &heldBody{rc: req.Body}
		defer body.release()
	}
	var err error
	for i := range attempts {
		b := bs[(start+i)%len(bs)]
		out := new(http.Request)
		*out = *req
		u := *req.URL
		u.Scheme, u.Host = b.scheme, b.host
		out.URL = &u
		// The instance's token, set per instance; a token sent by the
		// client is not passed on.
		out.Header = req.Header.Clone()
		if out.Header == nil {
			out.Header = http.Header{}
		}
		out.Header.Del(contract.HeaderInstanceToken)
		if b.token != "" {
			out.Header.Set(contract.HeaderInstanceToken, b.token)
		}
		if body != nil {
			out.Body = body
		}
		var resp *http.Response
		resp, err = f.base.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		if i+1 == attempts || !isDialError(err) || req.Context().Err() != nil || (body != nil && body.used()) {
			break
		}
		f.log.Info("instance refused the connection, trying the next one",
			"function", c.fn.name, "namespace", c.fn.ns, "instance", b.host, "error", err)
	}
	return nil, err
}

// isDialError reports whether err happened while connecting, so that
// nothing of the request reached the instance.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// heldBody lets a request body be offered to a second instance: it counts
// what was read and defers Close until the round trip is settled, because a
// transport closes the body when connecting fails.
type heldBody struct {
	rc io.ReadCloser

	mu       sync.Mutex
	n        int64
	settled  bool
	closeReq bool
	closed   bool
}

func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.mu.Lock()
	b.n += int64(n)
	b.mu.Unlock()
	return n, err
}

// Close closes the body once the round trip is settled or something was
// read; before that it only records the request.
func (b *heldBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.settled && b.n == 0 {
		b.closeReq = true
		return nil
	}
	return b.closeLocked()
}

func (b *heldBody) closeLocked() error {
	if b.closed {
		return nil
	}
	b.closed = true
	return b.rc.Close()
}

// used reports whether any of the body was read.
func (b *heldBody) used() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n > 0
}

// release settles the round trip: from now on Close closes, and a Close
// requested earlier happens now.
func (b *heldBody) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settled = true
	if b.closeReq {
		b.closeLocked()
	}
}
