package e2e_test

// End-to-end proof of issue 3's "Done when": in each of the five languages a
// function with a dependency builds with build.Builder (the default catalog,
// the real tools of this machine, the kubeless Go tools) from plain files,
// from a zip, from a tar.gz and with +deps, is cached, then runs through
// `kubeless runtime run` and answers with a value its dependency computed.
// Bad input (wrong checksum, malicious archive, unknown runtime, broken
// dependency file) fails with one clear line and leaves nothing in the build
// cache.
//
// The dependencies come from sources the test makes itself and that work
// offline: a wheel folder for pip, a tarball packed with npm pack, a gem
// built with gem build and indexed with gem generate_index, a composer path
// repository. Go's comes from the Go module proxy (logrus v1.6.0).
//
// The test binary plays the kubeless binary twice: for the build shims
// (build.ToolArg, which runs kubeless-go-compile) and for
// `kubeless runtime run` (KUBELESS_E2E_AS_CLI=1). A language is skipped only
// when its tools are missing and CI is unset; in CI that is a failure.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/cli"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"
	"github.com/kubeless/kubeless/internal/testutil"
	"github.com/kubeless/kubeless/pkg/contract"
)

// asCLI makes the test binary run as the kubeless command.
const asCLI = "KUBELESS_E2E_AS_CLI"

