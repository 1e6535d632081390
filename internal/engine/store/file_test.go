//go:build unix

package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFileLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "functions/default/hello", `{"name":"hello"}`)
	got, err := os.ReadFile(filepath.Join(dir, "functions+default+hello"))
	if err != nil || string(got) != `{"name":"hello"}` {
		t.Fatalf("file of the key = %q, %v", got, err)
	}
	if p, _ := s.Path("functions/default/hello"); p != filepath.Join(dir, "functions+default+hello") {
		t.Errorf("Path = %q", p)
	}
	fi, err := os.Stat(filepath.Join(dir, "functions+default+hello"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if names := dirNames(t, dir); !cmp.Equal(names, []string{"functions+default+hello"}) {
		t.Errorf("files in the folder = %q; want only the key's", names)
	}
}

func TestFileReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home", "state")
	s, err := NewFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "functions/default/hello", "v1")
	mustPut(t, s, "triggers/http/default/t", "t1")
	if err := s.Delete("triggers/http/default/t"); err != nil {
		t.Fatal(err)
	}
	s2, err := NewFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, s2, "functions/default/hello", "v1")
	if _, err := s2.Get("triggers/http/default/t"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted key after reopening: err = %v, want ErrNotFound", err)
	}
}

// TestFileTempFiles leaves what a crash in the middle of Put leaves: a
// temporary file with part of a value, and an empty one.
func TestFileTempFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "functions/default/hello", "old")
	for name, data := range map[string]string{".tmp-123": "ne", ".tmp-456": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustGet(t, s, "functions/default/hello", "old")
	ents, err := s.List("")
	if err != nil || len(ents) != 1 || ents[0].Key != "functions/default/hello" {
		t.Fatalf("List with temporary files = %v, %v; want the one key", ents, err)
	}

	var logs bytes.Buffer
	if _, err := NewFile(dir, slogTo(&logs)); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); !cmp.Equal(names, []string{"functions+default+hello"}) {
		t.Errorf("files after NewFile = %q; want the temporary files removed", names)
	}
	if n := strings.Count(logs.String(), "removed temporary file of an interrupted write"); n != 2 {
		t.Errorf("log has %d removals, want 2:\n%s", n, logs.String())
	}
}

func TestFileUnreadable(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "functions/default/good", "ok")
	// An empty file, which Put never leaves, and a folder in place of a file.
	if err := os.WriteFile(filepath.Join(dir, "functions+default+empty"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "functions+default+folder"), 0o700); err != nil {
		t.Fatal(err)
	}

	_, err = s.Get("functions/default/empty")
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("Get of an empty file: err = %v, want ErrUnreadable", err)
	}
	want := fmt.Sprintf(`get key "functions/default/empty": unreadable value: file %s is empty, `+
		`which a write of the store never leaves (was it changed by hand?); delete the file or put the key again`,
		filepath.Join(dir, "functions+default+empty"))
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	_, err = s.Get("functions/default/folder")
	if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "functions+default+folder") {
		t.Errorf("Get of a folder: err = %v, want ErrUnreadable naming the file", err)
	}

	ents, err := s.List("functions/")
	if len(ents) != 1 || ents[0].Key != "functions/default/good" {
		t.Errorf("List returned %v; want the readable key", ents)
	}
	if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), `key "functions/default/empty"`) ||
		!strings.Contains(err.Error(), `key "functions/default/folder"`) {
		t.Errorf("List error = %v; want both unreadable keys named", err)
	}

	if err := s.Put("functions/default/empty", []byte("fixed")); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "functions/default/empty", "fixed")
}

func TestFileIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"README.md", "x~", ".lock", "a++b", "+a"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, s, "k", "v")
	ents, err := s.List("")
	if err != nil || len(ents) != 1 {
		t.Errorf("List = %v, %v; want only the key k", ents, err)
	}
}

