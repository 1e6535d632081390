package host

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// startHost serves s as Run does: the host's http.Server settings and its
// connection cap, on a free port of 127.0.0.1.
func startHost(t *testing.T, cfg Config, inv Invoker) (*Server, string) {
	t.Helper()
	s := NewServer(cfg, inv, prometheus.NewRegistry(), io.Discard, discard)
	s.SetReady()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(s, discard)
	go srv.Serve(limitListener(ln, cfg.MaxConns)) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return s, ln.Addr().String()
}

func echoInvoker() *fakeInvoker {
	return &fakeInvoker{fn: func(ctx context.Context, c *Call) error {
		c.Writer.Write(c.Body) //nolint:errcheck
		return nil
	}}
}

// openBodies opens n connections that each send a request head declaring
// a body of declared bytes, then sent bytes of it, and hold. It returns
// once the host has read those bytes of every body.
func openBodies(t *testing.T, s *Server, addr string, n, declared, sent int) {
	t.Helper()
	got := make(chan int, n*sent)
	hook := func(k int) { got <- k }
	s.onBodyRead.Store(&hook)
	defer s.onBodyRead.Store(nil)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", declared, strings.Repeat("x", sent))
	}
	for total := 0; total < n*sent; {
		select {
		case k := <-got:
			total += k
		case <-time.After(10 * time.Second):
			t.Fatalf("the host read %d of the %d body bytes sent after 10 s", total, n*sent)
		}
	}
}

// Sixteen clients sending their bodies slowly hold connections, not the
// four invocation slots: no slot is taken while the bodies are read, and
// another caller is answered long before the 30 s by which a taken slot
// would have freed (the client's 10 s timeout is only the failure bound).
func TestSlowBodiesDoNotDelayOtherCallers(t *testing.T) {
	cfg := testConfig("FUNC_CONCURRENCY=4", "FUNC_TIMEOUT=30")
	s, addr := startHost(t, cfg, echoInvoker())
	openBodies(t, s, addr, 16, 1000, 1)
	if n := len(s.slots); n != 0 {
		t.Fatalf("%d invocation slots taken by 16 bodies still being sent, want 0", n)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 3; i++ {
		start := time.Now()
		resp, err := client.Post("http://"+addr+"/", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatalf("call beside 16 slow bodies: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "hello" {
			t.Errorf("call beside 16 slow bodies: %d %q, want 200 \"hello\"", resp.StatusCode, b)
		}
		t.Logf("call beside 16 slow bodies answered in %s", time.Since(start))
	}
}

// A body that does not arrive within the call's time limit is answered 408.
func TestSlowBodyTimesOut(t *testing.T) {
	cfg := testConfig("FUNC_TIMEOUT=0.3")
	_, addr := startHost(t, cfg, echoInvoker())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 408 {
		t.Errorf("slow body: %d, want 408", resp.StatusCode)
	}
}

// 300 clients each declaring a 100 MiB body and sending one byte cost the
// host little memory: buffers grow with the bytes that arrive.
func TestLyingContentLengthCostsLittleMemory(t *testing.T) {
	const conns, bound = 300, 64 << 20 // under 220 KiB a connection
	cfg := testConfig("FUNC_TIMEOUT=30")
	s, addr := startHost(t, cfg, echoInvoker())
	before := heapInUse()
	rssBefore := rssBytes(t)
	openBodies(t, s, addr, conns, 100<<20, 1)
	after := heapInUse()
	rssAfter := rssBytes(t)
	t.Logf("%d connections declaring 100 MiB: heap in use %d → %d KiB, RSS %d → %d KiB",
		conns, before>>10, after>>10, rssBefore>>10, rssAfter>>10)
	if grew := int64(after) - int64(before); grew > bound {
		t.Errorf("heap in use grew by %d MiB for %d connections, want under %d MiB", grew>>20, conns, bound>>20)
	}
	if grew := rssAfter - rssBefore; grew > bound {
		t.Errorf("RSS grew by %d MiB for %d connections, want under %d MiB", grew>>20, conns, bound>>20)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// rssBytes is the process's resident set size, from /proc/self/status.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("read the process's memory use: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// A malformed chunked body is the client's mistake: 400.
func TestMalformedChunkedBodyIs400(t *testing.T) {
	called := false
	inv := &fakeInvoker{fn: func(ctx context.Context, c *Call) error { called = true; return nil }}
	_, addr := startHost(t, testConfig(), inv)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "cannot read request body") {
		t.Errorf("malformed chunked body: %d %q, want 400", resp.StatusCode, b)
	}
	if called {
		t.Error("the function was called for a malformed body")
	}
}

// The host accepts at most KUBELESS_MAX_CONNECTIONS connections at once.
func TestConnectionCap(t *testing.T) {
	cfg := testConfig("KUBELESS_MAX_CONNECTIONS=2", "FUNC_TIMEOUT=5")
	s, addr := startHost(t, cfg, echoInvoker())
	openBodies(t, s, addr, 2, 10, 1)
	c, err := net.Dial("tcp", addr) // waits in the backlog
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a third connection was served with KUBELESS_MAX_CONNECTIONS=2")
	}
}
