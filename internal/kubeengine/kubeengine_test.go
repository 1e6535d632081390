package kubeengine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/kubescheme"
	"github.com/kubeless/kubeless/internal/render"
)

// fakes is an Engine over the controller-runtime fake client (Kubeless
// objects) and the client-go fake clientset (pods, services, logs, proxy).
type fakes struct {
	e  *Engine
	c  client.Client
	cs *kubefake.Clientset
}

func newFakes(t *testing.T, objs []client.Object, core ...k8sruntime.Object) *fakes {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(kubescheme.New()).
		WithStatusSubresource(&v1beta1.Function{}, &v1beta1.HTTPTrigger{}, &v1beta1.CronJobTrigger{}).
		WithObjects(objs...).Build()
	cs := kubefake.NewClientset(core...)
	e, err := NewWithOptions(Options{Client: c, Clientset: cs, Namespace: "team"})
	if err != nil {
		t.Fatal(err)
	}
	return &fakes{e: e, c: c, cs: cs}
}

func function(ns, name string) *v1beta1.Function {
	return &v1beta1.Function{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1beta1.FunctionSpec{Runtime: "python3.11", Handler: "hello.foo", Function: "def foo(e, c): return 1", FunctionContentType: "text", Timeout: "180"},
	}
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if backend.CodeOf(err) != code || (msg != "" && err.Error() != msg) {
		t.Errorf("err = %v (code %q), want %s %q", err, backend.CodeOf(err), code, msg)
	}
}

func TestFunctions(t *testing.T) {
	ctx := context.Background()
	f := newFakes(t, nil)
	e := f.e

	in := function("", "hello")
	in.Labels = map[string]string{"x": "y"}
	out, err := e.Deploy(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{"x": "y", "created-by": "kubeless", "function": "hello"}
	if out.Namespace != "team" || !cmp.Equal(out.Labels, wantLabels) || out.Kind != "Function" || out.APIVersion != "kubeless.io/v1beta1" {
		t.Errorf("deployed = %s/%s %v %s %s", out.Namespace, out.Name, out.Labels, out.APIVersion, out.Kind)
	}
	_, err = e.Deploy(ctx, function("team", "hello"))
	wantCode(t, err, backend.CodeAlreadyExists, `function "hello" already exists in namespace "team": use kubeless function update`)

	if _, err := e.Deploy(ctx, function("default", "other")); err != nil {
		t.Fatal(err)
	}
	got, err := e.Get(ctx, "", "hello")
	if err != nil || got.Spec.Handler != "hello.foo" || got.Kind != "Function" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	_, err = e.Get(ctx, "team", "nope")
	wantCode(t, err, backend.CodeNotFound, `function "nope" not found in namespace "team"`)

	for _, tt := range []struct {
		ns   string
		want []string
	}{
		{"", []string{"default/other", "team/hello"}},
		{"team", []string{"team/hello"}},
		{"empty", nil},
	} {
		fns, err := e.List(ctx, tt.ns)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, fn := range fns {
			names = append(names, fn.Namespace+"/"+fn.Name)
			if fn.Kind != "Function" {
				t.Errorf("list item without kind: %+v", fn.TypeMeta)
			}
		}
		if !cmp.Equal(tt.want, names) {
			t.Errorf("List(%q) = %v, want %v", tt.ns, names, tt.want)
		}
	}

	// Delete removes the function and the triggers that call it.
	for _, o := range []client.Object{
		&v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "h1"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello"}},
		&v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "h2"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "another"}},
		&v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "c1"}, Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "* * * * *"}},
	} {
		if err := f.c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Delete(ctx, "team", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(ctx, "team", "hello"); backend.CodeOf(err) != backend.CodeNotFound {
		t.Errorf("after delete: %v", err)
	}
	hs, _ := backend.TriggersOf[v1beta1.HTTPTrigger](e).List(ctx, "team")
	cs, _ := backend.TriggersOf[v1beta1.CronJobTrigger](e).List(ctx, "team")
	if len(hs) != 1 || hs[0].Name != "h2" || len(cs) != 0 {
		t.Errorf("triggers left: %v %v", hs, cs)
	}
	wantCode(t, e.Delete(ctx, "team", "hello"), backend.CodeNotFound, `function "hello" not found in namespace "team"`)
}

func deployment(t *testing.T, fn *v1beta1.Function) *appsv1.Deployment {
	t.Helper()
	d, err := fn.Spec.DeploymentTemplate()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestUpdateMerges(t *testing.T) {
	ctx := context.Background()
	old := function("team", "hello")
	old.Labels = map[string]string{"a": "1"}
	r := int32(2)
	if err := old.Spec.SetDeploymentTemplate(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &r, Template: corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	f := newFakes(t, []client.Object{old})

	patch := &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "hello", Labels: map[string]string{"b": "2"}}}
	patch.Spec.Handler = "hello.bar"
	if err := patch.Spec.SetDeploymentTemplate(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Image: "me/img:1", Env: []corev1.EnvVar{{Name: "B", Value: "3"}},
				VolumeMounts: []corev1.VolumeMount{{Name: "s-vol", MountPath: "/s"}}}},
			Volumes: []corev1.Volume{{Name: "s-vol", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}},
		},
	}}}); err != nil {
		t.Fatal(err)
	}
	out, err := f.e.Update(ctx, patch)
	if err != nil {
		t.Fatal(err)
	}
	stored := &v1beta1.Function{}
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "hello"}, stored); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []*v1beta1.Function{out, stored} {
		if fn.Spec.Handler != "hello.bar" || fn.Spec.Runtime != "python3.11" || fn.Spec.Timeout != "180" || fn.Spec.Function == "" {
			t.Errorf("spec = %+v", fn.Spec)
		}
		if !cmp.Equal(fn.Labels, map[string]string{"a": "1", "b": "2"}) {
			t.Errorf("labels = %v", fn.Labels)
		}
		d := deployment(t, fn)
		c := d.Spec.Template.Spec.Containers[0]
		if *d.Spec.Replicas != 2 || c.Image != "me/img:1" || len(d.Spec.Template.Spec.Volumes) != 1 || len(c.VolumeMounts) != 1 {
			t.Errorf("deployment = %+v", d.Spec)
		}
		if d := cmp.Diff([]corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "3"}}, c.Env); d != "" {
			t.Errorf("env (-want +got):\n%s", d)
		}
	}

	_, err = f.e.Update(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "nope"}})
	wantCode(t, err, backend.CodeNotFound, `Function nope is not found in namespace "team": deploy it with kubeless function deploy nope`)
}