// crashKeys are the keys that the writer helper rewrites in a loop.
var crashKeys = []string{"functions/default/a", "functions/default/b", "functions/prod/c", "triggers/http/default/d"}

// crashValue is a value that tells whether it is whole: a header, a body
// long enough that writing it takes several system calls, and a trailer.
func crashValue(gen int, key string) []byte {
	body := bytes.Repeat([]byte(fmt.Sprintf("%s@%d;", key, gen)), 256<<10/len(key))
	return fmt.Appendf(nil, "gen=%d key=%s len=%d\n%s\nend %d\n", gen, key, len(body), body, gen)
}

func checkCrashValue(key string, v []byte) (gen int, err error) {
	var k string
	var n int
	if _, err := fmt.Sscanf(string(v), "gen=%d key=%s len=%d\n", &gen, &k, &n); err != nil {
		return 0, fmt.Errorf("bad header %.40q: %v", v, err)
	}
	if want := crashValue(gen, key); !bytes.Equal(v, want) {
		return gen, fmt.Errorf("value of generation %d is not whole: %d bytes, want %d", gen, len(v), len(want))
	}
	return gen, nil
}

// TestFileCrashMidWrite kills a process that rewrites keys in a loop at
// random points, then checks that every key holds one whole value.
func TestFileCrashMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("kills helper processes")
	}
	dir := t.TempDir()
	last := map[string]int{}
	sawTemp := false
	for round := range 6 {
		cmd := helperCommand(t, "writer", dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: writer said %q, %v; stderr: %s", round, line, err, cmd.Stderr)
		}
		time.Sleep(time.Duration(round*7) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		for _, name := range dirNames(t, dir) {
			sawTemp = sawTemp || strings.HasPrefix(name, tmpPrefix)
		}
		// Read before NewFile cleans up, as a reader racing a crash would.
		s := &File{dir: dir}
		ents, err := s.List("")
		if err != nil {
			t.Fatalf("round %d: List: %v", round, err)
		}
		var keys []string
		for _, e := range ents {
			keys = append(keys, e.Key)
			gen, err := checkCrashValue(e.Key, e.Value)
			if err != nil {
				t.Fatalf("round %d: key %q: %v", round, e.Key, err)
			}
			if gen < last[e.Key] {
				t.Fatalf("round %d: key %q went back from generation %d to %d", round, e.Key, last[e.Key], gen)
			}
			last[e.Key] = gen
		}
		if diff := cmp.Diff(slices.Sorted(slices.Values(crashKeys)), keys); diff != "" {
			t.Fatalf("round %d: keys (-want +got):\n%s", round, diff)
		}
	}
	t.Logf("generations reached: %v; a temporary file was left by a kill: %v", last, sawTemp)

	if _, err := NewFile(dir, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range dirNames(t, dir) {
		if strings.HasPrefix(name, tmpPrefix) {
			t.Errorf("NewFile left the temporary file %s", name)
		}
	}
}

func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	_, err = Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: err = %v, want a *LockedError", err)
	}
	want := fmt.Sprintf("%s is locked by another process (pid %d)", filepath.Join(dir, ".lock"), os.Getpid())
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	// A process started meanwhile does not inherit the lock.
	child := helperCommand(t, "wait", dir)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		child.Wait()
	}()
	unlock()
	unlock() // a second call does nothing
	unlock2, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()
}

func TestLockHeldByOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := helperCommand(t, "locker", dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("locker said %q, %v; stderr: %s", line, err, cmd.Stderr)
	}
	_, err = Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("Lock while another process holds it: err = %v, want a *LockedError with pid %d", err, cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("(pid %d)", cmd.Process.Pid)) {
		t.Errorf("error %q does not name the pid", err)
	}
	// The lock goes with the process, even when it is killed.
	cmd.Process.Signal(syscall.SIGKILL)
	stdin.Close()
	cmd.Wait()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	unlock()
}

func helperCommand(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], dir)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = new(strings.Builder)
	return cmd
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
