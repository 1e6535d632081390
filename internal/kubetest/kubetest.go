// Package kubetest starts a real kube-apiserver and etcd (controller-runtime's
// envtest) with the Kubeless CRDs installed, for the tests of one package.
//
// The binaries come from $KUBEBUILDER_ASSETS, or else from the folder
// hack/build-k8s.sh fills (~/.cache/kubeless/k8s/bin-v1.37.2). Without them a
// local run skips the envtest tests with a message that says how to build
// them; under CI (CI set to anything but "", "0" or "false"; .ci/run sets
// it) it fails, so CI can never pass by skipping.
//
// Use it from TestMain:
//
//	var env *kubetest.Env
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &env)) }
//
// and in each test env.Require(t), then env.Namespace(t) for a namespace of
// its own.
package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/testutil"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubeless/kubeless/internal/kubescheme"
)

// K8sVersion is the version hack/build-k8s.sh builds.
const K8sVersion = "v1.37.2"

// Env is a running API server.
type Env struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is a controller-runtime client with Scheme.
	Client client.Client
	// Scheme knows the core Kubernetes types and the Kubeless ones.
	Scheme *k8sruntime.Scheme
	// Dir is the repository's root.
	Dir string

	env    *envtest.Environment
	why    string // why the API server is not running, when Config is nil
	onStop []func()
	gc     *exec.Cmd // kube-controller-manager running the garbage collector
	gcWhy  string    // why it is not running
}

// OnStop registers f to run before the API server stops (to stop
// controllers that talk to it).
func (e *Env) OnStop(f func()) { e.onStop = append(e.onStop, f) }

// RepoRoot is the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// AssetsDir returns the folder with kube-apiserver and etcd, or "" with the
// reason when there is none.
func AssetsDir() (string, string) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		cache := os.Getenv("KUBELESS_K8S_CACHE")
		if cache == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				return "", err.Error()
			}
			cache = filepath.Join(base, "kubeless", "k8s")
		}
		dir = filepath.Join(cache, "bin-"+K8sVersion)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Sprintf("no %s in %s: run hack/build-k8s.sh (about 15 min the first time) or set KUBEBUILDER_ASSETS", b, dir)
		}
	}
	return dir, ""
}

// MustRun reports whether the envtest tests may not skip: under CI
// (testutil.InCI).
func MustRun() bool { return testutil.InCI() }

// Main starts the API server, runs the tests and stops it; it returns the
// exit code. Without binaries it runs the tests anyway (envtest tests skip
// through Require), except under CI, where it fails.
func Main(m *testing.M, env **Env) int {
	e, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: %v\n", err)
		return 1
	}
	*env = e
	if e.Config == nil {
		if MustRun() {
			fmt.Fprintf(os.Stderr, "kubetest: CI must run the envtest tests: %s\n", e.why)
			return 1
		}
		fmt.Fprintf(os.Stderr, "kubetest: skipping the envtest tests: %s\n", e.why)
	}
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: stop: %v\n", err)
	}
	return code
}

// Start starts etcd and kube-apiserver with the CRDs of config/crd/bases.
// When the binaries are missing it returns an Env whose Config is nil.
func Start() (*Env, error) {
	root := RepoRoot()
	e := &Env{Scheme: kubescheme.New(), Dir: root}
	assets, why := AssetsDir()
	if assets == "" {
		e.why = why
		return e, nil
	}
	e.env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                e.Scheme,
	}
	cfg, err := e.env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", assets, err)
	}
	// Tests create many objects quickly; the default 5 qps makes them slow.
	cfg.QPS, cfg.Burst = 200, 400
	e.Config = cfg
	c, err := client.New(cfg, client.Options{Scheme: e.Scheme})
	if err != nil {
		_ = e.env.Stop()
		return nil, err
	}
	e.Client = c
	if err := e.startGarbageCollector(assets); err != nil {
		_ = e.env.Stop()
		return nil, err
	}
	return e, nil
}

// startGarbageCollector runs kube-controller-manager from assets with only
// its garbage collector, so that deleting an owner deletes what it owns, as
// in a cluster (envtest alone has no controller). Without the binary,
// tests that need it skip (or fail under CI, see RequireGarbageCollector).
func (e *Env) startGarbageCollector(assets string) error {
	bin := filepath.Join(assets, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		e.gcWhy = fmt.Sprintf("no kube-controller-manager in %s: run hack/build-k8s.sh", assets)
		return nil
	}
	dir, err := os.MkdirTemp("", "kubetest-kcm-")
	if err != nil {
		return err
	}
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, e.env.KubeConfig, 0o600); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "kube-controller-manager.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "--kubeconfig="+kc, "--controllers=garbage-collector-controller",
		"--leader-elect=false", "--use-service-account-credentials=false", "--secure-port=0")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start kube-controller-manager: %w", err)
	}
	logf.Close()
	e.gc = cmd
	return nil
}

// RequireGarbageCollector skips t when kube-controller-manager's garbage
// collector is not running (outside CI), and fails it under CI.
func (e *Env) RequireGarbageCollector(t testing.TB) {
	t.Helper()
	e.Require(t)
	if e.gc == nil {
		testutil.Unavailable(t, "no garbage collector: %s", e.gcWhy)
	}
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error {
	if e == nil || e.env == nil {
		return nil
	}
	for i := len(e.onStop) - 1; i >= 0; i-- {
		e.onStop[i]()
	}
	if e.gc != nil {
		_ = e.gc.Process.Kill()
		_ = e.gc.Wait()
	}
	return e.env.Stop()
}

// KubeConfig is a kubeconfig file's content for the administrator.
func (e *Env) KubeConfig() []byte { return e.env.KubeConfig }

// Require skips t when the API server is not running (outside CI; under CI
// Main has already failed, and so does t).
func (e *Env) Require(t testing.TB) {
	t.Helper()
	if e == nil || e.Config == nil {
		why := "no API server"
		if e != nil {
			why = e.why
		}
		testutil.Unavailable(t, "envtest: %s", why)
	}
}

// Namespace creates a namespace for t, deleted when t ends, and returns its
// name.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	e.Require(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "t-" + hex.EncodeToString(b)}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = e.Client.Delete(context.Background(), ns)
	})
	return ns.Name
}

// Eventually calls f every 50 ms until it returns nil or timeout passes; then
// it fails t with f's last error.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
