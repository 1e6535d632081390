// Command frameworker is the fastest possible frames-mode worker
// (docs/worker-protocol.md): it answers hello world, or echoes a POST body,
// with no function behind it. Benchmarks put it behind the host to measure
// what the host hop costs.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
)

func main() {
	in := bufio.NewReaderSize(os.NewFile(3, "in"), 64<<10)
	out := bufio.NewWriterSize(os.NewFile(4, "out"), 64<<10)
	out.Write([]byte{'R', 0, 0, 0, 0, 0, 0, 0, 0})
	out.Flush()
	text := []byte(`{"status":200,"headers":[["Content-Type","text/plain; charset=utf-8"]]}`)
	var hdr [9]byte
	for {
		if _, err := io.ReadFull(in, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[5:])
		p := make([]byte, n)
		if _, err := io.ReadFull(in, p); err != nil {
			return
		}
		if hdr[0] != 'I' {
			continue
		}
		hl := binary.BigEndian.Uint32(p[:4])
		body := p[4+hl:]
		head := text
		if len(body) == 0 {
			body = []byte("hello world")
		} else {
			var rh struct {
				Headers [][2]string `json:"headers"`
			}
			json.Unmarshal(p[4:4+hl], &rh)
			ct := "application/octet-stream"
			for _, kv := range rh.Headers {
				if kv[0] == "Content-Type" {
					ct = kv[1]
				}
			}
			head, _ = json.Marshal(map[string]any{"status": 200, "headers": [][2]string{{"Content-Type", ct}}})
		}
		out.WriteByte('S')
		out.Write(hdr[1:5])
		binary.Write(out, binary.BigEndian, uint32(4+len(head)+len(body)))
		binary.Write(out, binary.BigEndian, uint32(len(head)))
		out.Write(head)
		out.Write(body)
		if in.Buffered() == 0 {
			out.Flush()
		}
	}
}
