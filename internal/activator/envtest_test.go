package activator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/activator"
	"github.com/kubeless/kubeless/internal/kubetest"
)

var env *kubetest.Env

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &env)) }

// applyFiles server-side applies every document of the files, as an
// administrator.
func applyFiles(ctx context.Context, c client.Client, paths ...string) error {
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return err
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("test"), client.ForceOwnership); err != nil {
				return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
	}
	return nil
}

// ports opens the activator's ports on free local ones.
type ports struct {
	mu    sync.Mutex
	addrs map[int32]string
}

func (p *ports) listen(port int32) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.addrs[port] = ln.Addr().String()
	p.mu.Unlock()
	return ln, nil
}

func (p *ports) addr(port int32) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addrs[port]
}

// TestActivatorWakesAFunctionAtZero runs the activator as kubeless.yaml's
// activator-acct against an API server: a call on the function's activator
// port scales its Deployment from 0 to 1 through the scale subresource,
// waits for the pod the test marks ready, and is forwarded to it.
func TestActivatorWakesAFunctionAtZero(t *testing.T) {
	env.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := env.Client
	if err := applyFiles(ctx, admin, filepath.Join(env.Dir, "config/manager/namespace.yaml"), filepath.Join(env.Dir, "config/rbac/activator_role.yaml")); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)

	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "pod got %s", b)
	}))
	defer pod.Close()
	_, podPortStr, _ := net.SplitHostPort(pod.Listener.Addr().String())
	podPort, _ := strconv.Atoi(podPortStr)

	labels := map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, v1beta1.LabelFunction: "hello"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(0)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: "localhost/none:1"}}},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello", Labels: labels,
			Annotations: map[string]string{v1beta1.AnnotationActivatorPort: "20007"}},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http-function-port", Port: 8080, TargetPort: intstr.FromInt(podPort)}}},
	}
	for _, o := range []client.Object{d, svc} {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		// Namespaces are not emptied here (no namespace controller): a
		// Service left behind would still claim the activator port.
		t.Cleanup(func() { admin.Delete(context.Background(), o) })
	}

	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:kubeless:activator-acct"}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: env.Scheme, Cache: activator.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &ports{addrs: map[int32]string{}}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := activator.Setup(ctx, mgr, activator.Options{HoldTimeout: 2 * time.Minute, Log: log}, p.listen); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("activator stopped: %v", err)
		}
	}()
	defer func() { cancel(); <-done }()

	// The port opens once the activator has seen the Service.
	kubetest.Eventually(t, 30*time.Second, func() error {
		if p.addr(20007) == "" {
			return errors.New("activator port 20007 not open")
		}
		return nil
	})
	type answer struct {
		code int
		body string
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.Post("http://"+p.addr(20007)+"/", "text/plain", bytes.NewReader([]byte("hi")))
		if err != nil {
			answers <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers <- answer{code: resp.StatusCode, body: string(b)}
	}()

	// The call scales the Deployment to one...
	kubetest.Eventually(t, 30*time.Second, func() error {
		var cur appsv1.Deployment
		if err := admin.Get(ctx, client.ObjectKeyFromObject(d), &cur); err != nil {
			return err
		}
		if ptr.Deref(cur.Spec.Replicas, -1) != 1 {
			return fmt.Errorf("replicas %d, want 1", ptr.Deref(cur.Spec.Replicas, -1))
		}
		return nil
	})
	select {
	case a := <-answers:
		t.Fatalf("answered %d %q %v before a pod was ready", a.code, a.body, a.err)
	default:
	}
	// ...and is answered by the pod once it is ready (no kubelet here: the
	// test plays it).
	pd := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello-abc12", Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: "localhost/none:1"}}},
	}
	if err := admin.Create(ctx, pd); err != nil {
		t.Fatal(err)
	}
	pd.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1", PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if err := admin.Status().Update(ctx, pd); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answers:
		if a.err != nil || a.code != http.StatusOK || a.body != "pod got hi" {
			t.Errorf("answer %d %q %v, want 200 \"pod got hi\"", a.code, a.body, a.err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the held call was not answered")
	}
}