// TestUpdateRetriesOnConflict: a write that loses a race is redone on the
// new version, keeping the other writer's change.
func TestUpdateRetriesOnConflict(t *testing.T) {
	ctx := context.Background()
	base := fake.NewClientBuilder().WithScheme(kubescheme.New()).WithStatusSubresource(&v1beta1.Function{}).
		WithObjects(function("team", "hello")).Build()
	conflicts := 0
	c := &racingClient{Client: base, race: func() {
		if conflicts > 0 {
			return
		}
		conflicts++
		// Another writer changes the function between our Get and Update.
		fn := &v1beta1.Function{}
		_ = base.Get(ctx, client.ObjectKey{Namespace: "team", Name: "hello"}, fn)
		fn.Labels = map[string]string{"other": "writer"}
		if err := base.Update(ctx, fn); err != nil {
			t.Error(err)
		}
	}}
	e, err := NewWithOptions(Options{Client: c, Clientset: kubefake.NewClientset()})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Update(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "hello"}, Spec: v1beta1.FunctionSpec{Timeout: "30"}})
	if err != nil {
		t.Fatal(err)
	}
	if conflicts != 1 || out.Spec.Timeout != "30" || out.Labels["other"] != "writer" {
		t.Errorf("conflicts %d, out %v %v", conflicts, out.Spec.Timeout, out.Labels)
	}
}

// racingClient runs race before each Update.
type racingClient struct {
	client.Client
	race func()
}

func (c *racingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.race()
	return c.Client.Update(ctx, obj, opts...)
}

