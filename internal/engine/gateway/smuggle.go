package gateway

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// refuseSmuggling answers 400 and closes the connection when the request
// declared both Content-Length and Transfer-Encoding: a proxy in front of
// the gateway could have framed it differently (request smuggling), so
// nothing behind it on the connection is answered either. net/http drops
// Content-Length from such a request before the handler sees it; the
// listener wrapper (smuggleListener) marks the request first.
func refuseSmuggling(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := r.Header[smuggleMark]; !ok {
		return false
	}
	w.Header().Set("Connection", "close")
	textError(w, http.StatusBadRequest, "the request has both Content-Length and Transfer-Encoding: send only one of them")
	return true
}

// smuggleMark is the header the listener wrapper puts in place of the
// Content-Length of a request that also has a Transfer-Encoding.
const smuggleMark = "X-Kubeless-Refused-Content-Length"

// smuggleListener wraps the gateway's listener: on each connection it
// follows the HTTP/1.1 message framing (heads, Content-Length bodies,
// chunked bodies) and, in a head with both Content-Length and
// Transfer-Encoding, renames Content-Length to smuggleMark. Whatever it
// cannot follow (an upgrade, HTTP/2, a malformed message) it passes on
// unchanged from there on: net/http rejects what is malformed.
type smuggleListener struct{ net.Listener }

func (l smuggleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &smuggleConn{Conn: c}, nil
}

const (
	maxFramedHead = DefaultMaxHeaderBytes + 4096 // past it, net/http answers 431
	maxChunkLine  = 4096
)

type frameState int

const (
	stHead        frameState = iota // collecting a request head
	stBody                          // n bytes of a Content-Length body
	stChunkLine                     // collecting a chunk-size line
	stChunkData                     // n bytes of chunk data, then its CRLF
	stTrailer                       // collecting trailer lines up to an empty one
	stPassthrough                   // no more framing
)

type smuggleConn struct {
	net.Conn
	state   frameState
	n       int64        // bytes left in stBody / stChunkData (data + CRLF)
	pending []byte       // the head or line being collected
	out     bytes.Buffer // processed bytes not yet read
	raw     [16 << 10]byte
	err     error // the connection's read error, once out is drained
}

func (c *smuggleConn) Read(p []byte) (int, error) {
	if c.out.Len() == 0 && c.err == nil && len(p) > 0 && (c.state == stPassthrough || c.state == stBody) {
		// A body or a connection no longer framed: no copy.
		if c.state == stBody && int64(len(p)) > c.n {
			p = p[:c.n]
		}
		n, err := c.Conn.Read(p)
		if c.state == stBody {
			if c.n -= int64(n); c.n == 0 {
				c.state = stHead
			}
		}
		return n, err
	}
	for c.out.Len() == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.Conn.Read(c.raw[:])
		c.feed(c.raw[:n])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() && c.out.Len() == 0 {
				return 0, err // a deadline: the connection goes on
			}
			// Whatever was being collected goes on as it is.
			c.out.Write(c.pending)
			c.pending = nil
			if c.out.Len() == 0 {
				return 0, err
			}
			c.err = err
		}
	}
	return c.out.Read(p)
}

// feed runs the framing over b and queues the bytes in out.
func (c *smuggleConn) feed(b []byte) {
	for len(b) > 0 {
		switch c.state {
		case stPassthrough:
			c.out.Write(b)
			return
		case stBody, stChunkData:
			k := int64(len(b))
			if k > c.n {
				k = c.n
			}
			c.out.Write(b[:k])
			b = b[k:]
			c.n -= k
			if c.n == 0 {
				if c.state == stBody {
					c.state = stHead
				} else {
					c.state = stChunkLine
				}
			}
		case stHead:
			b = c.collect(b, []byte("\n\r\n"), []byte("\n\n"), maxFramedHead, c.head)
		case stChunkLine:
			b = c.collect(b, []byte("\n"), nil, maxChunkLine, c.chunkLine)
		case stTrailer:
			b = c.collect(b, []byte("\n"), nil, maxFramedHead, c.trailerLine)
		}
	}
}

// collect appends b to pending until it ends with end (or end2); then done
// gets the whole piece. It returns what is left of b.
func (c *smuggleConn) collect(b, end, end2 []byte, limit int, done func([]byte)) []byte {
	for i, ch := range b {
		c.pending = append(c.pending, ch)
		if ch != '\n' {
			continue
		}
		if bytes.HasSuffix(c.pending, end) || (end2 != nil && bytes.HasSuffix(c.pending, end2)) {
			if c.state == stHead && strings.TrimSpace(string(c.pending)) == "" {
				continue // empty lines before a request line are allowed
			}
			piece := c.pending
			c.pending = nil
			done(piece)
			return b[i+1:]
		}
	}
	if len(c.pending) > limit {
		c.out.Write(c.pending)
		c.pending = nil
		c.state = stPassthrough
	}
	return nil
}

// head handles a complete request head.
func (c *smuggleConn) head(h []byte) {
	lines := bytes.SplitAfter(h, []byte("\n"))
	var reqLine string
	var clLines []int
	var cl, te string
	upgrade := false
	for i, l := range lines {
		s := strings.TrimRight(string(l), "\r\n")
		if reqLine == "" {
			if s != "" {
				reqLine = s
			}
			continue
		}
		name, value, ok := strings.Cut(s, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-length":
			clLines = append(clLines, i)
			cl = value
		case "transfer-encoding":
			te = value
		case "upgrade":
			upgrade = true
		}
	}
	method, _, _ := strings.Cut(reqLine, " ")
	switch {
	case len(clLines) > 0 && te != "":
		for _, i := range clLines {
			_, value, _ := bytes.Cut(lines[i], []byte(":"))
			lines[i] = append([]byte(smuggleMark+":"), value...)
		}
		c.out.Write(bytes.Join(lines, nil))
		c.state = stPassthrough // the connection closes after the 400
		return
	case upgrade || method == "CONNECT" || strings.HasPrefix(reqLine, "PRI "):
		c.state = stPassthrough
	case te != "":
		parts := strings.Split(te, ",")
		if strings.EqualFold(strings.TrimSpace(parts[len(parts)-1]), "chunked") {
			c.state = stChunkLine
		} else {
			c.state = stPassthrough
		}
	case cl != "":
		n, err := strconv.ParseInt(cl, 10, 64)
		switch {
		case err != nil || n < 0:
			c.state = stPassthrough
		case n == 0:
			c.state = stHead
		default:
			c.state, c.n = stBody, n
		}
	default:
		c.state = stHead
	}
	c.out.Write(h)
}

// chunkLine handles a chunk-size line.
func (c *smuggleConn) chunkLine(l []byte) {
	c.out.Write(l)
	s := strings.TrimRight(string(l), "\r\n")
	s, _, _ = strings.Cut(s, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(s), 16, 64)
	switch {
	case err != nil || n < 0:
		c.state = stPassthrough
	case n == 0:
		c.state = stTrailer
	default:
		c.state, c.n = stChunkData, n+2 // the data and its CRLF
	}
}

// trailerLine handles a line after the last chunk.
func (c *smuggleConn) trailerLine(l []byte) {
	c.out.Write(l)
	if strings.TrimRight(string(l), "\r\n") == "" {
		c.state = stHead
	}
}