func TestMain(m *testing.M) {
	// cli.Main also hands a build shim's invocation (build.ToolArg) to
	// build.RunTool with cli.BuildTools.
	if os.Getenv(asCLI) == "1" || (len(os.Args) > 1 && os.Args[1] == build.ToolArg) {
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// stableCache is KUBELESS_CACHE for the Go tools and `runtime run`: the Go
// compile step keeps servers there by content and `runtime run` extracts the
// workers there, so a second run of this test compiles nothing. The build
// cache proper (Builder.CacheDir) is new for every test.
func stableCache() string { return filepath.Join(os.TempDir(), "kubeless-e2e-cache") }

func selfExe(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

func newBuilder(t *testing.T) *build.Builder {
	t.Helper()
	return &build.Builder{
		Catalog:  langruntime.Default(),
		CacheDir: filepath.Join(t.TempDir(), "cache"),
		BaseEnv:  append(os.Environ(), "KUBELESS_CACHE="+stableCache()),
		GoTools:  cli.BuildTools,
		SelfExe:  selfExe(t),
	}
}

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// fixture is a language's local package source, made once and shared by
// the subtests of that language.
type fixture struct {
	// deps is the dependency file that names the local package.
	deps string
	// env is the function's env that points the installer at the source.
	env []string
	// brokenDeps is a dependency file the installer (or compiler) refuses,
	// and brokenWant a text of the tool's own message about it.
	brokenDeps, brokenWant string
}

type language struct {
	rt string
	// probes are the commands besides the interpreter that a build needs;
	// each must run.
	probes [][]string
	// install says what .ci/run must install for this language.
	install string
	handler string
	code    string
	// want is the function's answer to the body "ping": computed by the
	// dependency.
	want  string
	setup func(t *testing.T, ctx context.Context) fixture
}

const reqBody = "ping"

var languages = []language{
	{
		rt:      "python3.11",
		probes:  [][]string{{"python3.11", "-m", "pip", "--version"}},
		install: "python3.11 with pip",
		handler: "hello.handler",
		code: `import e2e_dep


def handler(event, context):
    data = event['data']
    if isinstance(data, bytes):
        data = data.decode()
    return e2e_dep.tag(data)
`,
		want:  "e2e-dep(python) 1.0: PING",
		setup: pythonFixture,
	},
	{
		rt:      "nodejs20",
		probes:  [][]string{{"npm", "--version"}},
		install: "node 20 and npm",
		handler: "hello.handler",
		code: `const dep = require('e2e-dep');

module.exports = { handler: (event, context) => dep.tag(event.data) };
`,
		want:  "e2e-dep(nodejs) 1.0.0: PING",
		setup: nodeFixture,
	},
	{
		rt:      "ruby3.1",
		probes:  [][]string{{"gem", "--version"}, {"bundle", "--version"}},
		install: "ruby 3.1 with gem and bundler",
		handler: "hello.handler",
		code: `require 'e2e_dep'

def handler(event, context)
  E2eDep.tag(event[:data])
end
`,
		want:  "e2e-dep(ruby) 1.0.0: PING",
		setup: rubyFixture,
	},
	{
		rt:      "php8.2",
		probes:  [][]string{{"composer", "--version"}},
		install: "php 8.2 and composer",
		handler: "hello.handler",
		code: `<?php
require __DIR__ . '/vendor/autoload.php';

function handler($event, $context)
{
    return \Acme\E2eDep\Tag::tag($event->data);
}
`,
		want:  "e2e-dep(php) 1.0.0: PING",
		setup: phpFixture,
	},
	{
		rt:      "go1.26",
		install: "go 1.26",
		handler: "hello.Handler",
		code: `package kubeless

import (
	"strings"

	"github.com/kubeless/kubeless/pkg/functions"
	"github.com/sirupsen/logrus"
)

// Handler answers with a log line that logrus formats.
func Handler(event functions.Event, context functions.Context) (string, error) {
	entry := logrus.NewEntry(logrus.New()).WithField("data", strings.ToUpper(event.Data))
	entry.Level = logrus.InfoLevel
	entry.Message = "e2e-dep(go)"
	out, err := (&logrus.JSONFormatter{DisableTimestamp: true}).Format(entry)
	return strings.TrimSpace(string(out)), err
}
`,
		want: `{"data":"PING","level":"info","msg":"e2e-dep(go)"}`,
		setup: func(*testing.T, context.Context) fixture {
			return fixture{
				deps: "module function\n\ngo 1.21\n\nrequire github.com/sirupsen/logrus v1.6.0\n",
				// A require without a version: go.mod does not parse.
				brokenDeps: "module function\n\ngo 1.21\n\nrequire github.com/sirupsen/logrus\n",
				brokenWant: "go.mod",
			}
		},
	},
}

// sourceForm is one way of handing the function's code to the build.
type sourceForm struct {
	name        string
	contentType string
	archive     func(t testing.TB, files map[string]string) []byte
	// depsInside puts the dependency file in the archive (+deps).
	depsInside bool
}

var forms = []sourceForm{
	{name: "text", contentType: "text"},
	{name: "zip", contentType: "base64+zip", archive: testutil.Zip},
	{name: "tar.gz", contentType: "base64+compressedtar", archive: testutil.TarGz},
	{name: "zip+deps", contentType: "base64+zip+deps", archive: testutil.Zip, depsInside: true},
	{name: "tar.gz+deps", contentType: "base64+compressedtar+deps", archive: testutil.TarGz, depsInside: true},
}

// TestFunctionsBuildAndRun builds a function with a dependency in each
// language and each source form, checks that a second build is a cache hit
// under 100 ms, runs it with `kubeless runtime run` and calls it.
func TestFunctionsBuildAndRun(t *testing.T) {
	cat := langruntime.Default()
	for _, lang := range languages {
		t.Run(lang.rt, func(t *testing.T) {
			ctx := testContext(t, 3*time.Minute)
			entry, err := cat.Lookup(lang.rt)
			if err != nil {
				t.Fatal(err)
			}
			needTools(t, ctx, lang, entry)
			start := time.Now()
			fx := lang.setup(t, ctx)
			t.Logf("local package source ready in %v", time.Since(start).Round(time.Millisecond))
			b := newBuilder(t)
			fileName := strings.SplitN(lang.handler, ".", 2)[0] + entry.Runtime.FileNameSuffix
			for _, form := range forms {
				t.Run(form.name, func(t *testing.T) {
					fn := build.Function{
						Name:        "e2e-" + strings.ReplaceAll(form.name, "+", "-"),
						Runtime:     lang.rt,
						Handler:     lang.handler,
						ContentType: form.contentType,
						Deps:        fx.deps,
						Env:         fx.env,
					}
					code := []byte(lang.code)
					if form.archive != nil {
						files := map[string]string{fileName: lang.code}
						if form.depsInside {
							files[entry.Runtime.DepName] = fx.deps
							fn.Deps = ""
						}
						code = form.archive(t, files)
						fn.Function = base64.StdEncoding.EncodeToString(code)
					} else {
						fn.Function = lang.code
					}
					// The right checksum passes; a wrong one is TestBadInput's.
					fn.Checksum = checksum(code)
					res := buildTwice(t, ctx, b, fn)
					if got := readFile(t, filepath.Join(res.Dir, entry.Runtime.DepName)); got != fx.deps {
						t.Errorf("%s in the built folder = %q, want %q", entry.Runtime.DepName, got, fx.deps)
					}
					before := snapshot(t, res.Dir)
					url := startRuntime(t, ctx, lang.rt, res)
					if got := call(t, url); got != lang.want {
						t.Errorf("function answered %q, want %q (computed by its dependency)", got, lang.want)
					}
					// The built folder is shared by every build of the same
					// input: running the function must not change it.
					if after := snapshot(t, res.Dir); !slices.Equal(before, after) {
						t.Errorf("running the function changed the built folder %s:\nbefore %q\nafter  %q", res.Dir, before, after)
					}
				})
			}
			t.Run("broken dependency file", func(t *testing.T) {
				bb := newBuilder(t)
				_, err := bb.Build(ctx, build.Function{
					Name: "bad", Runtime: lang.rt, Handler: lang.handler, ContentType: "text",
					Function: lang.code, Deps: fx.brokenDeps, Env: fx.env,
				})
				if err == nil {
					t.Fatalf("build with a broken %s succeeded", entry.Runtime.DepName)
				}
				phase := langruntime.PhaseInstallation
				if _, ok := entry.Image(langruntime.PhaseInstallation); !ok {
					phase = langruntime.PhaseCompilation
				}
				first, rest, _ := strings.Cut(err.Error(), "\n")
				t.Logf("error: %s", err)
				wantFirst := fmt.Sprintf("build function %q (%s): %s phase of %s failed: ", "bad", lang.rt, phase, lang.rt)
				if !strings.HasPrefix(first, wantFirst) || !strings.HasSuffix(first, "; last lines of output:") {
					t.Errorf("first line = %q, want %q…; last lines of output:", first, wantFirst)
				}
				var pe *build.PhaseError
				if !errors.As(err, &pe) {
					t.Errorf("error is not a *build.PhaseError: %T", err)
				}
				if !strings.Contains(rest, fx.brokenWant) {
					t.Errorf("the tool's last lines do not mention %q:\n%s", fx.brokenWant, rest)
				}
				assertCacheEmpty(t, bb.CacheDir)
			})
		})
	}
}

// TestBadInput: each bad input fails before anything runs, with one line,
// and leaves nothing in the build cache. No language tool is needed.
func TestBadInput(t *testing.T) {
	ctx := testContext(t, time.Minute)
	cat := langruntime.Default()
	code := "def handler(event, context):\n    return 'never'\n"
	zeros := "sha256:" + strings.Repeat("0", 64)
	cases := []struct {
		name  string
		fn    build.Function
		check func(t *testing.T, err error, cacheDir string)
	}{
		{
			name: "wrong checksum",
			fn:   build.Function{Runtime: "python3.11", Handler: "hello.handler", ContentType: "text", Function: code, Checksum: zeros},
			check: func(t *testing.T, err error, _ string) {
				want := `build function "bad": checksum mismatch: expected ` + zeros + ", got " + checksum([]byte(code))
				if err.Error() != want {
					t.Errorf("error = %q, want %q", err, want)
				}
			},
		},
		{
			name: "zip entry ../evil",
			fn: build.Function{Runtime: "python3.11", Handler: "hello.handler", ContentType: "base64+zip",
				Function: base64.StdEncoding.EncodeToString(testutil.Zip(t, map[string]string{"hello.py": code, "../evil": "pwned\n"}))},
			check: func(t *testing.T, err error, cacheDir string) {
				checkUnsafe(t, err, cacheDir, `build function "bad" (python3.11): archive entry "../evil" refused: `)
			},
		},
		{
			name: "tar.gz entry ../evil",
			fn: build.Function{Runtime: "python3.11", Handler: "hello.handler", ContentType: "base64+compressedtar",
				Function: base64.StdEncoding.EncodeToString(testutil.TarGz(t, map[string]string{"hello.py": code, "../evil": "pwned\n"}))},
			check: func(t *testing.T, err error, cacheDir string) {
				checkUnsafe(t, err, cacheDir, `build function "bad" (python3.11): archive entry "../evil" refused: `)
			},
		},
		{
			name: "unknown runtime",
			fn:   build.Function{Runtime: "python2.6", Handler: "hello.handler", ContentType: "text", Function: code},
			check: func(t *testing.T, err error, _ string) {
				want := "Invalid runtime: python2.6. Supported runtimes are: " + strings.Join(cat.Names(), ", ")
				var ire *langruntime.InvalidRuntimeError
				if !errors.As(err, &ire) {
					t.Fatalf("error %q is not an *langruntime.InvalidRuntimeError", err)
				}
				if ire.Error() != want {
					t.Errorf("runtime error = %q, want exactly %q", ire.Error(), want)
				}
				if err.Error() != `build function "bad": `+want {
					t.Errorf("build error = %q, want %q", err, `build function "bad": `+want)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBuilder(t)
			c.fn.Name = "bad"
			_, err := b.Build(ctx, c.fn)
			if err == nil {
				t.Fatal("build succeeded")
			}
			t.Logf("error: %s", err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line:\n%s", err)
			}
			c.check(t, err, b.CacheDir)
			assertCacheEmpty(t, b.CacheDir)
		})
	}

	// The CLI prints the same text, alone on its line, and exits 1.
	t.Run("unknown runtime: kubeless runtime run", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, selfExe(t), "runtime", "run", "python2.6")
		cmd.Env = append(os.Environ(), asCLI+"=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit: %v, want exit status 1", err)
		}
		want := "Error: Invalid runtime: python2.6. Supported runtimes are: " + strings.Join(cat.Names(), ", ") + "\n"
		if stderr.String() != want || stdout.Len() != 0 {
			t.Errorf("stdout %q, stderr %q; want stderr exactly %q", stdout.String(), stderr.String(), want)
		}
	})
}

func checkUnsafe(t *testing.T, err error, cacheDir, wantPrefix string) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Errorf("error = %q, want %q…", err, wantPrefix)
	}
	if !errors.Is(err, source.ErrUnsafeEntry) {
		t.Errorf("error does not wrap source.ErrUnsafeEntry")
	}
	// Nothing was written where ../evil points from the cache or its build
	// folders.
	for _, p := range []string{filepath.Join(cacheDir, "evil"), filepath.Join(filepath.Dir(cacheDir), "evil")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("the archive wrote %s", p)
		}
	}
}

