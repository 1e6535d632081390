package build

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"
	"github.com/kubeless/kubeless/internal/testutil"
)

// fakeCatalog has one runtime, "fake", whose versions exercise the builder
// with plain shell commands.
const fakeCatalog = `[{"ID": "fake", "depName": "deps.txt", "fileNameSuffix": ".fk", "versions": [
  {"version": "1", "images": [
    {"phase": "installation", "image": "i", "env": {"CATALOG_ENV": "$(KUBELESS_INSTALL_VOLUME)/x"},
     "command": "echo ran >> \"$COUNTER\" && cp \"$KUBELESS_DEPS_FILE\" installed.txt && printf '%s' \"$USERVAL\" > userval.txt && env | grep '^KUBELESS_' | sort > kubeless-env.txt && printf '%s' \"$CATALOG_ENV\" > catalog-env.txt"},
    {"phase": "runtime", "image": "r", "env": {"FAKE_PATH": "$(KUBELESS_INSTALL_VOLUME)/lib"}}]},
  {"version": "2", "images": [
    {"phase": "installation", "image": "i", "command": "sleep 0.3; echo ran >> \"$COUNTER\""},
    {"phase": "runtime", "image": "r"}]},
  {"version": "3", "images": [
    {"phase": "installation", "image": "i", "command": "for i in $(seq 1 50); do echo line $i; done; exit 3"},
    {"phase": "runtime", "image": "r"}]},
  {"version": "4", "images": [
    {"phase": "compilation", "image": "c", "command": "kubeless-test-compile a b && echo compiled >> \"$COUNTER\"", "env": {"GOCACHE": "$(KUBELESS_INSTALL_VOLUME)/.cache"}},
    {"phase": "runtime", "image": "r"}]},
  {"version": "5", "images": [
    {"phase": "compilation", "image": "c", "command": "kubeless-test-fail"},
    {"phase": "runtime", "image": "r"}]},
  {"version": "6", "images": [
    {"phase": "installation", "image": "i", "command": "command -v kubeless-npm-install > helper.txt"},
    {"phase": "runtime", "image": "r"}]},
  {"version": "7", "images": [
    {"phase": "runtime", "image": "r"}]},
  {"version": "8", "images": [
    {"phase": "installation", "image": "i", "env": {"CATALOG_ENV": "catalog"}, "command": "printf '%s|%s|%s' \"$CATALOG_ENV\" \"$KUBELESS_FUNC_NAME\" \"$(basename \"$KUBELESS_DEPS_FILE\")\" > prec.txt"},
    {"phase": "runtime", "image": "r"}]}
]}]`

