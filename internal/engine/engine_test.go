package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/api"
	"github.com/kubeless/kubeless/internal/engine/client"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/pkg/contract"
)

// asRuntime makes the test binary act as `kubeless runtime run fake1`: a tiny
// HTTP server that answers with its code file's text and the request body.
const asRuntime = "KUBELESS_ENGINE_TEST_RUNTIME"

func TestMain(m *testing.M) {
	if os.Getenv(asBusyWorker) == "1" {
		busyWorker()
		os.Exit(0)
	}
	if os.Getenv(asRuntime) == "1" && len(os.Args) > 2 && os.Args[1] == "runtime" && os.Args[2] == "run" {
		os.Exit(fakeRuntime())
	}
	pollInterval = 50 * time.Millisecond
	autoscaleInterval = 300 * time.Millisecond
	drainDelay = 200 * time.Millisecond
	os.Exit(m.Run())
}

func fakeRuntime() int {
	vol := os.Getenv("KUBELESS_INSTALL_VOLUME")
	code, err := os.ReadFile(filepath.Join(vol, os.Getenv("MOD_NAME")+".fake"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	if strings.Contains(string(code), "busychild") {
		// Like an interpreted runtime: the work happens in a child process.
		self, _ := os.Executable()
		child := exec.Command(self)
		child.Env = append(os.Environ(), asBusyWorker+"=1")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "busy child:", err)
			return 1
		}
	}
	if f := strings.Fields(string(code)); len(f) == 2 && f[0] == "crash-first" {
		// The first instance to start records its port, and crashes
		// whenever it runs on that port; the others serve.
		port := os.Getenv("FUNC_PORT")
		if fh, err := os.OpenFile(f[1], os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
			fh.WriteString(port)
			fh.Close()
		}
		if b, _ := os.ReadFile(f[1]); string(b) == port {
			fmt.Fprintln(os.Stderr, "crash-first: crashing on purpose")
			return 1
		}
	} else if strings.Contains(string(code), "crash") {
		fmt.Println("starting")
		fmt.Fprintln(os.Stderr, "module hello cannot load: crash on purpose")
		return 1
	}
	if f := strings.Fields(string(code)); len(f) == 2 && f[0] == "startgate" {
		// Serves once the test creates the file f[1].
		waitFile(f[1])
	}
	fmt.Println("runtime run", os.Args[3])
	mux := http.NewServeMux()
	token := os.Getenv(contract.EnvInstanceToken)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if nonce := r.Header.Get(contract.HeaderInstanceNonce); nonce != "" {
			w.Header().Set(contract.HeaderInstanceProof, contract.InstanceProof(token, nonce))
		}
		io.WriteString(w, "OK")
	})
	var mu sync.Mutex
	calls := map[string]int{}
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(w, "# TYPE function_calls_total counter")
		for m, n := range calls {
			fmt.Fprintf(w, "function_calls_total{method=%q} %d\n", m, n)
		}
		fmt.Fprintln(w, "# TYPE function_duration_seconds histogram")
		for m, n := range calls {
			fmt.Fprintf(w, "function_duration_seconds_bucket{method=%q,le=\"+Inf\"} %d\n", m, n)
			fmt.Fprintf(w, "function_duration_seconds_sum{method=%q} %g\n", m, 0.5*float64(n))
			fmt.Fprintf(w, "function_duration_seconds_count{method=%q} %d\n", m, n)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Method]++
		mu.Unlock()
		if f := strings.Fields(string(code)); len(f) == 2 && f[0] == "callgate" {
			// Answers once the test creates the file f[1].
			waitFile(f[1])
		}
		if strings.TrimSpace(string(code)) == "answer500" {
			http.Error(w, "fails on purpose", http.StatusInternalServerError)
			return
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Println("called", r.Method)
		fmt.Fprintf(w, "%s|%s|%s", strings.TrimSpace(string(code)), os.Getenv("GREETING"), b)
	})
	// The socket the engine bound, as pkg/host takes it.
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil || os.Getenv(contract.EnvListenFD) != "3" {
		fmt.Fprintln(os.Stderr, "no listener on fd 3:", err)
		return 1
	}
	// Like the function host: SIGTERM stops accepting and lets the calls in
	// flight finish.
	// Like the function host: only requests with the instance token.
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" || r.Header.Get(contract.HeaderInstanceToken) != token {
			http.Error(w, "this instance is reached through the kubeless gateway", http.StatusForbidden)
			return
		}
		r.Header.Del(contract.HeaderInstanceToken)
		mux.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: guarded}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// waitFile waits until the file exists (a gate the test opens).