// needTools skips the test when lang's interpreter or tools are missing,
// unless CI is set: then it fails and says what .ci/run must install.
func needTools(t *testing.T, ctx context.Context, lang language, entry langruntime.Entry) {
	t.Helper()
	var problems []string
	local := build.Detector{}.DetectOne(ctx, entry)
	if !local.OK() {
		problems = append(problems, local.Problem)
	} else {
		t.Logf("%s: %s %s", lang.rt, local.Path, local.Version)
	}
	for _, p := range lang.probes {
		if out, err := exec.CommandContext(ctx, p[0], p[1:]...).CombinedOutput(); err != nil {
			line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			problems = append(problems, fmt.Sprintf("%s: %v %s", strings.Join(p, " "), err, line))
		}
	}
	if len(problems) == 0 {
		return
	}
	msg := fmt.Sprintf("%s cannot build here: %s", lang.rt, strings.Join(problems, "; "))
	testutil.Unavailable(t, "%s: install %s", msg, lang.install)
}

// buildTwice builds fn, then builds it again and checks that the second
// build is a cache hit of the same folder that runs no build step. (How fast
// a hit is belongs in bench/, not in a test that a loaded machine fails.)
func buildTwice(t *testing.T, ctx context.Context, b *build.Builder, fn build.Function) *build.Result {
	t.Helper()
	start := time.Now()
	res, err := b.Build(ctx, fn)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	first := time.Since(start)
	if res.Cached {
		t.Errorf("first build reports a cache hit")
	}
	var steps []langruntime.BuildStep
	onPhase := b.OnPhase
	b.OnPhase = func(s langruntime.BuildStep) { steps = append(steps, s) }
	defer func() { b.OnPhase = onPhase }()
	start = time.Now()
	again, err := b.Build(ctx, fn)
	hit := time.Since(start)
	if err != nil {
		t.Fatalf("second Build: %v", err)
	}
	if !again.Cached || again.Dir != res.Dir || again.Key != res.Key {
		t.Errorf("second build: cached=%v dir=%s, want a cache hit of %s", again.Cached, again.Dir, res.Dir)
	}
	if len(steps) > 0 {
		t.Errorf("second build ran the steps %v, want none (a cache hit)", steps)
	}
	t.Logf("built in %v, cache hit in %v", first.Round(time.Millisecond), hit.Round(time.Microsecond))
	return res
}

