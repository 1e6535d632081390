package host

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// The frames transport (docs/worker-protocol.md): the host and a worker
// exchange length-prefixed frames over two pipes (fd 3 and fd 4).

// Frame types of docs/worker-protocol.md.
const (
	frameInvoke   = 'I'
	frameCancel   = 'C'
	frameReady    = 'R'
	frameFatal    = 'F'
	frameResponse = 'S'
	frameData     = 'D'
	frameEnd      = 'E'
	frameError    = 'X'
	// frameLoopFree: a worker that announced "event_loop" in its R frame
	// reports that its event loop ran free after it had started the number
	// of calls in the payload (4 bytes, big-endian).
	frameLoopFree = 'L'
)

const frameHeaderLen = 9

// maxFrame bounds a frame's payload (a response body larger than this must
// be streamed in chunks).
const maxFrame = 1 << 30

type frame struct {
	typ     byte
	id      uint32
	payload []byte
}

// readFrame reads one frame. The payload is a fresh slice owned by the caller.
func readFrame(r *bufio.Reader) (frame, error) {
	var h [frameHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(h[5:9])
	if n > maxFrame {
		return frame{}, fmt.Errorf("worker sent a frame of %d bytes (type %q): protocol error", n, h[0])
	}
	f := frame{typ: h[0], id: binary.BigEndian.Uint32(h[1:5])}
	if n > 0 {
		f.payload = make([]byte, n)
		if _, err := io.ReadFull(r, f.payload); err != nil {
			return frame{}, err
		}
	}
	return f, nil
}

// appendFrameHeader appends a frame header for a payload of n bytes.
func appendFrameHeader(b []byte, typ byte, id uint32, n int) []byte {
	b = append(b, typ)
	b = binary.BigEndian.AppendUint32(b, id)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// splitHead splits an I or S payload into its JSON head and its body.
func splitHead(p []byte) (head, body []byte, err error) {
	if len(p) < 4 {
		return nil, nil, fmt.Errorf("frame payload of %d bytes has no head length", len(p))
	}
	n := binary.BigEndian.Uint32(p[:4])
	if uint64(n) > uint64(len(p)-4) {
		return nil, nil, fmt.Errorf("frame head length %d exceeds payload of %d bytes", n, len(p)-4)
	}
	return p[4 : 4+n], p[4+n:], nil
}

type responseHead struct {
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers"`
	Stream  bool        `json:"stream"`
}

// headCache remembers decoded response heads: workers answer most calls
// with a few identical heads (200, text/plain), so decoding JSON once per
// distinct head saves a decode per invocation. Cached heads are read-only.
type headCache struct {
	mu sync.RWMutex
	m  map[string]*responseHead
}

const headCacheSize = 256

func (c *headCache) parse(b []byte) (*responseHead, error) {
	c.mu.RLock()
	rh := c.m[string(b)]
	c.mu.RUnlock()
	if rh != nil {
		return rh, nil
	}
	rh = new(responseHead)
	if err := json.Unmarshal(b, rh); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= headCacheSize {
		c.m = make(map[string]*responseHead)
	}
	c.m[string(b)] = rh
	c.mu.Unlock()
	return rh, nil
}

func (w *worker) invokeFrames(ctx context.Context, call *Call) error {
	pd := &pending{ch: make(chan frame, 16), done: make(chan struct{})}
	w.mu.Lock()
	w.seq++
	if w.seq == 0 {
		w.seq = 1
	}
	id := w.seq
	w.calls[id] = pd
	w.mu.Unlock()

	if err := w.write(appendInvokeFrame(make([]byte, 0, 512+len(call.Body)), id, call)); err != nil {
		w.release(id)
		return fmt.Errorf("worker %d is gone: %w", w.id, err)
	}
	rw := call.Writer
	for {
		select {
		case f := <-pd.ch:
			switch f.typ {
			case frameResponse:
				hb, body, err := splitHead(f.payload)
				if err != nil {
					w.release(id)
					return fmt.Errorf("worker %d: %w", w.id, err)
				}
				rh, err := w.pool.heads.parse(hb)
				if err != nil {
					w.release(id)
					return fmt.Errorf("worker %d sent a malformed response head: %w", w.id, err)
				}
				h := rw.Header()
				for _, kv := range rh.Headers {
					h.Add(kv[0], kv[1])
				}
				status := rh.Status
				if status == 0 {
					status = http.StatusOK
				}
				if status < 200 || status > 599 {
					w.release(id)
					return fmt.Errorf("worker %d answered status %d: a status must be 200-599", w.id, status)
				}
				rw.WriteHeader(status)
				if len(body) > 0 {
					rw.Write(body) //nolint:errcheck // the caller may be gone
				}
				if !rh.Stream {
					w.release(id)
					return nil
				}
				rw.Flush()
			case frameData:
				rw.Write(f.payload) //nolint:errcheck
				rw.Flush()
			case frameEnd:
				w.release(id)
				if len(f.payload) > 0 {
					return &FunctionError{Message: string(f.payload)}
				}
				return nil
			case frameError:
				w.release(id)
				return &FunctionError{Message: string(f.payload)}
			}
		case <-w.dead:
			w.release(id)
			return fmt.Errorf("worker %d exited while running the function (%s)", w.id, w.exitState())
		case <-ctx.Done():
			w.abandon(id)
			return ctx.Err()
		}
	}
}

// send writes one frame with a JSON head and a body in a single write.
func (w *worker) send(typ byte, id uint32, head, body []byte) error {
	n := len(body)
	if head != nil {
		n += 4 + len(head)
	}
	buf := make([]byte, 0, frameHeaderLen+n)
	buf = appendFrameHeader(buf, typ, id, n)
	if head != nil {
		buf = append(buf, byte(len(head)>>24), byte(len(head)>>16), byte(len(head)>>8), byte(len(head)))
		buf = append(buf, head...)
	}
	buf = append(buf, body...)
	return w.write(buf)
}

// write sends whole frames to the worker. Frames of concurrent callers are
// combined: a caller that finds no write in progress writes everything
// queued meanwhile, so a busy worker gets many frames per syscall.
func (w *worker) write(frame []byte) error {
	w.wmu.Lock()
	if w.werr != nil {
		err := w.werr
		w.wmu.Unlock()
		return err
	}
	w.wq = append(w.wq, frame...)
	if w.writing {
		w.wmu.Unlock()
		return nil
	}
	w.writing = true
	for len(w.wq) > 0 {
		buf := w.wq
		w.wq = w.spare[:0]
		w.wmu.Unlock()
		_, err := w.toW.Write(buf)
		w.wmu.Lock()
		w.spare = buf
		if err != nil {
			w.werr = err
			w.wq = nil
		}
	}
	w.writing = false
	err := w.werr
	w.wmu.Unlock()
	return err
}