func TestTriggers(t *testing.T) {
	ctx := context.Background()
	f := newFakes(t, []client.Object{function("team", "hello")})
	e := f.e

	ht := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "nope", Path: "api"}}
	_, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, ht)
	wantCode(t, err, backend.CodeNotFound, `function "nope" not found in namespace "team": deploy it first with kubeless function deploy nope -n team`)
	ht.Spec.FunctionName = "hello"
	out, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, ht)
	if err != nil {
		t.Fatal(err)
	}
	if out.Namespace != "team" || out.Labels[v1beta1.LabelCreatedBy] != "kubeless" || out.Kind != "HTTPTrigger" {
		t.Errorf("created %+v", out.ObjectMeta)
	}
	_, err = backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, ht)
	wantCode(t, err, backend.CodeAlreadyExists, `HTTP trigger "web" already exists in namespace "team": use kubeless trigger http update`)
	up, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Update(ctx, &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: v1beta1.HTTPTriggerSpec{HostName: "h.example", CorsEnable: true}})
	if err != nil {
		t.Fatal(err)
	}
	if up.Spec.Path != "api" || up.Spec.HostName != "h.example" || !up.Spec.CorsEnable || up.Spec.FunctionName != "hello" {
		t.Errorf("updated spec %+v", up.Spec)
	}
	_, err = backend.TriggersOf[v1beta1.HTTPTrigger](e).Update(ctx, &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "nope"}})
	wantCode(t, err, backend.CodeNotFound, "")
	got, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Get(ctx, "team", "web")
	if err != nil || got.Spec.HostName != "h.example" || got.Kind != "HTTPTrigger" {
		t.Errorf("get = %+v, %v", got, err)
	}
	_, err = backend.TriggersOf[v1beta1.HTTPTrigger](e).Update(ctx, &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "gone"}})
	wantCode(t, err, backend.CodeNotFound, `HTTP trigger "gone" not found in namespace "team"`)
	if err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Delete(ctx, "team", "web"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, backend.TriggersOf[v1beta1.HTTPTrigger](e).Delete(ctx, "team", "web"), backend.CodeNotFound, `HTTP trigger "web" not found in namespace "team"`)

	ct := &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "tick"}, Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello"}}
	_, err = backend.TriggersOf[v1beta1.CronJobTrigger](e).Create(ctx, ct)
	wantCode(t, err, backend.CodeInvalid, `cron trigger "tick" has no schedule: give one with --schedule, for example --schedule '*/5 * * * *'`)
	ct.Spec.Schedule = "*/5 * * * *"
	ct.Spec.Payload = &k8sruntime.RawExtension{Raw: []byte(`{"a":`)}
	_, err = backend.TriggersOf[v1beta1.CronJobTrigger](e).Create(ctx, ct)
	wantCode(t, err, backend.CodeInvalid, `cron trigger "tick": the payload is not valid JSON`)
	ct.Spec.Payload = &k8sruntime.RawExtension{Raw: []byte(`{"a":1}`)}
	if _, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).Create(ctx, ct); err != nil {
		t.Fatal(err)
	}
	cup, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).Update(ctx, &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "tick"}, Spec: v1beta1.CronJobTriggerSpec{Schedule: "@hourly"}})
	if err != nil {
		t.Fatal(err)
	}
	if cup.Spec.Schedule != "@hourly" || string(cup.Spec.Payload.Raw) != `{"a":1}` || cup.Spec.FunctionName != "hello" {
		t.Errorf("cron update = %+v", cup.Spec)
	}
	list, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).List(ctx, "")
	if err != nil || len(list) != 1 || list[0].Kind != "CronJobTrigger" {
		t.Errorf("cron list = %+v, %v", list, err)
	}
	if err := backend.TriggersOf[v1beta1.CronJobTrigger](e).Delete(ctx, "team", "tick"); err != nil {
		t.Fatal(err)
	}
	_, err = backend.TriggersOf[v1beta1.CronJobTrigger](e).Get(ctx, "team", "tick")
	wantCode(t, err, backend.CodeNotFound, `cron trigger "tick" not found in namespace "team"`)
}