// startRuntime starts `kubeless runtime run rt` on the built folder, in its
// own process group, waits for /healthz and returns the function's URL. The
// process group is ended when the test ends. The runtime serves on a socket
// the test has bound and hands over (KUBELESS_LISTEN_FD, as the local engine
// does): a port chosen, released and bound later by the runtime could be
// taken in between by another test running in parallel.
func startRuntime(t *testing.T, ctx context.Context, rt string, res *build.Result) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	sock, err := ln.(*net.TCPListener).File()
	ln.Close() // sock is a copy of the socket, still bound and listening
	if err != nil {
		t.Fatal(err)
	}
	// The test's copy closes once the runtime has its own: a runtime that
	// exits then leaves nothing that accepts connections on the port.
	defer sock.Close()
	logPath := filepath.Join(t.TempDir(), "runtime.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(selfExe(t), "runtime", "run", rt)
	cmd.Env = append(os.Environ(),
		asCLI+"=1",
		"KUBELESS_CACHE="+stableCache(),
		"MOD_NAME="+res.Handler.Module,
		"FUNC_HANDLER="+res.Handler.Function,
		"FUNC_PORT="+port,
		"KUBELESS_LISTEN_ADDRESS=127.0.0.1",
		contract.EnvListenFD+"=3",
		"KUBELESS_INSTALL_VOLUME="+res.Dir,
		// The built folder is shared by every build of the same input.
		"PYTHONDONTWRITEBYTECODE=1",
	)
	for _, e := range res.Env {
		cmd.Env = append(cmd.Env, e.String())
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{sock} // descriptor 3 in the runtime
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM to the whole group (the host drains and stops its
		// workers), then SIGKILL if it lingers.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("runtime did not stop within 30s of SIGTERM; killing it")
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // stragglers of the group
		logFile.Close()
		if t.Failed() {
			t.Logf("runtime output:\n%s", readFile(t, logPath))
		}
	})
	url := "http://127.0.0.1:" + port
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("kubeless runtime run %s exited before /healthz answered (%v):\n%s", rt, cmd.ProcessState, readFile(t, logPath))
		case <-ctx.Done():
			t.Fatalf("kubeless runtime run %s: %v", rt, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubeless runtime run %s: /healthz did not answer 200 within 60s:\n%s", rt, readFile(t, logPath))
		}
	}
	t.Logf("runtime ready in %v", time.Since(start).Round(time.Millisecond))
	return url
}

