package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/kubetest"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/testutil"
	"github.com/kubeless/kubeless/pkg/contract"
)

// env is the API server of the Kubernetes engine's tests (kube_test.go).
var env *kubetest.Env

// TestMain lets the test binary serve as the kubeless binary that build
// shims re-execute, and starts the API server of the envtest tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == build.ToolArg {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(kubetest.Main(m, &env))
}

const helloDeps = `package kubeless

import (
	"github.com/kubeless/kubeless/pkg/functions"
	"github.com/sirupsen/logrus"
)

// Hello logs its input with a dependency from the Go module proxy.
func Hello(event functions.Event, context functions.Context) (string, error) {
	logrus.Info(event.Data)
	return "Hello world!", nil
}
`

func newBuilder(t *testing.T) *build.Builder {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &build.Builder{
		Catalog:  langruntime.Default(),
		CacheDir: t.TempDir(),
		BaseEnv:  append(os.Environ(), "KUBELESS_CACHE="+filepath.Join(os.TempDir(), "kubeless-test-gocache")),
		GoTools:  BuildTools,
		SelfExe:  self,
	}
}

// A Go function with a go.mod dependency builds through the catalog's
// compilation phase and its server answers.
func TestGoFunctionBuildsAndRuns(t *testing.T) {
	testutil.NeedTool(t, "go")
	b := newBuilder(t)
	fn := build.Function{
		Name: "get-go-deps", Runtime: "go1.26", Handler: "hellowithdeps.Hello",
		Function: helloDeps, ContentType: "text",
		Deps: "module function\n\ngo 1.14\n\nrequire github.com/sirupsen/logrus v1.6.0\n",
	}
	ctx := context.Background()
	res, err := b.Build(ctx, fn)
	if err != nil {
		t.Fatal(err)
	}
	server := filepath.Join(res.Dir, "server")
	if _, err := os.Stat(server); err != nil {
		t.Fatalf("no server after the compilation phase: %v", err)
	}
	var steps []langruntime.BuildStep
	b.OnPhase = func(s langruntime.BuildStep) { steps = append(steps, s) }
	again, err := b.Build(ctx, fn)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || len(steps) > 0 {
		t.Errorf("second build: cached=%v, steps %v; want a cache hit that runs no step", again.Cached, steps)
	}

	// The server serves on a socket the test has bound and hands over
	// (KUBELESS_LISTEN_FD): a port chosen, released and then bound by the
	// server could be taken in between by a test running in parallel.
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
	cmd := exec.Command(server)
	cmd.Env = append(os.Environ(), "MOD_NAME=hellowithdeps", "FUNC_HANDLER=Hello", "FUNC_PORT="+port,
		"KUBELESS_INSTALL_VOLUME="+res.Dir, "KUBELESS_LISTEN_ADDRESS=127.0.0.1",
		contract.EnvListenFD+"=3")
	cmd.ExtraFiles = []*os.File{sock} // descriptor 3 in the server
	stderr := newWatchedBuffer()
	cmd.Stderr = stderr
	err = cmd.Start()
	sock.Close() // the server has its own copy
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		resp, err := http.Post("http://127.0.0.1:"+port+"/", "application/json", strings.NewReader(`{"hello":"world"}`))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if body != "Hello world!" {
		t.Fatalf("server answered %q; stderr: %s", body, stderr.String())
	}
	if !stderr.waitFor(`level=info msg="{\"hello\":\"world\"}"`, 10*time.Second) {
		t.Errorf("logrus output missing from stderr after 10 s: %q", stderr.String())
	}
}

// watchedBuffer collects a process's output, written by exec's copying
// goroutine while the test reads it, and lets the test wait for a line.
type watchedBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{changed: make(chan struct{}, 1)} }

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.b.Write(p)
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitFor reports whether substr appears in the output within d.
func (w *watchedBuffer) waitFor(substr string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		if strings.Contains(w.String(), substr) {
			return true
		}
		select {
		case <-w.changed:
		case <-deadline:
			return false
		}
	}
}

// A compile error ends the build with the compiler's message, file and line.
func TestGoFunctionCompileError(t *testing.T) {
	testutil.NeedTool(t, "go")
	b := newBuilder(t)
	_, err := b.Build(context.Background(), build.Function{
		Name: "broken", Runtime: "go1.26", Handler: "broken.Foo", ContentType: "text",
		Function: "package kubeless\n\nimport \"github.com/kubeless/kubeless/pkg/functions\"\n\nfunc Foo(e functions.Event, c functions.Context) (string, error) {\n\treturn undefinedThing, nil\n}\n",
	})
	if err == nil {
		t.Fatal("build of a broken function succeeded")
	}
	if !strings.Contains(err.Error(), "broken.go:6:9: undefined: undefinedThing") {
		t.Errorf("error lacks the compiler's file:line message: %v", err)
	}
	entries, _ := os.ReadDir(b.CacheDir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && e.Name() != "tmp" && e.Name() != "locks" {
			t.Logf("cache entry after failure: %s", e.Name())
		}
	}
}
