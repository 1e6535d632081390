// Command bare is the benchmarks' reference: the smallest Go net/http
// server answering hello world (and echoing POST bodies), the ceiling of
// any Go host on this machine. With KUBELESS_WORKER_SOCKET set it listens
// there instead and speaks the http worker mode (docs/worker-protocol.md);
// with KUBELESS_LISTEN_FD set it serves the TCP socket its parent bound and
// handed over at that descriptor.
package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/kubeless/kubeless/pkg/contract"
)

var control *os.File

func main() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
			io.Copy(w, r.Body)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello world")
	})
	if sock := os.Getenv(contract.EnvWorkerSocket); sock != "" {
		ln, err := net.Listen("unix", sock)
		if err != nil {
			panic(err)
		}
		// control stays referenced: a collected *os.File would close fd 4,
		// which the host reads as the worker's death.
		control = os.NewFile(4, "control")
		control.Write([]byte{'R', 0, 0, 0, 0, 0, 0, 0, 0})
		go func() { io.Copy(io.Discard, os.NewFile(3, "in")); os.Exit(0) }()
		http.Serve(ln, h)
		return
	}
	if fd := os.Getenv(contract.EnvListenFD); fd != "" {
		n, err := strconv.Atoi(fd)
		if err != nil {
			panic("invalid " + contract.EnvListenFD + " " + fd)
		}
		ln, err := net.FileListener(os.NewFile(uintptr(n), "listener"))
		if err != nil {
			panic(err)
		}
		http.Serve(ln, h)
		return
	}
	http.ListenAndServe("127.0.0.1:"+os.Getenv(contract.EnvFuncPort), h)
}
