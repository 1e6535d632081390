package build

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/testutil"
)

func TestDetect(t *testing.T) {
	paths := map[string]string{
		"python3.11": "/usr/bin/python3.11",
		"python3.9":  "/shims/python3.9",
		"node":       "/usr/bin/node",
		"npm":        "/usr/bin/npm",
		"ruby":       "/usr/bin/ruby",
		"bundle":     "/usr/bin/bundle",
		"php8.2":     "/usr/bin/php8.2",
		"php":        "/usr/bin/php",
		"go":         "/usr/local/go/bin/go",
	}
	type reply struct {
		out string
		err error
	}
	outputs := map[string]reply{
		"/usr/bin/python3.11 --version":        {out: "Python 3.11.7\n"},
		"/shims/python3.9 --version":           {out: "pyenv: python3.9: command not found\n", err: errors.New("exit status 127")},
		"/usr/bin/node --version":              {out: "v20.20.2\n"},
		"/usr/bin/ruby --version":              {out: "ruby 3.1.2p20 (2022-04-12 revision 4491bb740a) [x86_64-linux-gnu]\n"},
		"/usr/bin/php8.2 -r echo PHP_VERSION;": {out: "8.2.36"},
		"/usr/bin/php -r echo PHP_VERSION;":    {out: "8.2.36"},
		"/usr/local/go/bin/go version":         {out: "go version go1.26.8 linux/amd64\n"},
	}
	runs := map[string]int{}
	d := Detector{
		LookPath: func(file string) (string, error) {
			if p, ok := paths[file]; ok {
				return p, nil
			}
			return "", exec.ErrNotFound
		},
		Output: func(ctx context.Context, path string, args ...string) ([]byte, error) {
			k := path + " " + strings.Join(args, " ")
			runs[k]++
			r, ok := outputs[k]
			if !ok {
				t.Fatalf("unexpected run of %q", k)
			}
			return []byte(r.out), r.err
		},
	}
	cat := langruntime.Default()
	cat.Runtimes = append(cat.Runtimes, langruntime.Runtime{ID: "java", Versions: []langruntime.Version{{Version: "11"}}})
	got := map[string]Local{}
	var order []string
	for _, l := range d.Detect(context.Background(), cat) {
		got[l.Runtime] = l
		order = append(order, l.Runtime)
	}
	if diff := cmp.Diff(append(langruntime.Default().Names(), "java11"), order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	want := map[string]Local{
		"python3.11": {Runtime: "python3.11", Command: "python3.11", Path: "/usr/bin/python3.11", Version: "3.11.7", Match: true},
		"python3.9": {Runtime: "python3.9", Command: "python3.9",
			Problem: "/shims/python3.9 does not run: exit status 127: pyenv: python3.9: command not found"},
		"python3.12": {Runtime: "python3.12", Command: "python3.12", Problem: "python3.12 not found on PATH"},
		"nodejs20":   {Runtime: "nodejs20", Command: "node", Path: "/usr/bin/node", Version: "20.20.2", Match: true, Installer: "npm", InstallerPath: "/usr/bin/npm"},
		"nodejs22": {Runtime: "nodejs22", Command: "node", Path: "/usr/bin/node", Version: "20.20.2", Installer: "npm", InstallerPath: "/usr/bin/npm",
			Problem: "node is version 20.20.2, not 22"},
		"ruby3.1": {Runtime: "ruby3.1", Command: "ruby", Path: "/usr/bin/ruby", Version: "3.1.2", Match: true, Installer: "bundle", InstallerPath: "/usr/bin/bundle"},
		"ruby3.2": {Runtime: "ruby3.2", Command: "ruby", Path: "/usr/bin/ruby", Version: "3.1.2", Installer: "bundle", InstallerPath: "/usr/bin/bundle",
			Problem: "ruby is version 3.1.2, not 3.2"},
		"php8.2": {Runtime: "php8.2", Command: "php8.2", Path: "/usr/bin/php8.2", Version: "8.2.36", Match: true, Installer: "composer",
			Problem: "composer not found on PATH"},
		"php8.3": {Runtime: "php8.3", Command: "php", Path: "/usr/bin/php", Version: "8.2.36", Installer: "composer",
			Problem: "php is version 8.2.36, not 8.3"},
		"go1.26": {Runtime: "go1.26", Command: "go", Path: "/usr/local/go/bin/go", Version: "1.26.8", Match: true},
		"java11": {Runtime: "java11", Problem: `no local detection for "java" runtimes`},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, got[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if !got["python3.11"].OK() || got["python3.9"].OK() {
		t.Error("OK() does not follow Problem")
	}
	for k, n := range runs {
		if n != 1 {
			t.Errorf("%q ran %d times, want once", k, n)
		}
	}
}

func TestVersionMatches(t *testing.T) {
	tests := []struct {
		local, catalog string
		parts          int
		want           bool
	}{
		{"3.11.7", "3.11", 2, true},
		{"3.1.2", "3.11", 2, false},
		{"3.11.7", "3.1", 2, false},
		{"20.20.2", "20", 1, true},
		{"20.20.2", "2", 1, false},
		{"1.26.8", "1.26", 2, true},
		{"1.26", "1.26", 2, true},
		{"8", "8.2", 2, false},
	}
	for _, tt := range tests {
		if got := versionMatches(tt.local, tt.catalog, tt.parts); got != tt.want {
			t.Errorf("versionMatches(%q, %q, %d) = %v", tt.local, tt.catalog, tt.parts, got)
		}
	}
}

// TestDetectRealGo runs the real detection for go: the toolchain running
// this test is on PATH in the tests' environment.
func TestDetectRealGo(t *testing.T) {
	goPath := testutil.NeedTool(t, "go")
	cat, err := langruntime.Parse([]byte(`[{"ID": "go", "versions": [{"version": "` + goMajorMinor() + `", "images": [{"phase": "runtime", "image": "r"}]}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	got := (Detector{}).Detect(context.Background(), cat)
	if len(got) != 1 || !got[0].Match || got[0].Path != goPath {
		t.Errorf("Detect = %+v, want a match at %s", got, goPath)
	}
}

func goMajorMinor() string {
	v := strings.TrimPrefix(runtime.Version(), "go")
	parts := strings.SplitN(v, ".", 3)
	return parts[0] + "." + parts[1]
}

func TestExecutableResolvesShims(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "python3.11")
	if err := os.WriteFile(real, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(dir, "data")
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	found := Local{Runtime: "python3.11", Command: "python3.11", Path: "/shims/python3.11", Version: "3.11.7", Match: true}
	for _, tc := range []struct {
		name, runtime, out string
		err                error
		want               string
	}{
		{name: "shim resolved", runtime: "python", out: real + "\n", want: real},
		{name: "relative path", runtime: "python", out: "python3.11\n", want: found.Path},
		{name: "empty answer", runtime: "python", out: "\n", want: found.Path},
		{name: "interpreter fails", runtime: "python", out: "boom", err: errors.New("exit status 1"), want: found.Path},
		{name: "no such file", runtime: "python", out: filepath.Join(dir, "missing"), want: found.Path},
		{name: "not executable", runtime: "python", out: notExec, want: found.Path},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			d := Detector{Output: func(ctx context.Context, path string, args ...string) ([]byte, error) {
				ran = append(ran, path+" "+strings.Join(args, " "))
				return []byte(tc.out), tc.err
			}}
			if got := d.Executable(context.Background(), tc.runtime, found); got != tc.want {
				t.Errorf("Executable = %q, want %q", got, tc.want)
			}
			if want := []string{"/shims/python3.11 -c import sys; print(sys.executable)"}; !cmp.Equal(ran, want) {
				t.Errorf("ran %q, want %q", ran, want)
			}
		})
	}
	t.Run("each interpreter is asked", func(t *testing.T) {
		for rt, args := range map[string]string{"nodejs": "-p process.execPath", "ruby": "-e puts RbConfig.ruby", "php": "-r echo PHP_BINARY;"} {
			var ran string
			d := Detector{Output: func(ctx context.Context, path string, a ...string) ([]byte, error) {
				ran = strings.Join(a, " ")
				return []byte(real), nil
			}}
			if got := d.Executable(context.Background(), rt, found); got != real || ran != args {
				t.Errorf("%s: Executable = %q after %q, want %q after %q", rt, got, ran, real, args)
			}
		}
	})
	t.Run("nothing to resolve", func(t *testing.T) {
		d := Detector{Output: func(ctx context.Context, path string, args ...string) ([]byte, error) {
			t.Fatalf("unexpected run of %s %q", path, args)
			return nil, nil
		}}
		goLocal := Local{Runtime: "go1.26", Command: "go", Path: "/usr/local/go/bin/go", Version: "1.26.8", Match: true}
		if got := d.Executable(context.Background(), "go", goLocal); got != goLocal.Path {
			t.Errorf("Go: Executable = %q, want %q", got, goLocal.Path)
		}
		missing := Local{Runtime: "python3.11", Command: "python3.11", Problem: "python3.11 not found on PATH"}
		if got := d.Executable(context.Background(), "python", missing); got != "" {
			t.Errorf("missing interpreter: Executable = %q, want empty", got)
		}
	})
}

func TestExecutableOfThisMachinesInterpreters(t *testing.T) {
	// The real interpreters answer with an absolute path of an
	// executable: the arguments are right for each language.
	for _, rt := range []string{"python3.11", "nodejs20", "ruby3.1", "php8.2"} {
		e, err := langruntime.Default().Lookup(rt)
		if err != nil {
			t.Fatal(err)
		}
		l := Detector{}.DetectOne(context.Background(), e)
		if !l.OK() {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s: %s", rt, l.Problem)
			}
			t.Skipf("%s: %s", rt, l.Problem)
		}
		var asked bool
		d := Detector{Output: func(ctx context.Context, path string, args ...string) ([]byte, error) {
			asked = true
			return runOutput(ctx, path, args...)
		}}
		got := d.Executable(context.Background(), e.Runtime.ID, l)
		if !asked || !filepath.IsAbs(got) {
			t.Fatalf("%s: Executable = %q (asked %v)", rt, got, asked)
		}
		out, err := exec.Command(got, "--version").CombinedOutput()
		if err != nil || !versionMatches(versionRe.FindString(string(out)), l.Version, 2) {
			t.Errorf("%s: %s --version: %v %q, want version %s", rt, got, err, out, l.Version)
		}
	}
}