func newTestBuilder(t *testing.T) *Builder {
	t.Helper()
	cat, err := langruntime.Parse([]byte(fakeCatalog))
	if err != nil {
		t.Fatal(err)
	}
	return &Builder{Catalog: cat, CacheDir: filepath.Join(t.TempDir(), "cache"), GoTools: testTools}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func countLines(t *testing.T, p string) int {
	t.Helper()
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// cacheEntries lists CacheDir without the lock folder.
func cacheEntries(t *testing.T, b *Builder) []string {
	t.Helper()
	entries, err := os.ReadDir(b.CacheDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != ".locks" && !strings.HasSuffix(e.Name(), ".sha256") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestBuildTextAndCacheHit(t *testing.T) {
	b := newTestBuilder(t)
	counter := filepath.Join(t.TempDir(), "counter")
	// A value that would do harm if it were pasted into the command.
	nasty := `$(touch pwned) "quoted" 'single' ; touch pwned2 #`
	fn := Function{
		Name: "hello", Runtime: "fake1", Handler: "hello.foo",
		Function: "print('hi')\n", Deps: "dep==1\n",
		Env: []string{"COUNTER=" + counter, "USERVAL=" + nasty},
	}
	ctx := context.Background()
	res, err := b.Build(ctx, fn)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if res.Cached {
		t.Error("first build reported as cached")
	}
	if res.Dir != filepath.Join(b.CacheDir, res.Key) {
		t.Errorf("Dir = %s, want cache/<key>", res.Dir)
	}
	if got := readFile(t, filepath.Join(res.Dir, "hello.fk")); got != fn.Function {
		t.Errorf("code file = %q", got)
	}
	if got := readFile(t, filepath.Join(res.Dir, "deps.txt")); got != fn.Deps {
		t.Errorf("deps file = %q", got)
	}
	if got := readFile(t, filepath.Join(res.Dir, "installed.txt")); got != fn.Deps {
		t.Errorf("installed.txt = %q, want the deps file (KUBELESS_DEPS_FILE)", got)
	}
	if got := readFile(t, filepath.Join(res.Dir, "userval.txt")); got != nasty {
		t.Errorf("user value reached the command as %q, want %q unchanged", got, nasty)
	}
	for _, f := range []string{"pwned", "pwned2"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err == nil {
			t.Errorf("the user value was executed: %s exists", f)
		}
	}
	// The phase saw the build folder as its install volume.
	env := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(res.Dir, "kubeless-env.txt"))), "\n")
	if len(env) != 3 {
		t.Fatalf("KUBELESS_* variables = %q, want 3", env)
	}
	vol := strings.TrimPrefix(env[2], "KUBELESS_INSTALL_VOLUME=")
	if filepath.Dir(vol) != b.CacheDir || !strings.HasPrefix(filepath.Base(vol), "."+res.Key+".build-") {
		t.Errorf("install volume during the build = %q, want a sibling of the final folder", vol)
	}
	want := []string{"KUBELESS_DEPS_FILE=" + vol + "/deps.txt", "KUBELESS_FUNC_NAME=foo", "KUBELESS_INSTALL_VOLUME=" + vol}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("KUBELESS_* variables (-want +got):\n%s", diff)
	}
	if got := readFile(t, filepath.Join(res.Dir, "catalog-env.txt")); got != vol+"/x" {
		t.Errorf("catalog env = %q, want %q", got, vol+"/x")
	}
	wantEnv := []langruntime.EnvVar{{Name: "KUBELESS_INSTALL_VOLUME", Value: res.Dir}, {Name: "FAKE_PATH", Value: res.Dir + "/lib"}}
	if diff := cmp.Diff(wantEnv, res.Env); diff != "" {
		t.Errorf("Result.Env (-want +got):\n%s", diff)
	}
	if res.FileName != "hello.fk" || res.Handler.Module != "hello" || res.Entry.Name() != "fake1" {
		t.Errorf("Result = %+v", res)
	}
	if n := countLines(t, counter); n != 1 {
		t.Fatalf("install ran %d times, want 1", n)
	}
	if diff := cmp.Diff([]string{res.Key}, cacheEntries(t, b)); diff != "" {
		t.Errorf("cache folder (-want +got):\n%s", diff)
	}

	// The second build of the same input is a cache hit: nothing runs.
	start := time.Now()
	again, err := b.Build(ctx, fn)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Dir != res.Dir {
		t.Errorf("second build: Cached = %v, Dir = %s; want a hit on %s", again.Cached, again.Dir, res.Dir)
	}
	if n := countLines(t, counter); n != 1 {
		t.Errorf("install ran %d times after a cache hit, want 1", n)
	}
	t.Logf("cache hit in %v", elapsed) // no bound: the install counter above proves nothing ran

	// A new Builder on the same folder (another process) hits too.
	other := &Builder{Catalog: b.Catalog, CacheDir: b.CacheDir, GoTools: testTools}
	if r, err := other.Build(ctx, fn); err != nil || !r.Cached {
		t.Errorf("build by another builder: cached = %v, err = %v", r != nil && r.Cached, err)
	}
}

