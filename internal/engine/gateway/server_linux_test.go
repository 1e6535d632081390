package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A flood of idle connections to the gateway must not use up the
// descriptors the daemon's API socket needs: with the file limit lowered
// to 1000, 700 idle connections (700 descriptors on the client side of
// this same process) leave the API answering because the gateway holds at
// most MaxConns of them. Without the cap the gateway would accept all 700
// and the process would hit its limit.
func TestServerConnectionCapKeepsAPISocketAlive(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = 1000
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })

	// The "API socket": its own listener and accept loop.
	sock := filepath.Join(t.TempDir(), "api.sock")
	apil, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	api := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "functions") })}
	go api.Serve(apil)
	t.Cleanup(func() { api.Close() })

	gwl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(http.NotFoundHandler(), ServerOptions{MaxConns: 100})
	go srv.Serve(gwl)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })

	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range 700 {
		c, err := net.Dial("tcp", gwl.Addr().String())
		if err != nil {
			t.Fatalf("connection %d to the gateway: %v", i, err)
		}
		conns = append(conns, c)
	}

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Get("http://api/v1/functions")
	if err != nil {
		t.Fatalf("API socket with 700 idle gateway connections: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "functions" {
		t.Fatalf("API answered %q", body)
	}
	// The gateway itself serves again once the flood is gone.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	c, err := net.Dial("tcp", gwl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 404 ") {
		t.Fatalf("gateway after the flood: %q, %v", line, err)
	}
}

// An idle kept-alive connection and one that never finishes its headers
// are closed by the gateway.
func TestServerClosesIdleAndSlowHeaderConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ServerOptions{ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })

	tests := []struct{ name, send string }{
		{"idle after a request", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"headers never finished", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tt.send)
			// The server closes the connection: reading ends with EOF (after
			// the answer, if any) well before this deadline.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.ReadAll(c)
			if err != nil {
				t.Fatalf("connection not closed by the gateway: %v", err)
			}
		})
	}
}

func TestMaxConnsFor(t *testing.T) {
	tests := []struct {
		limit uint64
		want  int
	}{{1024, 512}, {100, 64}, {1 << 20, maxConnsCeiling}, {20000, 10000}}
	for _, tt := range tests {
		if got := maxConnsFor(tt.limit); got != tt.want {
			t.Errorf("maxConnsFor(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
}

func TestExposureWarning(t *testing.T) {
	tests := []struct {
		addr string
		warn bool
	}{{"127.0.0.1:8080", false}, {"[::1]:8080", false}, {"0.0.0.0:8080", true}, {"[::]:8080", true}, {"192.0.2.7:8080", true}}
	for _, tt := range tests {
		a, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := ExposureWarning(a); (got != "") != tt.warn || (tt.warn && !strings.Contains(got, "KUBELESS_GATEWAY")) {
			t.Errorf("ExposureWarning(%s) = %q, want a warning: %v", tt.addr, got, tt.warn)
		}
	}
}
