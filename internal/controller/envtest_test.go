package controller_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/controller"
	"github.com/kubeless/kubeless/internal/kubetest"
	"github.com/kubeless/kubeless/internal/render"
)

var env *kubetest.Env

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &env)) }

// controllerUser is the controller's service account from kubeless.yaml.
// The test controller runs as that user, so every test also checks that
// the RBAC of kubeless.yaml allows what the controller does.
const controllerUser = "system:serviceaccount:kubeless:controller-acct"

// testProvisionImage and testPullPolicy are the controller's flags in these
// tests: images that a cluster without registry has imported.
const (
	testProvisionImage = "localhost/busybox:local"
	testPullPolicy     = corev1.PullNever
)

var startOnce struct {
	sync.Once
	err error
}

// startController applies kubeless.yaml (server-side, as an administrator)
// and starts the controller in this process, once for the package.
func startController(t *testing.T) client.Client {
	t.Helper()
	env.Require(t)
	startOnce.Do(func() {
		ctx := context.Background()
		level := slog.LevelError
		if testing.Verbose() {
			level = slog.LevelInfo
		}
		ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		if err := applyFile(ctx, env.Client, filepath.Join(env.Dir, "kubeless.yaml")); err != nil {
			startOnce.err = fmt.Errorf("apply kubeless.yaml: %w", err)
			return
		}
		// Traefik's Middleware CRD before the controller starts: it
		// watches the Middlewares of HTTPTriggers when the cluster has them.
		if err := applyFile(ctx, env.Client, filepath.Join("testdata", "traefik-middleware-crd.yaml")); err != nil {
			startOnce.err = fmt.Errorf("apply the Middleware CRD: %w", err)
			return
		}
		if err := waitServed(ctx, env.Client, render.TraefikMiddlewareGVK); err != nil {
			startOnce.err = err
			return
		}
		cfg := rest.CopyConfig(env.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: controllerUser}
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{
			Scheme:                 env.Scheme,
			Cache:                  controller.CacheOptions("", controller.DefaultConfig),
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
			Controller:             ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
		})
		if err != nil {
			startOnce.err = err
			return
		}
		opts := controller.Options{Render: render.Config{ProvisionImage: testProvisionImage, ImagePullPolicy: testPullPolicy},
			Zero:   controller.ZeroOptions{Transport: &http.Transport{DialContext: dialPod}},
			Events: controller.EventOptions{Transport: &http.Transport{DialContext: dialPod}}}
		if err := controller.Setup(ctx, mgr, opts); err != nil {
			startOnce.err = err
			return
		}
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		env.OnStop(func() { cancel(); <-done })
		go func() {
			defer close(done)
			if err := mgr.Start(mctx); err != nil {
				fmt.Fprintf(os.Stderr, "controller stopped: %v\n", err)
			}
		}()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			startOnce.err = errors.New("controller cache did not sync")
		}
	})
	if startOnce.err != nil {
		t.Fatal(startOnce.err)
	}
	return env.Client
}