func TestBuildWithoutDepsSkipsInstall(t *testing.T) {
	b := newTestBuilder(t)
	counter := filepath.Join(t.TempDir(), "counter")
	res, err := b.Build(context.Background(), Function{Name: "f", Runtime: "fake1", Handler: "hello.foo", Function: "x", Env: []string{"COUNTER=" + counter}})
	if err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, counter); n != 0 {
		t.Errorf("install ran %d times without deps", n)
	}
	if diff := cmp.Diff(map[string]string{"hello.fk": "x"}, listDir(t, res.Dir)); diff != "" {
		t.Errorf("built folder (-want +got):\n%s", diff)
	}
}

func TestBuildEnvPrecedence(t *testing.T) {
	b := newTestBuilder(t)
	res, err := b.Build(context.Background(), Function{
		Name: "f", Runtime: "fake8", Handler: "hello.foo", Function: "x", Deps: "d",
		Env: []string{"CATALOG_ENV=user", "KUBELESS_FUNC_NAME=evil", "KUBELESS_DEPS_FILE=/etc/passwd"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The user's value wins over the catalog's; the KUBELESS_* variables
	// are the builder's.
	if got := readFile(t, filepath.Join(res.Dir, "prec.txt")); got != "user|foo|deps.txt" {
		t.Errorf("phase saw %q, want user|foo|deps.txt", got)
	}
}

// listDir maps the regular files below dir to their content.
func listDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			b, _ := os.ReadFile(p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

func TestBuildArchives(t *testing.T) {
	files := map[string]string{"hello.fk": "code", "lib/util.fk": "util"}
	withDeps := map[string]string{"hello.fk": "code", "deps.txt": "bundled==1\n"}
	zipData := testutil.Zip(t, files)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fn.zip":
			w.Write(zipData)
		case "/hello.fk":
			w.Write([]byte("from url"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name      string
		fn        Function
		want      map[string]string
		installed string // content of installed.txt, "" when install must not run
	}{
		{name: "base64 zip", fn: Function{ContentType: "base64+zip", Function: b64(zipData), Deps: "a==1\n"},
			want: map[string]string{"hello.fk": "code", "lib/util.fk": "util", "deps.txt": "a==1\n"}, installed: "a==1\n"},
		{name: "base64 zip with line breaks and checksum", fn: Function{ContentType: "base64+zip", Function: wrap(b64(zipData), 76), Checksum: source.Checksum(zipData)},
			want: files},
		{name: "base64 tar.gz", fn: Function{ContentType: "base64+compressedtar", Function: b64(testutil.TarGz(t, files)), Deps: "b==2\n"},
			want: map[string]string{"hello.fk": "code", "lib/util.fk": "util", "deps.txt": "b==2\n"}, installed: "b==2\n"},
		{name: "zip with deps inside", fn: Function{ContentType: "base64+zip+deps", Function: b64(testutil.Zip(t, withDeps)), Deps: "ignored==1\n"},
			want: withDeps, installed: "bundled==1\n"},
		{name: "tar.gz with deps inside", fn: Function{ContentType: "base64+compressedtar+deps", Function: b64(testutil.TarGz(t, withDeps))},
			want: withDeps, installed: "bundled==1\n"},
		{name: "url zip", fn: Function{ContentType: "url+zip", Function: srv.URL + "/fn.zip", Checksum: source.Checksum(zipData)},
			want: files},
		{name: "url file", fn: Function{ContentType: "url", Function: srv.URL + "/hello.fk"},
			want: map[string]string{"hello.fk": "from url"}},
		// The original's maintainers told users to write url+text.
		{name: "url+text file", fn: Function{ContentType: "url+text", Function: srv.URL + "/hello.fk"},
			want: map[string]string{"hello.fk": "from url"}},
		{name: "zip+url, parts in any order", fn: Function{ContentType: "zip+url", Function: srv.URL + "/fn.zip", Checksum: source.Checksum(zipData)},
			want: files},
		{name: "base64 file", fn: Function{ContentType: "base64", Function: b64([]byte{0xff, 0x00, 'x'})},
			want: map[string]string{"hello.fk": "\xff\x00x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBuilder(t)
			counter := filepath.Join(t.TempDir(), "counter")
			fn := tt.fn
			fn.Name, fn.Runtime, fn.Handler = "f", "fake1", "hello.foo"
			fn.Env = []string{"COUNTER=" + counter}
			res, err := b.Build(context.Background(), fn)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got := listDir(t, res.Dir)
			if tt.installed != "" {
				if got["installed.txt"] != tt.installed {
					t.Errorf("installed.txt = %q, want %q", got["installed.txt"], tt.installed)
				}
				for _, k := range []string{"installed.txt", "userval.txt", "kubeless-env.txt", "catalog-env.txt"} {
					delete(got, k)
				}
			} else if n := countLines(t, counter); n != 0 {
				t.Errorf("install ran without deps")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("built folder (-want +got):\n%s", diff)
			}
		})
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestBuildErrors(t *testing.T) {
	evilZip := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("ok.fk")
		w.Write([]byte("fine"))
		w, _ = zw.Create("../../escape.fk")
		w.Write([]byte("evil"))
		zw.Close()
		return buf.Bytes()
	}()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	b64 := base64.StdEncoding.EncodeToString
	fakeNames := "fake1, fake2, fake3, fake4, fake5, fake6, fake7, fake8"
	tests := []struct {
		name    string
		fn      Function
		wantErr string
	}{
		{name: "unknown runtime", fn: Function{Runtime: "python2.6"},
			wantErr: `build function "f": Invalid runtime: python2.6. Supported runtimes are: ` + fakeNames},
		{name: "bad handler", fn: Function{Handler: "hello"},
			wantErr: `build function "f": failed: incorrect handler format. It should be module_name.handler_name`},
		{name: "bad content type", fn: Function{ContentType: "binary"},
			wantErr: `build function "f": Unable to prepare function of type binary: Unknown format`},
		{name: "checksum format", fn: Function{Checksum: "md5:abc"},
			wantErr: `build function "f": Unable to verify checksum md5:abc: Unknown format`},
		{name: "wrong checksum", fn: Function{Checksum: source.Checksum([]byte("other"))},
			wantErr: `build function "f": checksum mismatch: expected ` + source.Checksum([]byte("other")) + `, got ` + source.Checksum([]byte("code"))},
		{name: "bad base64", fn: Function{ContentType: "base64", Function: "!!!"},
			wantErr: `build function "f": decode base64 function: illegal base64 data at input byte 0`},
		{name: "malicious zip", fn: Function{ContentType: "base64+zip", Function: b64(evilZip), Deps: "x"},
			wantErr: `build function "f" (fake1): archive entry "../../escape.fk" refused: path contains ".."`},
		{name: "deps missing from archive", fn: Function{ContentType: "base64+zip+deps", Function: b64(testutil.Zip(t, map[string]string{"hello.fk": "x"}))},
			wantErr: `build function "f" (fake1): content type "base64+zip+deps": the archive has no deps.txt`},
		{name: "url not found", fn: Function{ContentType: "url", Function: srv.URL + "/hello.fk"},
			wantErr: `build function "f": download function from ` + srv.URL + `/hello.fk: 404 Not Found`},
		{name: "url not a url", fn: Function{ContentType: "url", Function: "file:///etc/passwd"},
			wantErr: `build function "f": content type "url": function "file:///etc/passwd" is not an http:// or https:// URL`},
		{name: "bad env", fn: Function{Env: []string{"NOEQUALS"}},
			wantErr: `build function "f": environment variable "NOEQUALS": want NAME=value`},
		{name: "deps for a runtime without a deps file", fn: Function{Runtime: "bare1", Deps: "x"},
			wantErr: `build function "f": runtime bare1 has no dependency file, but the function has deps`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBuilder(t)
			if tt.fn.Runtime == "bare1" {
				b.Catalog.Runtimes = append(b.Catalog.Runtimes, langruntime.Runtime{ID: "bare", Versions: []langruntime.Version{{Version: "1", Images: []langruntime.Image{{Phase: langruntime.PhaseRuntime, Image: "r"}}}}})
			}
			fn := tt.fn
			fn.Name = "f"
			if fn.Runtime == "" {
				fn.Runtime = "fake1"
			}
			if fn.Handler == "" {
				fn.Handler = "hello.foo"
			}
			if fn.Function == "" {
				fn.Function = "code"
			}
			_, err := b.Build(context.Background(), fn)
			if err == nil {
				t.Fatalf("Build succeeded, want %q", tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error =\n%q, want\n%q", err, tt.wantErr)
			}
			if left := cacheEntries(t, b); len(left) != 0 {
				t.Errorf("left in the cache: %v", left)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(b.CacheDir), "escape.fk")); err == nil {
				t.Error("the archive wrote outside the build folder")
			}
		})
	}
}

func TestBuildPhaseFailure(t *testing.T) {
	b := newTestBuilder(t)
	var live bytes.Buffer
	b.Output = &live
	fn := Function{Name: "f", Runtime: "fake3", Handler: "hello.foo", Function: "x", Deps: "broken"}
	for attempt := 1; attempt <= 2; attempt++ {
		_, err := b.Build(context.Background(), fn)
		var pe *PhaseError
		if !errors.As(err, &pe) {
			t.Fatalf("attempt %d: error = %v, want a *PhaseError", attempt, err)
		}
		msg := err.Error()
		first, rest, _ := strings.Cut(msg, "\n")
		wantFirst := `build function "f" (fake3): installation phase of fake3 failed: for i in $(seq 1 50); do echo line $i; done; exit 3: exit status 3; last lines of output:`
		if first != wantFirst {
			t.Errorf("first line =\n%q, want\n%q", first, wantFirst)
		}
		var want []string
		for i := 31; i <= 50; i++ {
			want = append(want, "line "+strconv.Itoa(i))
		}
		if diff := cmp.Diff(strings.Join(want, "\n"), rest); diff != "" {
			t.Errorf("error ends with (-want +got):\n%s", diff)
		}
		if left := cacheEntries(t, b); len(left) != 0 {
			t.Errorf("attempt %d left in the cache: %v", attempt, left)
		}
	}
	if !strings.Contains(live.String(), "line 1\n") {
		t.Error("Output did not get the phase's output")
	}
}

func TestBuildConcurrentSameKey(t *testing.T) {
	b := newTestBuilder(t)
	counter := filepath.Join(t.TempDir(), "counter")
	fn := Function{Name: "f", Runtime: "fake2", Handler: "hello.foo", Function: "x", Deps: "d", Env: []string{"COUNTER=" + counter}}
	const n = 4
	results := make([]*Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate Builders, as separate processes would have.
			bi := &Builder{Catalog: b.Catalog, CacheDir: b.CacheDir}
			results[i], errs[i] = bi.Build(context.Background(), fn)
		}()
	}
	wg.Wait()
	built := 0
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("build %d: %v", i, errs[i])
		}
		if results[i].Dir != results[0].Dir {
			t.Errorf("build %d: Dir %s, want %s", i, results[i].Dir, results[0].Dir)
		}
		if !results[i].Cached {
			built++
		}
	}
	if built != 1 {
		t.Errorf("%d builds ran, want 1", built)
	}
	if c := countLines(t, counter); c != 1 {
		t.Errorf("install ran %d times, want 1", c)
	}
	if diff := cmp.Diff([]string{results[0].Key}, cacheEntries(t, b)); diff != "" {
		t.Errorf("cache folder (-want +got):\n%s", diff)
	}
}

func TestBuildGoTool(t *testing.T) {
	b := newTestBuilder(t)
	var live bytes.Buffer
	b.Output = &live
	counter := filepath.Join(t.TempDir(), "counter")
	res, err := b.Build(context.Background(), Function{Name: "f", Runtime: "fake4", Handler: "hello.Handler", Function: "package kubeless", Env: []string{"COUNTER=" + counter}})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	report := readFile(t, filepath.Join(res.Dir, "server"))
	// The tool ran in the build folder, which was renamed afterwards.
	vol := strings.TrimSuffix(strings.SplitN(strings.SplitN(report, "dir=", 2)[1], " ", 2)[0], "\n")
	want := "func=Handler args=a,b dir=" + vol + " volume=" + vol + " gocache=" + vol + "/.cache\n"
	if report != want {
		t.Errorf("tool report = %q, want %q", report, want)
	}
	if !strings.Contains(live.String(), "compiling Handler") {
		t.Errorf("tool output not in Output: %q", live.String())
	}
	if c := countLines(t, counter); c != 1 {
		t.Errorf("the command after the tool ran %d times, want 1", c)
	}
	// Compilation runs even without deps, and not again on a hit.
	if r, err := b.Build(context.Background(), Function{Name: "f", Runtime: "fake4", Handler: "hello.Handler", Function: "package kubeless", Env: []string{"COUNTER=" + counter}}); err != nil || !r.Cached {
		t.Errorf("second build: %v", err)
	}
	if c := countLines(t, counter); c != 1 {
		t.Errorf("compilation ran %d times, want 1", c)
	}
}

func TestBuildGoToolFailure(t *testing.T) {
	b := newTestBuilder(t)
	_, err := b.Build(context.Background(), Function{Name: "f", Runtime: "fake5", Handler: "hello.Handler", Function: "package kubeless"})
	if err == nil {
		t.Fatal("Build succeeded")
	}
	if !strings.HasSuffix(err.Error(), "noise 30\n./hello.go:3:2: undefined: fmt.Printx\nkubeless-test-fail: compilation failed") {
		t.Errorf("error does not end with the compiler's message:\n%s", err)
	}
	if left := cacheEntries(t, b); len(left) != 0 {
		t.Errorf("left in the cache: %v", left)
	}
}

func TestBuildWithoutGoTool(t *testing.T) {
	b := newTestBuilder(t)
	b.GoTools = nil
	_, err := b.Build(context.Background(), Function{Name: "f", Runtime: "fake4", Handler: "hello.Handler", Function: "x"})
	if err == nil || !strings.Contains(err.Error(), "kubeless-test-compile: not found") {
		t.Errorf("error = %v, want the shell's \"not found\"", err)
	}
}

func TestBuildScriptsOnPath(t *testing.T) {
	b := newTestBuilder(t)
	res, err := b.Build(context.Background(), Function{Name: "f", Runtime: "fake6", Handler: "hello.foo", Function: "x", Deps: "d"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(readFile(t, filepath.Join(res.Dir, "helper.txt")))
	if filepath.Base(got) != "kubeless-npm-install" || !strings.Contains(got, "kubeless-shims-") {
		t.Errorf("kubeless-npm-install found at %q, want the shim folder", got)
	}
	if _, err := os.Stat(filepath.Dir(got)); err == nil {
		t.Errorf("shim folder %s left behind", filepath.Dir(got))
	}
	if _, ok := Scripts()["kubeless-npm-install"]; !ok {
		t.Error("Scripts() lacks kubeless-npm-install")
	}
}

func TestCacheKey(t *testing.T) {
	b := newTestBuilder(t)
	base := Function{Name: "f", Runtime: "fake7", Handler: "hello.foo", Function: "x", Deps: "", ContentType: "text"}
	key := func(fn Function) string {
		t.Helper()
		in, err := b.check(context.Background(), fn)
		if err != nil {
			t.Fatal(err)
		}
		k, err := b.key(in)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k0 := key(base)
	same := base
	same.Name = "other-name"
	same.ContentType = ""
	same.Checksum = source.Checksum([]byte("x"))
	if key(same) != k0 {
		t.Error("name, checksum or the spelling of text changed the key")
	}
	changes := map[string]func(*Function){
		"code":         func(f *Function) { f.Function = "y" },
		"deps":         func(f *Function) { f.Deps = "d" },
		"handler":      func(f *Function) { f.Handler = "hello.bar" },
		"content type": func(f *Function) { f.ContentType = "base64"; f.Function = "eA==" },
		"env":          func(f *Function) { f.Env = []string{"A=1"} },
		"runtime":      func(f *Function) { f.Runtime = "fake1" },
	}
	seen := map[string]string{k0: "base"}
	for name, change := range changes {
		fn := base
		change(&fn)
		k := key(fn)
		if prev, dup := seen[k]; dup {
			t.Errorf("changing %s gives the key of %s", name, prev)
		}
		seen[k] = name
	}
	// The catalog's command and the salt are part of the key.
	b.Catalog.Runtimes[0].Versions[6].Images[0].Env = map[string]string{"X": "1"}
	if key(base) == k0 {
		t.Error("a catalog env change did not change the key")
	}
	b.Salt = "v2"
	if k := key(base); seen[k] != "" {
		t.Error("the salt did not change the key")
	}
}

func TestTailWriter(t *testing.T) {
	w := newTailWriter(3)
	w.Write([]byte("a\nb\r\nc\nd"))
	w.Write([]byte("e\nf"))
	if got := w.String(); got != "c\nde\nf" {
		t.Errorf("tail = %q", got)
	}
	long := newTailWriter(2)
	long.Write(bytes.Repeat([]byte("x"), 5000))
	long.Write([]byte("\nend\n"))
	if got := long.String(); len(got) != maxTailLine+4 {
		t.Errorf("long line kept %d bytes", len(got))
	}
}

func TestBuildRelativeCacheDir(t *testing.T) {
	t.Chdir(t.TempDir())
	b := newTestBuilder(t)
	b.CacheDir = "cache"
	res, err := b.Build(context.Background(), Function{Name: "f", Runtime: "fake1", Handler: "hello.foo", Function: "x", Deps: "d",
		Env: []string{"COUNTER=" + filepath.Join(t.TempDir(), "counter")}})
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(res.Dir) || readFile(t, filepath.Join(res.Dir, "installed.txt")) != "d" {
		t.Errorf("Dir = %s, want an absolute folder with the install's output", res.Dir)
	}
}

// TestBuildCacheTampered changes a built folder (as a function that could
// write to it would), then builds the same function again: the entry must
// be rejected, rebuilt with the original content, and the event logged.
func TestBuildCacheTampered(t *testing.T) {
	for _, tamper := range []struct {
		name string
		do   func(t *testing.T, dir string)
	}{
		{"file rewritten", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "hello.fk"), []byte("print('evil')\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"file added", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), []byte("evil\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"digest removed", func(t *testing.T, dir string) {
			if err := os.Remove(dir + ".sha256"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tamper.name, func(t *testing.T) {
			b := newTestBuilder(t)
			var logs strings.Builder
			b.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			fn := Function{Name: "victim", Runtime: "fake2", Handler: "hello.foo", Function: "print('hi')\n"}
			res, err := b.Build(context.Background(), fn)
			if err != nil {
				t.Fatal(err)
			}
			tamper.do(t, res.Dir)
			again, err := b.Build(context.Background(), fn)
			if err != nil {
				t.Fatal(err)
			}
			if again.Cached {
				t.Error("the tampered entry was used as a cache hit")
			}
			if got := readFile(t, filepath.Join(again.Dir, "hello.fk")); got != fn.Function {
				t.Errorf("rebuilt code = %q, want %q", got, fn.Function)
			}
			if _, err := os.Stat(filepath.Join(again.Dir, "sitecustomize.py")); err == nil {
				t.Error("the added file survived the rebuild")
			}
			if !strings.Contains(logs.String(), "build cache entry rejected") {
				t.Errorf("no log line about the rejected entry; log:\n%s", logs.String())
			}
			// And the rebuilt entry is a hit again.
			if third, err := b.Build(context.Background(), fn); err != nil || !third.Cached {
				t.Errorf("third build: cached = %v, err = %v; want a hit", third != nil && third.Cached, err)
			}
		})
	}
}