func call(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(url+"/", "text/plain", strings.NewReader(reqBody))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("call: %s: %s", resp.Status, body)
	}
	return string(body)
}

// assertCacheEmpty fails when the build cache holds anything but lock
// files: no built folder, no half-built one.
func assertCacheEmpty(t *testing.T, cacheDir string) {
	t.Helper()
	var found []string
	err := filepath.WalkDir(cacheDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == cacheDir {
				return filepath.SkipAll
			}
			return err
		}
		rel, _ := filepath.Rel(cacheDir, p)
		switch {
		case rel == "." || rel == ".locks":
		case filepath.Dir(rel) == ".locks" && strings.HasSuffix(rel, ".lock") && d.Type().IsRegular():
		default:
			found = append(found, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list the build cache: %v", err)
	}
	if len(found) > 0 {
		t.Errorf("the build cache %s holds %q after a failed build", cacheDir, found)
	}
}

// snapshot lists the entries of dir with their type, size and modification
// time.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, fmt.Sprintf("%s %v %d %d", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return out
}

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("read %s: %v", p, err)
	}
	return string(b)
}

// pythonFixture writes a pure-Python wheel of e2e-dep 1.0 into a folder
// that pip reads with PIP_NO_INDEX and PIP_FIND_LINKS (no index at all).
func pythonFixture(t *testing.T, _ context.Context) fixture {
	env := testutil.PipSource(t, "e2e-dep", "1.0", map[string]string{
		"e2e_dep/__init__.py": "__version__ = '1.0'\n\n\ndef tag(s):\n    return 'e2e-dep(python) ' + __version__ + ': ' + s.upper()\n",
	})
	return fixture{
		deps:       "e2e-dep==1.0\n",
		env:        env,
		brokenDeps: "e2e-missing==9.9\n",
		brokenWant: "No matching distribution found for e2e-missing==9.9",
	}
}

