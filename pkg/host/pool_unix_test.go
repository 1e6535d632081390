//go:build unix

package host

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Start answers once the first worker has loaded the function; the other
// KUBELESS_WORKERS-1 start meanwhile, held here behind a FIFO until the
// first worker has served a call.
func TestPoolStartWaitsForTheFirstWorkerOnly(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	gate := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(gate, "open"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("FUNC_PROCESS="+self, "KUBELESS_INSTALL_VOLUME="+t.TempDir(), "KUBELESS_WORKERS=3", "KUBELESS_MAX_WORKERS=3")
	pool, err := NewPool(cfg, append(os.Environ(), "KUBELESS_TEST_WORKER=gate", "KUBELESS_TEST_GATE_DIR="+gate), io.Discard, os.Stderr, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	if err := pool.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	pool.mu.Lock()
	ready, starting := len(pool.workers), pool.starting
	pool.mu.Unlock()
	if ready != 1 || starting != 2 {
		t.Fatalf("after Start: %d workers ready and %d starting, want 1 and 2", ready, starting)
	}
	if err := <-invokeDirectPath(context.Background(), pool, "/pid"); err != nil {
		t.Fatalf("call while the other workers start: %v", err)
	}
	// Open the gate (and keep it open until every worker passed it).
	g, err := os.OpenFile(filepath.Join(gate, "open"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	waitWorkers(t, pool, 3)
}

// invokeDirectPath runs one call of path on the pool and sends Invoke's
// error, or why the answer is not a 200.
func invokeDirectPath(ctx context.Context, p *Pool, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		rec := httptest.NewRecorder()
		err := p.Invoke(ctx, &Call{Request: httptest.NewRequest(http.MethodGet, path, nil), Writer: newResponseWriter(rec)})
		if err == nil && rec.Code != http.StatusOK {
			err = fmt.Errorf("answered %d %q", rec.Code, rec.Body.String())
		}
		done <- err
	}()
	return done
}
