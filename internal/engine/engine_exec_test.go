package engine

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/langruntime"
)

func TestInstanceExecStartsGoServersAsTheyAre(t *testing.T) {
	entry := func(rt string) langruntime.Entry {
		e, err := langruntime.Default().Lookup(rt)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	dir := t.TempDir()
	code := filepath.Join(dir, "hello.go")
	server := filepath.Join(dir, "server")
	if err := os.WriteFile(code, []byte("package kubeless\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(server, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The server is newer than the code: built from it.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(code, old, old); err != nil {
		t.Fatal(err)
	}
	runtimeRun := []string{"/bin/kubeless", "runtime", "run", "go1.26"}
	goRes := &build.Result{Dir: dir, Entry: entry("go1.26")}
	if got := instanceExec("/bin/kubeless", "go1.26", goRes); !slices.Equal(got, []string{server}) {
		t.Errorf("built Go function: %q, want its server %q", got, server)
	}
	// Code newer than the server: runtime run compiles it again.
	if err := os.Chtimes(code, time.Now().Add(time.Hour), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := instanceExec("/bin/kubeless", "go1.26", goRes); !slices.Equal(got, runtimeRun) {
		t.Errorf("stale server: %q, want %q", got, runtimeRun)
	}
	if got := instanceExec("/bin/kubeless", "go1.26", &build.Result{Dir: t.TempDir(), Entry: entry("go1.26")}); !slices.Equal(got, runtimeRun) {
		t.Errorf("no server: %q, want %q", got, runtimeRun)
	}
	py := []string{"/bin/kubeless", "runtime", "run", "python3.11"}
	if got := instanceExec("/bin/kubeless", "python3.11", &build.Result{Dir: dir, Entry: entry("python3.11")}); !slices.Equal(got, py) {
		t.Errorf("Python: %q, want %q", got, py)
	}
}