// waitServed waits until the API server lists objects of gvk (a CRD just
// applied), for at most waitFor.
func waitServed(ctx context.Context, c client.Client, gvk schema.GroupVersionKind) error {
	ctx, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	for {
		err := c.List(ctx, l, client.Limit(1))
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server does not serve %s: %w", gvk, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// applyFile server-side applies every document of a YAML file.
func applyFile(ctx context.Context, c client.Client, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err == io.EOF {
				return nil
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

const waitFor = 30 * time.Second

// readyCondition waits until fn's Ready condition for its current
// generation satisfies ok, and returns it.
func readyCondition(t *testing.T, c client.Client, key types.NamespacedName, ok func(*metav1.Condition) bool) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	kubetest.Eventually(t, waitFor, func() error {
		var fn v1beta1.Function
		if err := c.Get(context.Background(), key, &fn); err != nil {
			return err
		}
		got = meta.FindStatusCondition(fn.Status.Conditions, v1beta1.ConditionReady)
		if got == nil || got.ObservedGeneration != fn.Generation || fn.Status.ObservedGeneration != fn.Generation {
			return fmt.Errorf("function %s: no Ready condition for generation %d yet (%+v)", key, fn.Generation, got)
		}
		if !ok(got) {
			return fmt.Errorf("function %s: Ready condition is %s/%s: %s", key, got.Status, got.Reason, got.Message)
		}
		return nil
	})
	return got
}

// updateFunction changes the Function key with mutate, again on a conflict
// (the controller writes its status meanwhile).
func updateFunction(t *testing.T, c client.Client, key types.NamespacedName, mutate func(*v1beta1.Function)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur v1beta1.Function
		if err := c.Get(context.Background(), key, &cur); err != nil {
			return err
		}
		mutate(&cur)
		return c.Update(context.Background(), &cur)
	})
	if err != nil {
		t.Fatalf("update function %s: %v", key, err)
	}
}

func hasReason(reason string) func(*metav1.Condition) bool {
	return func(c *metav1.Condition) bool { return c.Reason == reason }
}

// get waits for the object key of obj's type to exist and fills obj.
func get(t *testing.T, c client.Client, key types.NamespacedName, obj client.Object) {
	t.Helper()
	kubetest.Eventually(t, waitFor, func() error { return c.Get(context.Background(), key, obj) })
}

// waitEvent waits for an Event about the object name with reason, and
// returns its note.
func waitEvent(t *testing.T, c client.Client, ns, name, reason string) string {
	t.Helper()
	var note string
	kubetest.Eventually(t, waitFor, func() error {
		var l eventsv1.EventList
		if err := c.List(context.Background(), &l, client.InNamespace(ns)); err != nil {
			return err
		}
		var seen []string
		for _, e := range l.Items {
			if e.Regarding.Name == name && e.Reason == reason {
				note = e.Note
				return nil
			}
			seen = append(seen, e.Regarding.Name+"/"+e.Reason)
		}
		return fmt.Errorf("no Event %s for %s in %s; have %v", reason, name, ns, seen)
	})
	return note
}

func newFunction(ns, name, runtime, handler, code, deps string) *v1beta1.Function {
	return &v1beta1.Function{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1beta1.FunctionSpec{
			Runtime: runtime, Handler: handler, Function: code, Deps: deps,
			FunctionContentType: "text",
		},
	}
}

func readExample(t *testing.T, lang, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.Dir, "examples", lang, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func containerNames(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// ownedBy fails t unless obj's controller is fn.
func ownedBy(t *testing.T, obj client.Object, fnUID types.UID) {
	t.Helper()
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.UID != fnUID || ref.Kind == "" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("%T %s: controller reference %+v, want the owner with UID %s and blockOwnerDeletion", obj, obj.GetName(), ref, fnUID)
	}
}

func TestExampleFunctionsGetTheirObjects(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	cases := []struct {
		lang, runtime, handler, file, depsFile, depName string
		init                                            []string
	}{
		{"python", "python3.11", "hellowithdeps.foo", "hellowithdeps.py", "requirements.txt", "requirements.txt", []string{"prepare", "install"}},
		{"python", "python3.11", "helloget.foo", "helloget.py", "", "requirements.txt", []string{"prepare"}},
		{"nodejs", "nodejs20", "hellowithdeps.handler", "hellowithdeps.js", "package.json", "package.json", []string{"prepare", "install"}},
		{"ruby", "ruby3.1", "hellowithdeps.foo", "hellowithdeps.rb", "Gemfile", "Gemfile", []string{"prepare", "install"}},
		{"php", "php8.2", "hellowithdeps.foo", "hellowithdeps.php", "composer.json", "composer.json", []string{"prepare", "install"}},
		{"go", "go1.26", "hellowithdeps.Hello", "hellowithdeps.go", "go.mod", "go.mod", []string{"prepare", "compile"}},
	}
	for _, tc := range cases {
		name := strings.ReplaceAll(tc.runtime, ".", "") + "-" + strings.TrimSuffix(tc.file, filepath.Ext(tc.file))
		t.Run(name, func(t *testing.T) {
			code := readExample(t, tc.lang, tc.file)
			deps := ""
			if tc.depsFile != "" {
				deps = readExample(t, tc.lang, tc.depsFile)
			}
			fn := newFunction(ns, name, tc.runtime, tc.handler, code, deps)
			if err := c.Create(ctx, fn); err != nil {
				t.Fatal(err)
			}
			key := client.ObjectKeyFromObject(fn)

			var cm corev1.ConfigMap
			get(t, c, key, &cm)
			ownedBy(t, &cm, fn.UID)
			if cm.Data["handler"] != tc.handler || cm.Data[tc.file] != code || cm.Data[tc.depName] != deps {
				t.Errorf("ConfigMap data keys %v: want handler %q, %s with the code and %s with the deps", keys(cm.Data), tc.handler, tc.file, tc.depName)
			}

			var svc corev1.Service
			get(t, c, key, &svc)
			ownedBy(t, &svc, fn.UID)
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http-function-port" || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort.IntVal != 8080 {
				t.Errorf("Service ports %+v, want http-function-port 8080", svc.Spec.Ports)
			}
			if svc.Spec.Selector[v1beta1.LabelFunction] != name {
				t.Errorf("Service selector %v", svc.Spec.Selector)
			}

			var d appsv1.Deployment
			get(t, c, key, &d)
			ownedBy(t, &d, fn.UID)
			ps := d.Spec.Template.Spec
			if got := containerNames(ps.InitContainers); strings.Join(got, ",") != strings.Join(tc.init, ",") {
				t.Errorf("init containers %v, want %v", got, tc.init)
			}
			if ps.InitContainers[0].Image != testProvisionImage {
				t.Errorf("prepare image %q, want the --provision-image %q", ps.InitContainers[0].Image, testProvisionImage)
			}
			fc := ps.Containers[0]
			lang := strings.TrimRight(tc.runtime, "0123456789.")
			if want := "kubeless/" + lang + ":" + strings.TrimPrefix(tc.runtime, lang); fc.Image != want {
				t.Errorf("function image %q, want the catalog's %q", fc.Image, want)
			}
			if fc.ImagePullPolicy != testPullPolicy {
				t.Errorf("pull policy %q, want %q", fc.ImagePullPolicy, testPullPolicy)
			}
			mod, handler, _ := strings.Cut(tc.handler, ".")
			if envValue(fc, "MOD_NAME") != mod || envValue(fc, "FUNC_HANDLER") != handler || envValue(fc, "FUNC_TIMEOUT") != "180" || envValue(fc, "FUNC_PORT") != "8080" {
				t.Errorf("function env %+v", fc.Env)
			}
			if fc.ReadinessProbe == nil || fc.ReadinessProbe.HTTPGet == nil || fc.ReadinessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("readiness probe %+v, want GET /healthz", fc.ReadinessProbe)
			}
			if sc := ps.SecurityContext; sc == nil || ptr.Deref(sc.RunAsUser, 0) != 1000 || ptr.Deref(sc.FSGroup, 0) != 1000 {
				t.Errorf("pod security context %+v, want UID and fsGroup 1000", ps.SecurityContext)
			}
			if a := d.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || a[render.AnnotationChecksum] == "" {
				t.Errorf("pod annotations %v", a)
			}

			// No pods run in envtest: the function is not ready yet, and
			// says so.
			cond := readyCondition(t, c, key, hasReason(v1beta1.ReasonReconciling))
			if cond.Status != metav1.ConditionUnknown {
				t.Errorf("Ready %s, want Unknown while no pod is ready", cond.Status)
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestUpdatesRollTheDeployment changes each thing a pod reads at start and
// checks that the pod template changes with it (a new rollout).
func TestUpdatesRollTheDeployment(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	fn := newFunction(ns, "roll", "python3.11", "hello.foo", "def foo(event, context):\n    return 'v1'\n", "")
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(fn)
	readyCondition(t, c, key, hasReason(v1beta1.ReasonReconciling))
	var d appsv1.Deployment
	get(t, c, key, &d)

	steps := []struct {
		name   string
		change func(*v1beta1.Function)
		check  func(old, cur *appsv1.Deployment) error
	}{
		{"code", func(f *v1beta1.Function) { f.Spec.Function = "def foo(event, context):\n    return 'v2'\n" }, checksumChanged},
		{"deps", func(f *v1beta1.Function) { f.Spec.Deps = "requests\n" }, func(old, cur *appsv1.Deployment) error {
			if err := checksumChanged(old, cur); err != nil {
				return err
			}
			if got := containerNames(cur.Spec.Template.Spec.InitContainers); strings.Join(got, ",") != "prepare,install" {
				return fmt.Errorf("init containers %v, want prepare,install once there are deps", got)
			}
			return nil
		}},
		{"runtime", func(f *v1beta1.Function) { f.Spec.Runtime = "python3.12" }, func(_, cur *appsv1.Deployment) error {
			if img := cur.Spec.Template.Spec.Containers[0].Image; img != "kubeless/python:3.12" {
				return fmt.Errorf("image %q, want kubeless/python:3.12", img)
			}
			return nil
		}},
		{"timeout", func(f *v1beta1.Function) { f.Spec.Timeout = "7" }, func(_, cur *appsv1.Deployment) error {
			if v := envValue(cur.Spec.Template.Spec.Containers[0], "FUNC_TIMEOUT"); v != "7" {
				return fmt.Errorf("FUNC_TIMEOUT %q, want 7", v)
			}
			return nil
		}},
		{"env", func(f *v1beta1.Function) {
			d := &appsv1.Deployment{}
			d.Spec.Template.Spec.Containers = []corev1.Container{{Env: []corev1.EnvVar{{Name: "GREETING", Value: "hi"}}}}
			if err := f.Spec.SetDeploymentTemplate(d); err != nil {
				panic(err)
			}
		}, func(_, cur *appsv1.Deployment) error {
			if v := envValue(cur.Spec.Template.Spec.Containers[0], "GREETING"); v != "hi" {
				return fmt.Errorf("GREETING %q, want hi", v)
			}
			return nil
		}},
	}
	for _, s := range steps {
		old := d.DeepCopy()
		updateFunction(t, c, key, s.change)
		kubetest.Eventually(t, waitFor, func() error {
			if err := c.Get(ctx, key, &d); err != nil {
				return err
			}
			if d.Generation <= old.Generation {
				return fmt.Errorf("%s: Deployment generation still %d", s.name, d.Generation)
			}
			return s.check(old, &d)
		})
	}
}

func checksumChanged(old, cur *appsv1.Deployment) error {
	a, b := old.Spec.Template.Annotations[render.AnnotationChecksum], cur.Spec.Template.Annotations[render.AnnotationChecksum]
	if a == b {
		return fmt.Errorf("pod template checksum still %q", a)
	}
	return nil
}

// TestDeleteByOwnerReference: every object of a function is owned by it, so
// the garbage collector (kube-controller-manager's, which kubetest runs)
// deletes them with it, and a Function with the original controller's
// finalizer can still be deleted.
func TestDeleteByOwnerReference(t *testing.T) {
	c := startController(t)
	env.RequireGarbageCollector(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	fn := newFunction(ns, "bye", "nodejs20", "hello.foo", "module.exports = { foo: () => 'bye' };", "")
	fn.Finalizers = []string{v1beta1.FunctionFinalizer}
	auto := []byte(`{"metadata":{"name":"bye"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"bye"},"minReplicas":1,"maxReplicas":3,
		"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}}]}}`)
	fn.Spec.HorizontalPodAutoscaler = rawExt(auto)
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(fn)
	children := []client.Object{&corev1.ConfigMap{}, &corev1.Service{}, &appsv1.Deployment{}, &autoscalingv2HPA{}}
	for _, obj := range children {
		get(t, c, key, obj)
		ownedBy(t, obj, fn.UID)
	}
	// A trigger of the function stays (it is the trigger's own object) but
	// its Ingress is owned by the trigger.
	ht := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bye-web"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "bye"}}
	if err := c.Create(ctx, ht); err != nil {
		t.Fatal(err)
	}
	var ing networkingv1.Ingress
	get(t, c, client.ObjectKeyFromObject(ht), &ing)
	kubetest.Eventually(t, waitFor, func() error {
		var cur v1beta1.Function
		if err := c.Get(ctx, key, &cur); err != nil {
			return err
		}
		if len(cur.Finalizers) != 0 {
			return fmt.Errorf("finalizers %v, want the original's removed", cur.Finalizers)
		}
		return nil
	})
	if err := c.Delete(ctx, fn); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, waitFor, func() error {
		err := c.Get(ctx, key, &v1beta1.Function{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("function still there after delete: %v", err)
	})
	for _, obj := range children {
		kubetest.Eventually(t, waitFor, func() error {
			err := c.Get(ctx, key, obj)
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("%T %s still there after its function was deleted (%v)", obj, key, err)
		})
	}
	if err := c.Delete(ctx, ht); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, waitFor, func() error {
		err := c.Get(ctx, client.ObjectKeyFromObject(ht), &networkingv1.Ingress{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("Ingress still there after its trigger was deleted (%v)", err)
	})
}
