package host

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// accessLog writes one line per request (docs/runtime-contract.md §7.1). Lines
// are gathered for at most logFlushDelay and written whole, in one write, so
// that a busy instance makes one syscall per batch rather than per request,
// and lines never interleave with each other or with what the function
// prints.
//
// The text form keeps the Apache-style head that scripts of the original
// Kubeless grep for ("GET / HTTP/1.1" 200 11 ""), followed by the duration in
// seconds and the event id:
//
//	127.0.0.1 - - [27/Nov/2026:09:38:15 +0000] "GET / HTTP/1.1" 200 11 "" "curl/7.88.1" 0.000412 event-id=5f0c…
type accessLog struct {
	mu      sync.Mutex
	w       io.Writer
	json    bool
	buf     []byte // pending lines
	timer   *time.Timer
	pending bool
	date    []byte // the last formatted date, of second dateSec
	dateSec int64
}

// logFlushDelay bounds how long a request-log line waits to be written.
const logFlushDelay = 20 * time.Millisecond

// logFlushSize makes a batch be written at once when it grows this large.
const logFlushSize = 32 << 10

// flush writes the pending lines.
func (l *accessLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
}

func (l *accessLog) flushLocked() {
	l.pending = false
	if len(l.buf) > 0 {
		l.w.Write(l.buf) //nolint:errcheck // a failed log write must not fail requests
		l.buf = l.buf[:0]
	}
}

type logEntry struct {
	Time      time.Time
	Remote    string
	Method    string
	URI       string
	Proto     string
	Status    int
	Bytes     int64
	Referer   string
	UserAgent string
	Duration  time.Duration
	EventID   string
}

func (l *accessLog) log(e logEntry) {
	if strings.HasPrefix(e.UserAgent, "kube-probe/") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf
	if l.json {
		b = append(b, `{"time":`...)
		b = strconv.AppendQuote(b, e.Time.UTC().Format(time.RFC3339Nano))
		b = appendJSONField(b, "remote", e.Remote)
		b = appendJSONField(b, "method", e.Method)
		b = appendJSONField(b, "path", e.URI)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, e.Bytes, 10)
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendFloat(b, float64(e.Duration)/float64(time.Millisecond), 'f', 3, 64)
		b = appendJSONField(b, "event_id", e.EventID)
		b = appendJSONField(b, "user_agent", e.UserAgent)
		b = append(b, "}\n"...)
	} else {
		host := e.Remote
		if i := strings.LastIndexByte(host, ':'); i > 0 {
			host = host[:i]
		}
		b = append(b, host...)
		b = append(b, " - - ["...)
		b = l.appendDate(b, e.Time)
		b = append(b, "] \""...)
		b = append(b, e.Method...)
		b = append(b, ' ')
		b = appendSafe(b, e.URI)
		b = append(b, ' ')
		b = append(b, e.Proto...)
		b = append(b, "\" "...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, e.Bytes, 10)
		b = append(b, " \""...)
		b = appendSafe(b, e.Referer)
		b = append(b, "\" \""...)
		b = appendSafe(b, e.UserAgent)
		b = append(b, "\" "...)
		b = strconv.AppendFloat(b, e.Duration.Seconds(), 'f', 6, 64)
		b = append(b, " event-id="...)
		b = appendSafe(b, e.EventID)
		b = append(b, '\n')
	}
	l.buf = b
	if len(b) >= logFlushSize {
		l.flushLocked()
		return
	}
	if !l.pending {
		l.pending = true
		if l.timer == nil {
			l.timer = time.AfterFunc(logFlushDelay, l.flush)
		} else {
			l.timer.Reset(logFlushDelay)
		}
	}
}

// appendDate appends t in the log's date format, formatted once per second.
func (l *accessLog) appendDate(b []byte, t time.Time) []byte {
	if sec := t.Unix(); sec != l.dateSec || l.date == nil {
		l.date = t.UTC().AppendFormat(l.date[:0], "02/Jan/2006:15:04:05 -0700")
		l.dateSec = sec
	}
	return append(b, l.date...)
}

// appendJSONField appends ,"key":"value" with value JSON-escaped.
func appendJSONField(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	v, _ := json.Marshal(value)
	return append(b, v...)
}

// appendSafe appends s with quotes, control characters and backslashes
// escaped, so one request is always one line.
func appendSafe(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}
