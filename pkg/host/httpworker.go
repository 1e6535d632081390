package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The http transport (docs/worker-protocol.md, mode http): the worker
// serves HTTP/1.1 on a Unix socket and the host relays each call to it.

// copyBufs hold the buffers that relay response bodies.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// upConn is a kept-alive HTTP/1.1 connection to an http-mode worker.
type upConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// setupProxy prepares the connection pool of an http-mode worker.
func (w *worker) setupProxy() {
	w.idle = make(chan *upConn, 512)
}

func (w *worker) dial(ctx context.Context) (*upConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", w.sock)
	if err != nil {
		return nil, err
	}
	return &upConn{c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}, nil
}

func (w *worker) putConn(uc *upConn) {
	select {
	case w.idle <- uc:
	default:
		uc.c.Close()
	}
}

// hopHeaders are not forwarded (RFC 9110 §7.6.1).
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// invokeHTTP forwards the invocation to an http-mode worker over a
// kept-alive Unix-socket connection, synchronously in the caller's
// goroutine: far cheaper than a general reverse proxy.
func (w *worker) invokeHTTP(ctx context.Context, call *Call) error {
	for attempt := 0; ; attempt++ {
		var uc *upConn
		reused := false
		select {
		case uc = <-w.idle:
			reused = true
		default:
			var err error
			if uc, err = w.dial(ctx); err != nil {
				w.release(0)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("worker %d: %w", w.id, err)
			}
		}
		status, sent, err := w.roundTrip(ctx, uc, call)
		if err == nil {
			w.release(0)
			if status >= 500 {
				return &FunctionError{Message: http.StatusText(status), Answered: true}
			}
			return nil
		}
		uc.c.Close()
		if ctx.Err() != nil {
			w.abandon(0)
			return ctx.Err()
		}
		// A kept-alive connection the worker closed while idle: try once more
		// on a fresh one, if nothing of the response was seen.
		if reused && !sent && attempt == 0 {
			continue
		}
		w.release(0)
		if errors.Is(err, ErrAbandoned) {
			return err
		}
		return fmt.Errorf("worker %d: %w", w.id, err)
	}
}

// roundTrip writes the request and relays the response. sent reports
// whether any response byte was received.
func (w *worker) roundTrip(ctx context.Context, uc *upConn, call *Call) (status int, sent bool, err error) {
	stop := context.AfterFunc(ctx, func() { uc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	r := call.Request
	bw := uc.bw
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	for k, vs := range r.Header {
		if hopHeaders[k] || k == "Content-Length" || strings.HasPrefix(k, "Event-") || k == "X-Forwarded-For" {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	for _, kv := range [...][2]string{
		{"Event-Id", call.Event.ID}, {"Event-Type", call.Event.Type},
		{"Event-Time", call.Event.Time}, {"Event-Namespace", call.Event.Namespace},
	} {
		bw.WriteString(kv[0])
		bw.WriteString(": ")
		bw.WriteString(kv[1])
		bw.WriteString("\r\n")
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		bw.WriteString("X-Forwarded-For: ")
		if prior := r.Header.Get("X-Forwarded-For"); prior != "" {
			bw.WriteString(prior)
			bw.WriteString(", ")
		}
		bw.WriteString(host)
		bw.WriteString("\r\n")
	}
	bw.WriteString("Content-Length: ")
	bw.WriteString(strconv.Itoa(len(call.Body)))
	bw.WriteString("\r\n\r\n")
	bw.Write(call.Body)
	if err := bw.Flush(); err != nil {
		return 0, false, err
	}
	if _, err := uc.br.Peek(1); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(uc.br, r)
	if err != nil {
		return 0, true, err
	}
	rw := call.Writer
	h := rw.Header()
	for k, vs := range resp.Header {
		if hopHeaders[k] {
			continue
		}
		h[k] = append(h[k], vs...)
	}
	if resp.ContentLength >= 0 && h.Get("Content-Length") == "" && r.Method != http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	rw.WriteHeader(resp.StatusCode)
	streaming := resp.ContentLength < 0
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := rw.Write(buf[:n]); werr != nil {
				resp.Body.Close()
				return 0, true, werr
			}
			if streaming {
				rw.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, true, rerr
		}
	}
	resp.Body.Close()
	if resp.Close {
		uc.c.Close()
	} else {
		w.putConn(uc)
	}
	return resp.StatusCode, true, nil
}