func TestSetAutoscaler(t *testing.T) {
	ctx := context.Background()
	f := newFakes(t, []client.Object{function("team", "hello")})
	min := int32(1)
	util := int32(70)
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		MinReplicas: &min, MaxReplicas: 3,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
	}}
	if _, err := f.e.SetAutoscaler(ctx, "team", "hello", h); err != nil {
		t.Fatal(err)
	}
	stored := &v1beta1.Function{}
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "hello"}, stored); err != nil {
		t.Fatal(err)
	}
	got, err := stored.Spec.Autoscaler()
	if err != nil || got == nil {
		t.Fatalf("autoscaler = %v, %v", got, err)
	}
	if got.Name != "hello" || got.Namespace != "team" || got.Spec.ScaleTargetRef.Name != "hello" || got.Spec.ScaleTargetRef.Kind != "Deployment" ||
		got.Spec.MaxReplicas != 3 || *got.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 {
		t.Errorf("autoscaler = %+v", got)
	}

	bad := h.DeepCopy()
	bad.Spec.MaxReplicas = 0
	_, err = f.e.SetAutoscaler(ctx, "team", "hello", bad)
	wantCode(t, err, backend.CodeInvalid, "invalid --max 0: it must be at least --min 1")
	// The activator answers for a function at zero: min 0 is stored.
	zero := h.DeepCopy()
	zero.Spec.MinReplicas = new(int32)
	zero.Name = "hello"
	zero.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hello"}
	if _, err := f.e.SetAutoscaler(ctx, "team", "hello", zero); err != nil {
		t.Fatalf("SetAutoscaler(min 0) = %v", err)
	}
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "hello"}, stored); err != nil {
		t.Fatal(err)
	}
	if got, err := stored.Spec.Autoscaler(); err != nil || !backend.ScalesToZero(got) {
		t.Errorf("stored autoscaler %+v, %v; want minReplicas 0", got, err)
	}
	_, err = f.e.SetAutoscaler(ctx, "team", "nope", h)
	wantCode(t, err, backend.CodeNotFound, `function "nope" not found in namespace "team"`)

	if _, err := f.e.SetAutoscaler(ctx, "team", "hello", nil); err != nil {
		t.Fatal(err)
	}
	_ = f.c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "hello"}, stored)
	if stored.Spec.HorizontalPodAutoscaler != nil {
		t.Errorf("autoscaler left: %s", stored.Spec.HorizontalPodAutoscaler.Raw)
	}
	_, err = f.e.SetAutoscaler(ctx, "team", "hello", nil)
	wantCode(t, err, backend.CodeNotFound, "Not found an autoscale definition for hello")
}

// `autoscale create` without --idle-window keeps the function's idle
// window (set by `function deploy --idle-window`); with one, it replaces it.
func TestSetAutoscalerKeepsIdleWindow(t *testing.T) {
	ctx := context.Background()
	fn := function("team", "hello")
	zero := int32(0)
	if err := fn.Spec.SetAutoscaler(&autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Annotations: map[string]string{v1beta1.AnnotationIdleWindow: "7m"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &zero, MaxReplicas: 1,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hello"}}}); err != nil {
		t.Fatal(err)
	}
	f := newFakes(t, []client.Object{fn})
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &zero, MaxReplicas: 4}}
	window := func() (string, int32) {
		t.Helper()
		stored := &v1beta1.Function{}
		if err := f.c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "hello"}, stored); err != nil {
			t.Fatal(err)
		}
		got, err := stored.Spec.Autoscaler()
		if err != nil || got == nil {
			t.Fatalf("autoscaler = %v, %v", got, err)
		}
		return got.Annotations[v1beta1.AnnotationIdleWindow], got.Spec.MaxReplicas
	}
	if _, err := f.e.SetAutoscaler(ctx, "team", "hello", h); err != nil {
		t.Fatal(err)
	}
	if w, maxR := window(); w != "7m" || maxR != 4 {
		t.Errorf("without --idle-window: window %q, max %d; want 7m, 4", w, maxR)
	}
	h.Annotations = map[string]string{v1beta1.AnnotationIdleWindow: "2m0s"}
	if _, err := f.e.SetAutoscaler(ctx, "team", "hello", h); err != nil {
		t.Fatal(err)
	}
	if w, _ := window(); w != "2m0s" {
		t.Errorf("with --idle-window 2m: window %q", w)
	}
}

