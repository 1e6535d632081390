package host

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// appendInvokeFrame appends a whole I frame (docs/worker-protocol.md) for
// call: the request head is encoded by hand, which is several times faster
// than encoding/json on this hot path.
func appendInvokeFrame(b []byte, id uint32, call *Call) []byte {
	start := len(b)
	b = appendFrameHeader(b, frameInvoke, id, 0)
	b = append(b, 0, 0, 0, 0) // head length
	headStart := len(b)
	r := call.Request
	b = append(b, `{"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.URL.Path)
	b = append(b, `,"host":`...)
	b = appendJSONString(b, r.Host)
	b = append(b, `,"query":`...)
	b = appendJSONString(b, r.URL.RawQuery)
	b = append(b, `,"remote":`...)
	b = appendJSONString(b, r.RemoteAddr)
	b = append(b, `,"json":`...)
	b = strconv.AppendBool(b, call.JSON)
	b = append(b, `,"event":{"event-id":`...)
	b = appendJSONString(b, call.Event.ID)
	b = append(b, `,"event-type":`...)
	b = appendJSONString(b, call.Event.Type)
	b = append(b, `,"event-time":`...)
	b = appendJSONString(b, call.Event.Time)
	b = append(b, `,"event-namespace":`...)
	b = appendJSONString(b, call.Event.Namespace)
	b = append(b, `},"headers":[`...)
	first := true
	for k, vs := range r.Header {
		for _, v := range vs {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '[')
			b = appendJSONString(b, k)
			b = append(b, ',')
			b = appendJSONString(b, v)
			b = append(b, ']')
		}
	}
	b = append(b, "]}"...)
	headLen := len(b) - headStart
	b = append(b, call.Body...)
	binary.BigEndian.PutUint32(b[start+5:], uint32(len(b)-start-frameHeaderLen))
	binary.BigEndian.PutUint32(b[headStart-4:], uint32(headLen))
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
