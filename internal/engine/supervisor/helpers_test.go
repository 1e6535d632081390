//go:build unix

package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newSupervisor returns a Supervisor that Cleanup closes, checking that
// every goroutine it started has ended.
func newSupervisor(t *testing.T) *Supervisor {
	t.Helper()
	before := runtime.NumGoroutine()
	var logs syncBuffer
	s := New(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		s.Close()
		waitFor(t, 5*time.Second, "the supervisor's goroutines to end", func() bool {
			return runtime.NumGoroutine() <= before
		}, func() string {
			buf := make([]byte, 1<<20)
			return fmt.Sprintf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before,
				buf[:runtime.Stack(buf, true)])
		})
		if t.Failed() {
			t.Logf("supervisor log:\n%s", logs.String())
		}
	})
	return s
}

// taskSpec returns the spec of a test task (see runTask) named name.
func taskSpec(t *testing.T, name string, script ...string) Spec {
	return Spec{
		Name: name,
		Args: append([]string{os.Args[0]}, script...),
		// (A race-enabled binary otherwise sleeps a second before exit 0.)
		Env:     append(os.Environ(), taskEnv+"=1", "GORACE=atexit_sleep_ms=0"),
		LogPath: filepath.Join(t.TempDir(), name+".log"),
		Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	}
}

func mustStart(t *testing.T, s *Supervisor, spec Spec) Status {
	t.Helper()
	if err := s.Start(spec); err != nil {
		t.Fatalf("Start(%q): %v", spec.Name, err)
	}
	st, err := s.Status(spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitFor polls cond until it holds, failing the test after timeout with
// what it waited for and, if given, details.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, details ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("timed out after %v waiting for %s", timeout, what)
			for _, d := range details {
				msg += "\n" + d()
			}
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitState(t *testing.T, s *Supervisor, name string, want State) Status {
	t.Helper()
	var st Status
	waitFor(t, 10*time.Second, fmt.Sprintf("process %q to be %s", name, want), func() bool {
		st, _ = s.Status(name)
		return st.State == want
	}, func() string { return fmt.Sprintf("status: %+v", st) })
	return st
}

// readUntil reads lines from ch until one satisfies match, returning all
// lines read; it fails the test if ch closes or nothing matches in time.
func readUntil(t *testing.T, ch <-chan string, what string, match func(string) bool) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("follow ended before %s; got %q", what, got)
			}
			got = append(got, l)
			if match(l) {
				return got
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s; got %q", what, got)
		}
	}
}

// drain reads ch until it closes and returns what it read.
func drain(t *testing.T, ch <-chan string) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, l)
		case <-timeout:
			t.Fatalf("follow did not end; got %q", got)
		}
	}
}

// pidAfter returns the number after prefix in the first line of lines
// that starts with it ("grandchild 123").
func pidAfter(t *testing.T, lines []string, prefix string) int {
	t.Helper()
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, prefix+" "); ok {
			pid, err := strconv.Atoi(rest)
			if err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			return pid
		}
	}
	t.Fatalf("no line %q in %q", prefix+" <pid>", lines)
	return 0
}

// alive reports whether pid is a live process; an exited one that nobody
// has reaped yet (a zombie) counts as dead.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS != "linux"
	}
	// pid (comm) S …: the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}

func waitDead(t *testing.T, what string, pid int) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("%s (pid %d) to die", what, pid), func() bool { return !alive(pid) })
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// backoffs records the calls of a Supervisor's onBackoff hook.
type backoffs struct {
	mu    sync.Mutex
	calls []time.Duration
}

func recordBackoffs(s *Supervisor) *backoffs {
	b := &backoffs{}
	s.onBackoff = func(name string, failures int, delay time.Duration) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.calls = append(b.calls, delay)
	}
	return b
}

func (b *backoffs) get() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Duration(nil), b.calls...)
}
