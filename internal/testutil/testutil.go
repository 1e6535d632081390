// Package testutil holds helpers for the tests of several packages (build,
// e2e): archives made from a map of files, and local package sources that
// the real installers read offline: a wheel folder for pip, a tarball
// packed with npm pack, a gem source made with gem build and gem
// generate_index, a composer path repository; and the one definition of
// "in CI" (InCI) with the helpers for tests that need a tool (NeedTool,
// Unavailable). Only tests import it.
package testutil

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// WriteFiles writes files (slash paths relative to dir, to their bodies)
// under dir, making folders as needed.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Run runs name with args in dir and fails t, with the output, when it
// fails.
func Run(t testing.TB, ctx context.Context, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func sortedNames(files map[string]string) []string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Zip returns a zip archive of files (names to bodies), in name order.
func Zip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedNames(files) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TarGz returns a gzipped tar archive of files (names to bodies, regular
// files of mode 0644), in name order.
func TarGz(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range sortedNames(files) {
		body := files[name]
		hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1700000000, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// PipSource writes a pure-Python wheel of the distribution name (e.g.
// "hello-dep") at version, holding files (paths in the wheel, e.g.
// "hello_dep/__init__.py", to their bodies), into a new folder, and
// returns the environment that makes pip install from that folder alone:
// PIP_NO_INDEX and PIP_FIND_LINKS, no index at all.
func PipSource(t testing.TB, name, version string, files map[string]string) []string {
	t.Helper()
	dist := strings.ReplaceAll(name, "-", "_")
	info := dist + "-" + version + ".dist-info/"
	entries := []struct{ name, body string }{}
	for _, f := range sortedNames(files) {
		entries = append(entries, struct{ name, body string }{f, files[f]})
	}
	entries = append(entries,
		struct{ name, body string }{info + "METADATA", "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"},
		struct{ name, body string }{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: kubeless-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	)
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range entries {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString(info + "RECORD,,\n")
	w, err := zw.Create(info + "RECORD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(record.String())); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	wheels := t.TempDir()
	if err := os.WriteFile(filepath.Join(wheels, dist+"-"+version+"-py3-none-any.whl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"PIP_NO_INDEX=1", "PIP_FIND_LINKS=" + wheels}
}

// NpmTarball packs the package name at version, whose main is index.js,
// with files (e.g. index.js) beside its package.json, with npm pack, and
// returns the tarball's path (for a "file:" dependency).
func NpmTarball(t testing.TB, ctx context.Context, name, version string, files map[string]string) string {
	t.Helper()
	pkg := t.TempDir()
	WriteFiles(t, pkg, files)
	WriteFiles(t, pkg, map[string]string{
		"package.json": fmt.Sprintf(`{"name": %q, "version": %q, "main": "index.js"}`, name, version),
	})
	packs := t.TempDir()
	Run(t, ctx, pkg, "npm", "pack", "--silent", "--pack-destination", packs)
	tarball := filepath.Join(packs, name+"-"+version+".tgz")
	if _, err := os.Stat(tarball); err != nil {
		t.Fatalf("npm pack: %v", err)
	}
	return tarball
}

// GemSource builds the gem name at version, made of files (e.g.
// "lib/NAME.rb"), with gem build, into a new folder indexed with gem
// generate_index, and returns that folder (a Gemfile's source
// "file://FOLDER").
func GemSource(t testing.TB, ctx context.Context, name, version string, files map[string]string) string {
	t.Helper()
	src := t.TempDir()
	WriteFiles(t, src, files)
	var list []string
	for _, f := range sortedNames(files) {
		list = append(list, fmt.Sprintf("%q", f))
	}
	WriteFiles(t, src, map[string]string{name + ".gemspec": fmt.Sprintf(`Gem::Specification.new do |s|
  s.name = %q
  s.version = %q
  s.summary = "kubeless test gem"
  s.authors = ["kubeless"]
  s.license = "MIT"
  s.files = [%s]
end
`, name, version, strings.Join(list, ", "))})
	Run(t, ctx, src, "gem", "build", name+".gemspec")
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "gems"), 0o755); err != nil {
		t.Fatal(err)
	}
	gem := name + "-" + version + ".gem"
	if err := os.Rename(filepath.Join(src, gem), filepath.Join(repo, "gems", gem)); err != nil {
		t.Fatal(err)
	}
	Run(t, ctx, repo, "gem", "generate_index", "--directory", repo)
	return repo
}

// ComposerSource writes the composer package name at version, whose PSR-4
// namespace ns (e.g. `Acme\HelloDep\`) is its src/ folder, with files
// (e.g. "src/Greeter.php"), into a new folder and returns it (a path
// repository, see ComposerRequire).
func ComposerSource(t testing.TB, name, version, ns string, files map[string]string) string {
	t.Helper()
	pkg := t.TempDir()
	WriteFiles(t, pkg, files)
	manifest, err := json.Marshal(map[string]any{
		"name": name, "version": version,
		"autoload": map[string]any{"psr-4": map[string]string{ns: "src/"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	WriteFiles(t, pkg, map[string]string{"composer.json": string(manifest)})
	return pkg
}

// ComposerRequire returns a function's composer.json that requires name at
// version from the path repository dir alone: {"packagist": false} turns
// composer's default repository off, so nothing goes to the network.
func ComposerRequire(t testing.TB, dir, name, version string) string {
	t.Helper()
	deps, err := json.Marshal(map[string]any{
		"repositories": []any{
			map[string]bool{"packagist": false},
			map[string]any{"type": "path", "url": dir, "options": map[string]bool{"symlink": false}},
		},
		"require": map[string]string{name: version},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(deps)
}

// InCI reports whether the tests run under CI: the environment variable CI
// is set to anything but "", "0" or "false" (.ci/run sets CI=true). It is the
// one definition of "in CI" of the Go tests; test/lib/ci.bash has the same
// for bats and the shell scripts.
func InCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// Unavailable is how a test gives up because this machine lacks something
// it needs: locally it skips with why; under CI, where hack/install-deps.sh
// installs everything the tests need, it fails instead.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI is set: this fails instead of skipping; hack/install-deps.sh installs what the tests need)", msg)
		return
	}
	t.Skipf("%s (skipped; under CI this fails)", msg)
}

// NeedTool returns the path of the program tool on PATH. When there is none
// the test skips locally and fails under CI (see Unavailable).
func NeedTool(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		Unavailable(t, "%s is not installed: %v", tool, err)
	}
	return p
}

// Kinesalite starts kinesalite (the Kinesis emulator, from npm, installed
// the first time by hack/kinesalite.sh) on a free port of 127.0.0.1 for the
// test and returns its URL. Without Node.js and npm the test skips locally
// and fails under CI.
func Kinesalite(t testing.TB) string {
	t.Helper()
	return KinesaliteOn(t, 0)
}

// KinesaliteOn is Kinesalite on port (0: a free one).
func KinesaliteOn(t testing.TB, port int) string {
	t.Helper()
	NeedTool(t, "node")
	NeedTool(t, "npm")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(t.TempDir(), "kinesalite.addr")
	cmd := exec.Command(filepath.Join(root, "hack", "kinesalite.sh"), "run", addr, fmt.Sprint(port))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kinesalite: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// The install takes seconds the first time; the deadline only bounds a
	// failure.
	deadline := time.After(5 * time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(addr); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("kinesalite exited before listening: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("kinesalite did not listen within 5 minutes:\n%s", out.String())
		case <-tick.C:
		}
	}
}

// repoRoot is the folder of the module's go.mod, above the test's folder.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's folder")
		}
		dir = parent
	}
}