func TestAPIError(t *testing.T) {
	e := &Engine{}
	gr := schema.GroupResource{Group: "kubeless.io", Resource: "functions"}
	for _, tt := range []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"not found", apierrors.NewNotFound(gr, "x"), backend.CodeNotFound, `functions.kubeless.io "x" not found`},
		{"exists", apierrors.NewAlreadyExists(gr, "x"), backend.CodeAlreadyExists, `functions.kubeless.io "x" already exists`},
		{"invalid", apierrors.NewInvalid(v1beta1.GroupVersion.WithKind("Function").GroupKind(), "X", nil), backend.CodeInvalid, `Function.kubeless.io "X" is invalid`},
		{"bad request", apierrors.NewBadRequest("no"), backend.CodeInvalid, "no"},
		{"forbidden", apierrors.NewForbidden(gr, "x", errors.New("RBAC")), backend.CodeInternal,
			`the Kubernetes API server refused the request: functions.kubeless.io "x" is forbidden: RBAC`},
		{"unavailable", apierrors.NewServiceUnavailable("later"), backend.CodeUnavailable, "later"},
		{"no CRD", &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "kubeless.io", Kind: "Function"}, SearchedVersions: []string{"v1beta1"}}, backend.CodeUnavailable,
			`the Kubernetes API server does not serve the Kubeless kinds (no matches for kind "Function" in version "kubeless.io/v1beta1"): install Kubeless in the cluster first (kubectl apply -f kubeless.yaml)`},
		{"api error kept", backend.Errorf(backend.CodeNotFound, "mine"), backend.CodeNotFound, "mine"},
		{"other", errors.New("boom"), backend.CodeInternal, "boom"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, e.apiError(tt.err), tt.code, tt.msg) })
	}
	// A server that does not answer.
	hc := &http.Client{}
	_, err := hc.Get("http://127.0.0.1:1/")
	wantCode(t, e.apiError(err), backend.CodeUnavailable, "")
	if !strings.HasPrefix(e.apiError(err).Error(), "cannot reach the Kubernetes API server: ") {
		t.Errorf("unreachable: %v", e.apiError(err))
	}
}

func pod(ns, name, fn string, phase corev1.PodPhase, ready bool, port int32) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1beta1.LabelFunction: fn}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "sidecar"},
			{Name: fn, Ports: []corev1.ContainerPort{{Name: "other", ContainerPort: 9}, {Name: render.ContainerPortName, ContainerPort: port}}},
		}},
		Status: corev1.PodStatus{Phase: phase},
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	return p
}

