package host

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

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
