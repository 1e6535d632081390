package host

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMain lets the test binary serve as a language worker (nomad testtask
// style): with KUBELESS_TEST_WORKER set it speaks the frames protocol.
func TestMain(m *testing.M) {
	if mode := os.Getenv("KUBELESS_TEST_WORKER"); mode != "" {
		testWorker(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testWorker answers by path: /sleep/<ms> sleeps, /busy never answers,
// /crash exits, /pid answers the worker's pid, /error fails.
func testWorker(mode string) {
	in := bufio.NewReader(os.NewFile(3, "in"))
	out := os.NewFile(4, "out")
	var mu sync.Mutex
	send := func(typ byte, id uint32, payload []byte) {
		mu.Lock()
		defer mu.Unlock()
		out.Write(append(appendFrameHeader(nil, typ, id, len(payload)), payload...))
	}
	if mode == "fatal" {
		send(frameFatal, 0, []byte(`cannot load function "hello.foo": hello.py:3: SyntaxError: invalid syntax`))
		os.Exit(1)
	}
	if mode == "die" {
		os.Exit(3)
	}
	send(frameReady, 0, nil)
	for {
		f, err := readFrame(in)
		if err != nil {
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, "test worker:", err)
			}
			return
		}
		if f.typ != frameInvoke {
			continue
		}
		head, _, _ := splitHead(f.payload)
		var h struct{ Path string }
		json.Unmarshal(head, &h)
		go func(id uint32, path string) {
			respond := func(body string) {
				hj := []byte(`{"status":200,"headers":[["Content-Type","text/plain; charset=utf-8"]]}`)
				p := binary.BigEndian.AppendUint32(nil, uint32(len(hj)))
				send(frameResponse, id, append(append(p, hj...), body...))
			}
			switch {
			case strings.HasPrefix(path, "/sleep/"):
				var ms int
				fmt.Sscan(strings.TrimPrefix(path, "/sleep/"), &ms)
				time.Sleep(time.Duration(ms) * time.Millisecond)
				respond("slept")
			case path == "/busy":
				select {}
			case path == "/crash":
				os.Exit(2)
			case path == "/error":
				send(frameError, id, []byte("ValueError: boom"))
			default:
				respond(fmt.Sprint(os.Getpid()))
			}
		}(f.id, h.Path)
	}
}

func newPoolServer(t *testing.T, mode string, extra ...string) (*Pool, *httptest.Server) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(append([]string{"FUNC_PROCESS=" + self, "KUBELESS_INSTALL_VOLUME=" + t.TempDir()}, extra...)...)
	env := append(os.Environ(), "KUBELESS_TEST_WORKER="+mode)
	pool, err := NewPool(cfg, env, io.Discard, os.Stderr, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { pool.Close(context.Background()) })
	s := NewServer(cfg, pool, prometheus.NewRegistry(), io.Discard, discard)
	s.SetReady()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return pool, ts
}

func TestPoolLoadFailure(t *testing.T) {
	self, _ := os.Executable()
	for _, tt := range []struct{ mode, want string }{
		{"fatal", `cannot load function "hello.foo": hello.py:3: SyntaxError: invalid syntax`},
		{"die", "stopped before loading function hello.foo (exit status 3)"},
	} {
		cfg := testConfig("FUNC_PROCESS="+self, "KUBELESS_WORKERS=2")
		pool, _ := NewPool(cfg, append(os.Environ(), "KUBELESS_TEST_WORKER="+tt.mode), io.Discard, io.Discard, discard)
		err := pool.Start(context.Background())
		pool.Close(context.Background())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Start = %v, want %q", tt.mode, err, tt.want)
		}
	}
}

func TestPoolErrorAndCrashReplacement(t *testing.T) {
	_, ts := newPoolServer(t, "ok", "KUBELESS_WORKERS=1", "KUBELESS_WORKER_CONCURRENCY=4")
	if st, body, _ := get(t, ts.URL+"/error"); st != 500 || body != "Error: ValueError: boom" {
		t.Errorf("error: %d %q", st, body)
	}
	_, pid1, _ := get(t, ts.URL+"/pid")
	if st, _, _ := get(t, ts.URL+"/crash"); st != 502 {
		t.Errorf("crash: %d, want 502", st)
	}
	var pid2 string
	for i := 0; i < 100; i++ {
		if st, body, _ := get(t, ts.URL+"/pid"); st == 200 {
			pid2 = body
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pid2 == "" || pid2 == pid1 {
		t.Errorf("after a crash the pool answers from pid %q (before: %q), want a new worker", pid2, pid1)
	}
}

// A timed-out invocation retires its worker: a replacement serves new
// calls, and the old worker is killed only after its other call is answered.
func TestPoolRetireKeepsOtherInvocations(t *testing.T) {
	_, ts := newPoolServer(t, "ok", "KUBELESS_WORKERS=1", "KUBELESS_WORKER_CONCURRENCY=8", "FUNC_TIMEOUT=1")
	_, pid1, _ := get(t, ts.URL+"/pid")
	other := make(chan string, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		_, body, _ := get(t, ts.URL+"/sleep/900") // runs past the busy call's deadline
		other <- body
	}()
	if st, _, _ := get(t, ts.URL+"/busy"); st != 408 {
		t.Errorf("busy: %d, want 408", st)
	}
	_, pid2, _ := get(t, ts.URL+"/pid")
	if pid2 == pid1 {
		t.Errorf("a new call went to the retired worker %s", pid1)
	}
	if body := <-other; body != "slept" {
		t.Errorf("call beside the timed-out one got %q", body)
	}
}

func TestPoolPerWorkerConcurrency(t *testing.T) {
	_, ts := newPoolServer(t, "ok", "KUBELESS_WORKERS=2", "KUBELESS_WORKER_CONCURRENCY=2", "FUNC_CONCURRENCY=8")
	var max, cur atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := cur.Add(1)
			for {
				m := max.Load()
				if n <= m || max.CompareAndSwap(m, n) {
					break
				}
			}
			resp, err := http.Get(ts.URL + "/sleep/300")
			if err == nil {
				resp.Body.Close()
			}
			cur.Add(-1)
		}()
	}
	wg.Wait()
	// 8 calls, 4 slots (2 workers × 2): two rounds of 300 ms.
	if took := time.Since(start); took < 550*time.Millisecond {
		t.Errorf("8 calls of 300ms on 4 worker slots took %s: the per-worker limit was not kept", took)
	}
}