func TestMetricsPort(t *testing.T) {
	ports := func(ps ...corev1.ContainerPort) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "sidecar", Ports: []corev1.ContainerPort{{Name: render.ContainerPortName, ContainerPort: 1}}}, {Name: "hello", Ports: ps}}}}
	}
	for _, tt := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		// The renderer names the function container's port http-function
		// (a container port name has at most 15 characters).
		{"rendered", ports(corev1.ContainerPort{Name: render.ContainerPortName, ContainerPort: 8080}), "8080"},
		{"template declares another port first", ports(corev1.ContainerPort{Name: "admin", ContainerPort: 9000}, corev1.ContainerPort{Name: render.ContainerPortName, ContainerPort: 8081}), "8081"},
		{"older render", ports(corev1.ContainerPort{Name: "admin", ContainerPort: 9000}, corev1.ContainerPort{Name: render.PortName, ContainerPort: 8082}), "8082"},
		{"new name wins over old", ports(corev1.ContainerPort{Name: render.PortName, ContainerPort: 8082}, corev1.ContainerPort{Name: render.ContainerPortName, ContainerPort: 8083}), "8083"},
		{"no named port: first", ports(corev1.ContainerPort{ContainerPort: 7000}, corev1.ContainerPort{Name: "x", ContainerPort: 7001}), "7000"},
		{"no port", ports(), "8080"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := metricsPort(tt.pod, "hello"); got != tt.want {
				t.Errorf("metricsPort = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		pods    []k8sruntime.Object
		opts    backend.LogOptions
		want    []string
		wantErr string
	}{
		{
			name: "one pod", opts: backend.LogOptions{Tail: 10},
			pods: []k8sruntime.Object{pod("team", "hello-a", "hello", corev1.PodRunning, true, 8080), pod("team", "hello-p", "hello", corev1.PodPending, false, 8080)},
			want: []string{"fake logs"},
		},
		{
			name: "two pods are prefixed", opts: backend.LogOptions{Tail: -1},
			pods: []k8sruntime.Object{pod("team", "hello-b", "hello", corev1.PodRunning, true, 8080), pod("team", "hello-a", "hello", corev1.PodFailed, false, 8080)},
			want: []string{"[pod/hello-a/hello] fake logs", "[pod/hello-b/hello] fake logs"},
		},
		{
			name: "follow", opts: backend.LogOptions{Tail: -1, Follow: true},
			pods: []k8sruntime.Object{pod("team", "hello-a", "hello", corev1.PodRunning, true, 8080)},
			want: []string{"fake logs"},
		},
		{
			name: "no pod", pods: []k8sruntime.Object{pod("team", "hello-p", "hello", corev1.PodPending, false, 8080), pod("team", "x", "other", corev1.PodRunning, true, 8080)},
			wantErr: `No function pod is running: function "hello" in namespace "team" has no started pod (see kubeless function describe hello)`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes(t, []client.Object{function("team", "hello")}, tt.pods...)
			var got []string
			err := f.e.Logs(ctx, "team", "hello", tt.opts, func(l string) { got = append(got, l) })
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.opts.Follow {
				// interleaved: compare as a set
				if len(got) != len(tt.want) {
					t.Errorf("lines = %q, want %q", got, tt.want)
				}
			} else if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("lines (-want +got):\n%s", d)
			}
			// The options reach the API: container named like the
			// function, follow and tail.
			for _, a := range f.cs.Actions() {
				if a.GetSubresource() != "log" {
					continue
				}
				lo := a.(k8stesting.GenericActionImpl).Value.(*corev1.PodLogOptions)
				if lo.Container != "hello" || lo.Follow != tt.opts.Follow || (tt.opts.Tail >= 0) != (lo.TailLines != nil) ||
					(lo.TailLines != nil && *lo.TailLines != int64(tt.opts.Tail)) {
					t.Errorf("log options = %+v", lo)
				}
			}
		})
	}
	f := newFakes(t, nil)
	err := f.e.Logs(ctx, "team", "hello", backend.LogOptions{}, func(string) {})
	wantCode(t, err, backend.CodeNotFound, `function "hello" not found in namespace "team"`)
}

// metricsReactor answers the pods proxy of the fake clientset: the body
// for "POD:PORT" of bodies, or an error.
func metricsReactor(t *testing.T, bodies map[string]string) k8stesting.ProxyReactionFunc {
	return func(a k8stesting.Action) (bool, rest.ResponseWrapper, error) {
		pa := a.(k8stesting.ProxyGetAction)
		if pa.GetPath() != "metrics" || pa.GetScheme() != "" {
			t.Errorf("proxy %s %s %s", pa.GetScheme(), pa.GetName(), pa.GetPath())
		}
		b, ok := bodies[pa.GetName()+":"+pa.GetPort()]
		return true, &fakeResponse{body: b, ok: ok}, nil
	}
}

type fakeResponse struct {
	body string
	ok   bool
}

func (r *fakeResponse) DoRaw(context.Context) ([]byte, error) {
	if !r.ok {
		return nil, errors.New("the server could not find the requested resource")
	}
	return []byte(r.body), nil
}

func (r *fakeResponse) Stream(ctx context.Context) (io.ReadCloser, error) {
	b, err := r.DoRaw(ctx)
	return io.NopCloser(strings.NewReader(string(b))), err
}

func exposition(get, post float64) string {
	return fmt.Sprintf(`# TYPE function_calls_total counter
function_calls_total{method="GET"} %[1]g
function_calls_total{method="POST"} %[2]g
# TYPE function_failures_total counter
function_failures_total{method="GET"} 1
# TYPE function_duration_seconds histogram
function_duration_seconds_bucket{method="GET",le="+Inf"} %[1]g
function_duration_seconds_sum{method="GET"} %[1]g
function_duration_seconds_count{method="GET"} %[1]g
function_duration_seconds_bucket{method="POST",le="+Inf"} %[2]g
function_duration_seconds_sum{method="POST"} 0.5
function_duration_seconds_count{method="POST"} %[2]g
`, get, post)
}