// nodeFixture packs e2e-dep 1.0.0 with npm pack; package.json names the
// tarball by a file: path.
func nodeFixture(t *testing.T, ctx context.Context) fixture {
	tarball := testutil.NpmTarball(t, ctx, "e2e-dep", "1.0.0", map[string]string{
		"index.js": "const { version } = require('./package.json');\nexports.tag = (s) => `e2e-dep(nodejs) ${version}: ${s.toUpperCase()}`;\n",
	})
	deps, err := json.Marshal(map[string]any{
		"name": "e2e-fn", "version": "0.0.1",
		"dependencies": map[string]string{"e2e-dep": "file:" + tarball},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{
		deps: string(deps),
		// npm keeps its cache in HOME; a fresh one keeps the user's out of it.
		env:        []string{"HOME=" + t.TempDir()},
		brokenDeps: `{"name": "e2e-fn", "dependencies": {"e2e-dep": `,
		brokenWant: "EJSONPARSE",
	}
}

// rubyFixture builds e2e_dep 1.0.0 with gem build into a folder indexed
// with gem generate_index; the Gemfile's source is that folder.
func rubyFixture(t *testing.T, ctx context.Context) fixture {
	repo := testutil.GemSource(t, ctx, "e2e_dep", "1.0.0", map[string]string{
		"lib/e2e_dep.rb": "module E2eDep\n  VERSION = '1.0.0'\n\n  def self.tag(s)\n    \"e2e-dep(ruby) #{VERSION}: #{s.upcase}\"\n  end\nend\n",
	})
	return fixture{
		deps:       "source \"file://" + repo + "\"\n\ngem \"e2e_dep\", \"1.0.0\"\n",
		brokenDeps: "source \"file://" + repo + "\"\n\ngem \"e2e_missing\", \"9.9\"\n",
		brokenWant: "e2e_missing",
	}
}

// phpFixture makes acme/e2e-dep 1.0.0 in a folder that composer.json names
// as a path repository, with composer's default repository turned off.
func phpFixture(t *testing.T, _ context.Context) fixture {
	pkg := testutil.ComposerSource(t, "acme/e2e-dep", "1.0.0", `Acme\E2eDep\`, map[string]string{
		"src/Tag.php": `<?php
namespace Acme\E2eDep;

final class Tag
{
    public const VERSION = '1.0.0';

    public static function tag(string $s): string
    {
        return 'e2e-dep(php) ' . self::VERSION . ': ' . strtoupper($s);
    }
}
`,
	})
	return fixture{
		deps:       testutil.ComposerRequire(t, pkg, "acme/e2e-dep", "1.0.0"),
		env:        []string{"COMPOSER_HOME=" + t.TempDir()},
		brokenDeps: `{"require": {"acme/e2e-dep": "1.0.0"`,
		brokenWant: "composer.json",
	}
}