func waitFile(path string) {
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// asBusyWorker makes the test binary spin on the CPU until its parent is
// gone (at most a minute): the worker of a fake interpreted runtime.
const asBusyWorker = "KUBELESS_ENGINE_TEST_BUSY"

func busyWorker() {
	parent := os.Getppid()
	end := time.Now().Add(time.Minute)
	for time.Now().Before(end) && os.Getppid() == parent {
		for i := 0; i < 1e7; i++ {
		}
	}
}

const fakeCatalog = `[{"ID":"fake","depName":"deps.txt","fileNameSuffix":".fake","versions":[
 {"name":"fake1","version":"1","images":[
  {"phase":"installation","image":"x","command":"if [ -n \"$KUBELESS_TEST_ATTEMPTS\" ]; then echo x >>\"$KUBELESS_TEST_ATTEMPTS\"; fi; cat \"$KUBELESS_DEPS_FILE\"; if grep -q nospace \"$KUBELESS_DEPS_FILE\" && [ -e \"$KUBELESS_TEST_NOSPACE\" ]; then echo 'write /cache/x: No space left on device' >&2; exit 1; fi; if grep -q fail \"$KUBELESS_DEPS_FILE\"; then echo 'no such package: fail' >&2; exit 3; fi; if grep -q slow \"$KUBELESS_DEPS_FILE\"; then i=0; while [ ! -e \"$KUBELESS_TEST_RELEASE\" ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; fi"},
  {"phase":"runtime","image":"y"}]}]}]`

// testStartTimeout is the test engines' Options.StartTimeout.
var testStartTimeout = 10 * time.Second

func newTestEngine(t *testing.T, home string) (*Engine, func()) {
	t.Helper()
	return newTestEngineWith(t, home, fakeCatalog)
}

// newTestEngineWith is newTestEngine with the catalog catalogJSON.
func newTestEngineWith(t *testing.T, home, catalogJSON string) (*Engine, func()) {
	t.Helper()
	cat, err := langruntime.Parse([]byte(catalogJSON))
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	e := New(Options{
		Home: home, Catalog: cat, SelfExe: self, GatewayAddr: "127.0.0.1:0",
		BaseEnv: os.Environ(), InstanceEnv: []string{asRuntime + "=1"}, StartTimeout: testStartTimeout,
		StopGrace: time.Second, Version: "test",
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- e.Run(ctx) }()
	select {
	case <-e.Ready():
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("engine not ready")
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return e, stop
}

func testFunction(name, code string) *v1beta1.Function {
	return &v1beta1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.FunctionSpec{
			Runtime: "fake1", Handler: "hello.foo", Function: code, FunctionContentType: "text",
		},
	}
}

// waitReason waits until the function's Ready condition has reason.
func waitReason(t *testing.T, e *Engine, name, reason string) *v1beta1.Function {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last *v1beta1.Function
	for time.Now().Before(deadline) {
		fn, err := e.Get(context.Background(), "default", name)
		if err != nil {
			t.Fatal(err)
		}
		last = fn
		if c := readyCondition(fn); c != nil && c.Reason == reason && fn.Status.ObservedGeneration == fn.Generation {
			return fn
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("function %s never reached %s; status %+v", name, reason, last.Status)
	return nil
}

func call(t *testing.T, e *Engine, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+e.GatewayAddr()+path, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDeployCallUpdateDelete(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	fn := waitReason(t, e, "hello", reasonReady)
	if fn.Status.Ready != "1/1" {
		t.Errorf("ready = %q, want 1/1", fn.Status.Ready)
	}
	if code, body := call(t, e, "/hello", "ping"); code != 200 || body != "v1||ping" {
		t.Fatalf("call = %d %q", code, body)
	}

	// Update only the env and replicas: the code stays.
	r := int32(2)
	d := &appsv1.Deployment{}
	d.Spec.Replicas = &r
	d.Spec.Template.Spec.Containers = []corev1.Container{{Env: []corev1.EnvVar{{Name: "GREETING", Value: "hi"}}}}
	patch := &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "hello"}}
	if err := patch.Spec.SetDeploymentTemplate(d); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Update(ctx, patch); err != nil {
		t.Fatal(err)
	}
	fn = waitReason(t, e, "hello", reasonReady)
	if fn.Status.Ready != "2/2" || fn.Spec.Function != "v1" || fn.Spec.Runtime != "fake1" {
		t.Errorf("after update: ready %q, spec %+v", fn.Status.Ready, fn.Spec)
	}
	if code, body := call(t, e, "/hello", "x"); code != 200 || body != "v1|hi|x" {
		t.Fatalf("call after update = %d %q", code, body)
	}

	// Logs hold the instance's output.
	lines, err := e.Logs(ctx, "default", "hello", backend.LogOptions{Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for l := range lines {
		all = append(all, l)
	}
	if !strings.Contains(strings.Join(all, "\n"), "called POST") {
		t.Errorf("logs = %q", all)
	}

	if err := e.Delete(ctx, "default", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(ctx, "default", "hello"); backend.CodeOf(err) != backend.CodeNotFound {
		t.Errorf("Get after delete: %v", err)
	}
	if code, _ := call(t, e, "/hello", ""); code != 404 {
		t.Errorf("call after delete = %d, want 404", code)
	}
	if len(e.sup.List()) != 0 {
		// Removed processes are forgotten.
		for _, s := range e.sup.List() {
			if s.State == "running" {
				t.Errorf("instance still running: %+v", s)
			}
		}
	}
}

func TestFailures(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()

	bad := testFunction("badbuild", "v1")
	bad.Spec.Deps = "fail\n"
	if _, err := e.Deploy(ctx, bad); err != nil {
		t.Fatal(err)
	}
	fn := waitReason(t, e, "badbuild", reasonBuildFailed)
	if msg := readyCondition(fn).Message; !strings.Contains(msg, "no such package: fail") {
		t.Errorf("build failure message = %q", msg)
	}
	if code, body := call(t, e, "/badbuild", ""); code != 503 || !strings.Contains(body, "BuildFailed") {
		t.Errorf("call of failed function = %d %q", code, body)
	}

	if _, err := e.Deploy(ctx, testFunction("crasher", "crash")); err != nil {
		t.Fatal(err)
	}
	fn = waitReason(t, e, "crasher", reasonInstanceFailed)
	if msg := readyCondition(fn).Message; !strings.Contains(msg, "crash on purpose") || !strings.Contains(msg, "exited with code 1") {
		t.Errorf("instance failure message = %q", msg)
	}

	// An update supersedes the failed generation.
	if _, err := e.Update(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "crasher"}, Spec: v1beta1.FunctionSpec{Function: "fixed"}}); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "crasher", reasonReady)
}

func TestValidation(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	tests := []struct {
		name    string
		mutate  func(*v1beta1.Function)
		code    string
		wantErr string
	}{
		{"bad name", func(f *v1beta1.Function) { f.Name = "Hello_World" }, backend.CodeInvalid, `invalid function name "Hello_World": use at most 63 lowercase letters`},
		{"unknown runtime", func(f *v1beta1.Function) { f.Spec.Runtime = "cobol1" }, backend.CodeInvalid, "Invalid runtime: cobol1. Supported runtimes are: fake1"},
		{"bad handler", func(f *v1beta1.Function) { f.Spec.Handler = "hello" }, backend.CodeInvalid, "failed: incorrect handler format. It should be module_name.handler_name"},
		{"no handler", func(f *v1beta1.Function) { f.Spec.Handler = "" }, backend.CodeInvalid, "You must specify handler for the runtime."},
		{"bad timeout", func(f *v1beta1.Function) { f.Spec.Timeout = "soon" }, backend.CodeInvalid, `invalid timeout "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := testFunction("valid", "v1")
			tt.mutate(fn)
			_, err := e.Deploy(ctx, fn)
			if err == nil || backend.CodeOf(err) != tt.code || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v (code %q), want prefix %q", err, backend.CodeOf(err), tt.wantErr)
			}
		})
	}
	if _, err := e.Deploy(ctx, testFunction("dup", "v1")); err != nil {
		t.Fatal(err)
	}
	_, err := e.Deploy(ctx, testFunction("dup", "v1"))
	want := `function "dup" already exists in namespace "default": use kubeless function update`
	if err == nil || err.Error() != want || backend.CodeOf(err) != backend.CodeAlreadyExists {
		t.Errorf("second deploy: %v", err)
	}
	if _, err := e.Update(ctx, testFunction("nothere", "v1")); backend.CodeOf(err) != backend.CodeNotFound {
		t.Errorf("update of missing function: %v", err)
	}
}

func TestRestartBringsFunctionsBack(t *testing.T) {
	home := t.TempDir()
	e, stop := newTestEngine(t, home)
	if _, err := e.Deploy(context.Background(), testFunction("keep", "kept")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "keep", reasonReady)
	stop()

	e2, _ := newTestEngine(t, home)
	fn := waitReason(t, e2, "keep", reasonReady)
	if fn.Generation != 1 {
		t.Errorf("generation = %d", fn.Generation)
	}
	if code, body := call(t, e2, "/keep", ""); code != 200 || body != "kept||" {
		t.Errorf("call after restart = %d %q", code, body)
	}
}

func TestSecondEngineRefused(t *testing.T) {
	home := t.TempDir()
	newTestEngine(t, home)
	e2 := New(Options{Home: home, GatewayAddr: "127.0.0.1:0"})
	err := e2.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "already uses") {
		t.Errorf("second Run = %v", err)
	}
	fi, err := os.Stat(filepath.Join(home, api.SocketName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v %v", fi.Mode(), err)
	}
}

func TestThroughAPIClient(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	cl := client.New(e.Socket())
	ctx := context.Background()
	st, err := cl.Status(ctx)
	if err != nil || st.PID != os.Getpid() || st.Gateway != e.GatewayAddr() {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if _, err := cl.Deploy(ctx, testFunction("viaapi", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "viaapi", reasonReady)
	if _, err := cl.Deploy(ctx, testFunction("viaapi", "v1")); !client.IsAlreadyExists(err) {
		t.Errorf("second deploy: %v", err)
	}
	if _, err := cl.Deploy(ctx, testFunction("x", "v1").DeepCopy()); err != nil {
		t.Fatal(err)
	}
	fns, err := cl.List(ctx, "default")
	if err != nil || len(fns) != 2 {
		t.Fatalf("List = %d, %v", len(fns), err)
	}

	// Follow the logs while calling the function.
	fctx, cancel := context.WithCancel(ctx)
	got := make(chan string, 16)
	go func() {
		_ = cl.Logs(fctx, "default", "viaapi", backend.LogOptions{Follow: true, Tail: 0}, func(l string) { got <- l })
		close(got)
	}()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for found := false; !found; {
		select {
		case l := <-got:
			found = strings.Contains(l, "called POST")
		case <-tick.C:
			call(t, e, "/viaapi", "")
		case <-deadline:
			t.Fatal("followed logs never showed the call")
		}
	}
	cancel()
	if err := cl.Delete(ctx, "default", "viaapi"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, "default", "viaapi"); !client.IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
}

// A function with a runtime name of the original's catalog runs on the
// nearest version of its language, and its status says so.
func TestOldRuntimeName(t *testing.T) {
	e, _ := newTestEngineWith(t, t.TempDir(), `[{"ID":"python","fileNameSuffix":".fake","versions":[
		{"version":"3.12","images":[{"phase":"runtime","image":"y"}]},
		{"version":"3.9","images":[{"phase":"runtime","image":"y"}]}]}]`)
	ctx := context.Background()
	fn := testFunction("old", "v1")
	fn.Spec.Runtime = "python3.7"
	if _, err := e.Deploy(ctx, fn); err != nil {
		t.Fatal(err)
	}
	got := waitReason(t, e, "old", reasonReady)
	sub := meta.FindStatusCondition(got.Status.Conditions, v1beta1.ConditionRuntimeSubstituted)
	if sub == nil || sub.Message != "python3.7 runs on python3.9" {
		t.Errorf("RuntimeSubstituted condition %+v", sub)
	}
	if code, body := call(t, e, "/old", "x"); code != 200 || body != "v1||x" {
		t.Errorf("call = %d %q", code, body)
	}
	lines, err := e.Logs(ctx, "default", "old", api.LogOptions{Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for l := range lines {
		all = append(all, l)
	}
	if !strings.Contains(strings.Join(all, "\n"), "runtime run python3.9") {
		t.Errorf("logs = %q, want the instance started as runtime run python3.9", all)
	}

	// Not an original name: refused as before.
	fn = testFunction("new", "v1")
	fn.Spec.Runtime = "python3.5"
	if _, err := e.Deploy(ctx, fn); err == nil || !strings.Contains(err.Error(), "Invalid runtime: python3.5. Supported runtimes are: python3.12, python3.9") {
		t.Errorf("Deploy(python3.5) error = %v", err)
	}
}