func TestTop(t *testing.T) {
	ctx := context.Background()
	objs := []client.Object{function("team", "hello"), function("team", "idle"), function("team", "broken"), function("team", "garbled")}
	pods := []k8sruntime.Object{
		pod("team", "hello-a", "hello", corev1.PodRunning, true, 8080),
		pod("team", "hello-b", "hello", corev1.PodRunning, true, 9090),
		pod("team", "hello-c", "hello", corev1.PodRunning, false, 8080), // not ready: not read
		pod("team", "idle-a", "idle", corev1.PodPending, false, 8080),
		pod("team", "broken-a", "broken", corev1.PodRunning, true, 8080),
		pod("team", "garbled-a", "garbled", corev1.PodRunning, true, 8080),
	}
	f := newFakes(t, objs, pods...)
	f.cs.PrependProxyReactor("pods", metricsReactor(t, map[string]string{
		"hello-a:8080":   exposition(2, 1),
		"hello-b:9090":   exposition(4, 0),
		"garbled-a:8080": "function_calls_total{method=GET 1\n",
	}))
	rows, err := f.e.Top(ctx, "team", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []backend.FunctionMetrics{
		{Function: "broken", Namespace: "team", Message: backend.MsgNoMetrics},
		{Function: "garbled", Namespace: "team", Message: backend.MsgUnparsedMetrics},
		{Function: "hello", Namespace: "team", Method: "GET", TotalCalls: 6, TotalFailures: 2, TotalDurationSeconds: 6, AvgDurationSeconds: 1},
		{Function: "hello", Namespace: "team", Method: "POST", TotalCalls: 1, TotalDurationSeconds: 1, AvgDurationSeconds: 1},
		{Function: "idle", Namespace: "team", Message: backend.MsgNoReadyInstances},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	rows, err = f.e.Top(ctx, "team", "hello")
	if err != nil || len(rows) != 2 {
		t.Errorf("one function: %v, %v", rows, err)
	}
	_, err = f.e.Top(ctx, "team", "nope")
	wantCode(t, err, backend.CodeNotFound, "")
}

// apiServer is a stand-in for the API server's service proxy: it records
// the request and answers with status and body.
func apiServer(t *testing.T, status int, contentType, body string) (*httptest.Server, <-chan *http.Request, <-chan string) {
	reqs, bodies := make(chan *http.Request, 1), make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs <- r
		bodies <- string(b)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs, bodies
}

func service(ns, name, portName string, port int32) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: portName, Port: port}}}}
}

