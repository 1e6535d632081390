package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/testutil"
)

// TestCommandConfines runs a shell in an instance's sandbox and checks what
// it can see and do. In CI (CI set) bwrap and cgroups must be usable.
func TestCommandConfines(t *testing.T) {
	home := t.TempDir()
	secret := filepath.Join(home, "state")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	code := filepath.Join(home, "cache", "fn")
	if err := os.MkdirAll(code, 0o755); err != nil {
		t.Fatal(err)
	}
	// The runtimes' workers sit in the hidden cache; the instance reads
	// them (read-only) and nothing else of the cache.
	workers := filepath.Join(home, "cache", "runtimes-1")
	if err := os.MkdirAll(workers, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(workers, "worker.py"), []byte("worker"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(home, "cache", "other")
	if err := os.WriteFile(other, []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Name: home, Hide: []string{home}})
	if !s.Namespaces() || s.cg == nil {
		testutil.Unavailable(t, "this machine cannot sandbox: %s", s.Describe())
	}
	name := "default/" + strings.ToLower(t.Name()) + "/0"
	t.Cleanup(func() { s.Kill(name) })
	script := `cat ` + secret + ` 2>/dev/null && echo SECRET-READ
touch x 2>/dev/null && echo CODE-WRITABLE
echo ok >/tmp/t && echo tmp-writable
echo pid=$$
cat ` + filepath.Join(workers, "worker.py") + ` && echo " exposed-readable"
cat ` + other + ` 2>/dev/null && echo OTHER-READ
touch ` + filepath.Join(workers, "x") + ` 2>/dev/null && echo EXPOSED-WRITABLE
true`
	args, err := s.Command(Instance{Name: name, Args: []string{"/bin/sh", "-c", script}, Dir: code, Expose: []string{workers}, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := string(out)
	for _, bad := range []string{"SECRET-READ", "CODE-WRITABLE", "OTHER-READ", "EXPOSED-WRITABLE"} {
		if strings.Contains(got, bad) {
			t.Errorf("sandbox allowed %s; output:\n%s", bad, got)
		}
	}
	for _, want := range []string{"tmp-writable", "pid=1\n", "worker exposed-readable"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if s.cg.memory != "" {
		b, err := os.ReadFile(filepath.Join(s.cg.memory, cgName(name), "memory.limit_in_bytes"))
		if err != nil || strings.TrimSpace(string(b)) != "67108864" {
			t.Errorf("memory limit = %q, %v; want 67108864", b, err)
		}
	}
}