func TestCall(t *testing.T) {
	ctx := context.Background()
	statusJSON := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"no endpoints available for service \"hello\"","reason":"ServiceUnavailable","code":503}`
	for _, tt := range []struct {
		name        string
		svc         *corev1.Service
		req         backend.CallRequest
		status      int
		contentType string
		body        string
		wantURI     string
		wantMethod  string
		wantBody    string
		wantStatus  int
		wantErr     string
	}{
		{
			name: "GET", svc: service("team", "hello", "http-function-port", 8080),
			req:    backend.CallRequest{Method: "GET", Header: http.Header{"Event-Id": {"abc"}, "Event-Namespace": {"cli.kubeless.io"}}},
			status: 200, body: "hello world",
			wantURI: "/api/v1/namespaces/team/services/hello:http-function-port/proxy/", wantMethod: "GET", wantStatus: 200,
		},
		{
			name: "POST with path and query", svc: service("team", "hello", "http-function-port", 8080),
			req:    backend.CallRequest{Method: "POST", Path: "/items/1?x=1&y=a%20b", Body: []byte(`{"a":1}`), Header: http.Header{"Content-Type": {"application/json"}}},
			status: 201, body: "made",
			wantURI: "/api/v1/namespaces/team/services/hello:http-function-port/proxy/items/1?x=1&y=a%20b", wantMethod: "POST", wantBody: `{"a":1}`, wantStatus: 201,
		},
		{
			name: "unnamed port", svc: service("team", "hello", "", 9000),
			req: backend.CallRequest{}, status: 200,
			wantURI: "/api/v1/namespaces/team/services/hello:9000/proxy/", wantMethod: "GET", wantStatus: 200,
		},
		{
			name: "function timeout passes through", svc: service("team", "hello", "http-function-port", 8080),
			status: 408, contentType: "text/plain", body: "Timeout exceeded",
			wantURI: "/api/v1/namespaces/team/services/hello:http-function-port/proxy/", wantMethod: "GET", wantStatus: 408,
		},
		{
			name: "function answering JSON errors passes through", svc: service("team", "hello", "http-function-port", 8080),
			status: 500, contentType: "application/json", body: `{"error":"x"}`,
			wantURI: "/api/v1/namespaces/team/services/hello:http-function-port/proxy/", wantMethod: "GET", wantStatus: 500,
		},
		{
			name: "no ready pod", svc: service("team", "hello", "http-function-port", 8080),
			status: 503, contentType: "application/json", body: statusJSON,
			wantURI: "/api/v1/namespaces/team/services/hello:http-function-port/proxy/", wantMethod: "GET",
			wantErr: `call function hello through the Kubernetes API server HOST: no endpoints available for service "hello"`,
		},
		{
			name: "no service", svc: service("team", "other", "http-function-port", 8080),
			wantErr: "Unable to find the service for hello",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs, bodies := apiServer(t, tt.status, tt.contentType, tt.body)
			cs := kubefake.NewClientset(tt.svc)
			e, err := NewWithOptions(Options{Client: fake.NewClientBuilder().WithScheme(kubescheme.New()).Build(), Clientset: cs,
				HTTPClient: srv.Client(), Server: srv.URL, Namespace: "team"})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.Call(ctx, "", "hello", &tt.req)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "HOST", srv.Listener.Addr().String())
				if err == nil || err.Error() != want {
					t.Errorf("err = %v, want %q", err, want)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if resp.StatusCode != tt.wantStatus || string(resp.Body) != tt.body {
				t.Errorf("answer = %d %q", resp.StatusCode, resp.Body)
			}
			if tt.wantURI == "" {
				return
			}
			r, body := <-reqs, <-bodies
			if r.RequestURI != tt.wantURI || r.Method != tt.wantMethod || body != tt.wantBody {
				t.Errorf("request = %s %s %q, want %s %s %q", r.Method, r.RequestURI, body, tt.wantMethod, tt.wantURI, tt.wantBody)
			}
			for k, v := range tt.req.Header {
				if r.Header.Get(k) != v[0] {
					t.Errorf("header %s = %q, want %q", k, r.Header.Get(k), v[0])
				}
			}
		})
	}
}

// The API server takes Authorization and Impersonate-* as its own: a call
// refuses them, whatever their case, before reaching the API server.
func TestCallRefusesCredentialHeaders(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		header http.Header
		want   string
	}{
		{http.Header{"Authorization": {"Bearer x"}}, `header "Authorization" cannot be sent through the API server's service proxy: `},
		{http.Header{"authorization": {"Bearer x"}}, `header "authorization" cannot be sent through the API server's service proxy: `},
		{http.Header{"Impersonate-User": {"admin"}}, `header "Impersonate-User" cannot be sent through the API server's service proxy: `},
		{http.Header{"IMPERSONATE-GROUP": {"system:masters"}}, `header "IMPERSONATE-GROUP" cannot be sent through the API server's service proxy: `},
		{http.Header{"Impersonate-Extra-Scopes": {"x"}, "Event-Id": {"1"}}, `header "Impersonate-Extra-Scopes" cannot be sent through the API server's service proxy: `},
	} {
		t.Run(tt.want, func(t *testing.T) {
			called := false
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
			t.Cleanup(srv.Close)
			e, err := NewWithOptions(Options{Client: fake.NewClientBuilder().WithScheme(kubescheme.New()).Build(),
				Clientset:  kubefake.NewClientset(service("team", "hello", render.PortName, 8080)),
				HTTPClient: srv.Client(), Server: srv.URL, Namespace: "team"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Call(ctx, "", "hello", &backend.CallRequest{Method: "GET", Header: tt.header})
			wantCode(t, err, backend.CodeInvalid, "")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line starting with %q", err, tt.want)
			}
			if called {
				t.Error("the request reached the API server")
			}
		})
	}
}

func TestStatus(t *testing.T) {
	f := newFakes(t, nil)
	st, err := f.e.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Version == "" {
		t.Errorf("status = %+v", st)
	}
}
