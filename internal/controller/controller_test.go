package controller

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/kubescheme"
	"github.com/kubeless/kubeless/internal/render"
	"github.com/kubeless/kubeless/pkg/contract"
)

// fakeEnv is a reconciler set over the controller-runtime fake client.
type fakeEnv struct {
	c    client.Client
	rec  *events.FakeRecorder
	fn   *FunctionReconciler
	http *TriggerReconciler
	cron *TriggerReconciler
}

func newFakeEnv(t *testing.T, objs ...client.Object) *fakeEnv {
	t.Helper()
	return newFakeEnvWith(t, nil, objs...)
}

// newFakeEnvWith is newFakeEnv with the client's calls going through
// funcs (when not nil).
func newFakeEnvWith(t *testing.T, funcs *interceptor.Funcs, objs ...client.Object) *fakeEnv {
	t.Helper()
	s := kubescheme.New()
	b := fake.NewClientBuilder().WithScheme(s).
		WithStatusSubresource(&v1beta1.Function{}, &v1beta1.HTTPTrigger{}, &v1beta1.CronJobTrigger{}).
		WithObjects(objs...)
	if funcs != nil {
		b = b.WithInterceptorFuncs(*funcs)
	}
	c := b.Build()
	rec := events.NewFakeRecorder(100)
	src := &configSource{reader: c, key: DefaultConfig, defaults: render.Config{ProvisionImage: "localhost/busybox:local"}}
	ap := &applier{client: c, scheme: s}
	return &fakeEnv{
		c: c, rec: rec,
		fn:   &FunctionReconciler{Client: c, Scheme: s, Recorder: rec, config: src, applier: ap},
		http: &TriggerReconciler{Client: c, Recorder: rec, Kind: "HTTPTrigger", config: src, applier: ap},
		cron: &TriggerReconciler{Client: c, Recorder: rec, Kind: "CronJobTrigger", config: src, applier: ap},
	}
}

func reconcileOnce(t *testing.T, r interface {
	Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
}, ns, name string) ctrl.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	if err != nil {
		t.Fatalf("reconcile %s/%s: %v", ns, name, err)
	}
	return res
}

func function(name string, mutate ...func(*v1beta1.Function)) *v1beta1.Function {
	fn := &v1beta1.Function{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name + "-uid"), Generation: 1},
		Spec:       v1beta1.FunctionSpec{Runtime: "python3.11", Handler: "hello.foo", Function: "def foo(e, c):\n    return 1\n", FunctionContentType: "text"},
	}
	for _, m := range mutate {
		m(fn)
	}
	return fn
}

func readyOf(t *testing.T, c client.Client, obj client.Object, conds func() []metav1.Condition) *metav1.Condition {
	t.Helper()
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	cond := meta.FindStatusCondition(conds(), v1beta1.ConditionReady)
	if cond == nil {
		t.Fatalf("%s has no Ready condition", obj.GetName())
	}
	return cond
}

func TestReconcileMakesTheObjects(t *testing.T) {
	fn := function("hello", func(f *v1beta1.Function) { f.Spec.Deps = "requests\n" })
	e := newFakeEnv(t, fn)
	reconcileOnce(t, e.fn, "default", "hello")

	key := client.ObjectKeyFromObject(fn)
	var cm corev1.ConfigMap
	var svc corev1.Service
	var d appsv1.Deployment
	for _, obj := range []client.Object{&cm, &svc, &d} {
		if err := e.c.Get(context.Background(), key, obj); err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		if ref := metav1.GetControllerOf(obj); ref == nil || ref.UID != fn.UID {
			t.Errorf("%T owner %+v", obj, ref)
		}
	}
	if cm.Data["hello.py"] != fn.Spec.Function || cm.Data["requirements.txt"] != "requests\n" {
		t.Errorf("ConfigMap data %v", cm.Data)
	}
	if got := containerNames(d.Spec.Template.Spec.InitContainers); got != "prepare,install" {
		t.Errorf("init containers %s", got)
	}
	if svc.Spec.Ports[0].Name != render.PortName {
		t.Errorf("service port %+v", svc.Spec.Ports)
	}
	cond := readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
	if cond.Reason != v1beta1.ReasonReconciling || fn.Status.ObservedGeneration != 1 {
		t.Errorf("condition %+v, observedGeneration %d", cond, fn.Status.ObservedGeneration)
	}
	// A second pass changes nothing and records nothing new.
	drain(e.rec)
	reconcileOnce(t, e.fn, "default", "hello")
	if got := drain(e.rec); len(got) != 0 {
		t.Errorf("events on an unchanged function: %v", got)
	}
}

func containerNames(cs []corev1.Container) string {
	var n []string
	for _, c := range cs {
		n = append(n, c.Name)
	}
	return strings.Join(n, ",")
}

func drain(rec *events.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestReconcileBadInput(t *testing.T) {
	cases := []struct {
		name, reason, msg string
		mutate            func(*v1beta1.Function)
	}{
		{"handler", v1beta1.ReasonInvalidHandler, "incorrect handler format", func(f *v1beta1.Function) { f.Spec.Handler = "a.b.c" }},
		{"runtime", v1beta1.ReasonUnknownRuntime, "Invalid runtime: cobol85", func(f *v1beta1.Function) { f.Spec.Runtime = "cobol85" }},
		{"content-type", v1beta1.ReasonInvalidContentType, "base64+rar", func(f *v1beta1.Function) { f.Spec.FunctionContentType = "base64+rar" }},
		{"base64", v1beta1.ReasonInvalidContentType, "base64", func(f *v1beta1.Function) { f.Spec.FunctionContentType = "base64"; f.Spec.Function = "%%%" }},
		{"checksum", v1beta1.ReasonInvalidChecksum, "checksum", func(f *v1beta1.Function) {
			f.Spec.Checksum = "sha256:" + strings.Repeat("ab", 32)
		}},
		{"deployment", v1beta1.ReasonInvalidDeployment, "spec.deployment", func(f *v1beta1.Function) {
			f.Spec.Deployment = &runtime.RawExtension{Raw: []byte(`{"spec":{"template":"no"}}`)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fn := function(tc.name, tc.mutate)
			e := newFakeEnv(t, fn)
			// No retry loop: bad input ends the reconcile with no error and
			// no requeue, so only a change of the Function (or of
			// kubeless-config) brings it back.
			if res := reconcileOnce(t, e.fn, "default", tc.name); !res.IsZero() {
				t.Errorf("reconcile of bad input asks to be requeued: %+v", res)
			}
			cond := readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
			if cond.Status != metav1.ConditionFalse || cond.Reason != tc.reason || !strings.Contains(cond.Message, tc.msg) {
				t.Errorf("condition %s/%s %q, want False/%s with %q", cond.Status, cond.Reason, cond.Message, tc.reason, tc.msg)
			}
			evs := drain(e.rec)
			if len(evs) != 1 || !strings.HasPrefix(evs[0], "Warning "+tc.reason+" ") {
				t.Errorf("events %v, want one Warning %s", evs, tc.reason)
			}
			// A second pass (a resync, an unrelated event) leaves the
			// Function alone: no status write, no new Event.
			before := fn.ResourceVersion
			if res := reconcileOnce(t, e.fn, "default", tc.name); !res.IsZero() {
				t.Errorf("second reconcile of bad input asks to be requeued: %+v", res)
			}
			readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
			if fn.ResourceVersion != before {
				t.Errorf("second reconcile rewrote the Function (resourceVersion %s → %s)", before, fn.ResourceVersion)
			}
			if evs := drain(e.rec); len(evs) != 0 {
				t.Errorf("second reconcile recorded events %v, want none", evs)
			}
			var l appsv1.DeploymentList
			if err := e.c.List(context.Background(), &l); err != nil || len(l.Items) != 0 {
				t.Errorf("deployments %d (%v), want none for bad input", len(l.Items), err)
			}
		})
	}
}

// A Function with a runtime name of the original's catalog runs on the
// nearest version, and its status says so; the legacy-runtimes key of
// kubeless-config turns that off.
func TestReconcileOldRuntimeName(t *testing.T) {
	fn := function("old", func(f *v1beta1.Function) { f.Spec.Runtime = "python3.7" })
	e := newFakeEnv(t, fn)
	reconcileOnce(t, e.fn, "default", "old")
	var d appsv1.Deployment
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(fn), &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "kubeless/python:3.9" {
		t.Errorf("image %s, want the python3.9 runtime image", c.Image)
	}
	for _, ev := range c.Env {
		if ev.Name == contract.EnvFuncRuntime && ev.Value != "python3.7" {
			t.Errorf("FUNC_RUNTIME=%s, want the Function's own python3.7", ev.Value)
		}
	}
	cond := readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
	if cond.Reason != v1beta1.ReasonReconciling {
		t.Errorf("Ready condition %+v", cond)
	}
	sub := meta.FindStatusCondition(fn.Status.Conditions, v1beta1.ConditionRuntimeSubstituted)
	if sub == nil || sub.Status != metav1.ConditionTrue || sub.Reason != v1beta1.ReasonNearestVersion || sub.Message != "python3.7 runs on python3.9" {
		t.Fatalf("RuntimeSubstituted condition %+v", sub)
	}

	// Changed to a current name: the condition goes.
	fn.Spec.Runtime = "python3.11"
	fn.Generation = 2
	if err := e.c.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, e.fn, "default", "old")
	readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
	if sub := meta.FindStatusCondition(fn.Status.Conditions, v1beta1.ConditionRuntimeSubstituted); sub != nil {
		t.Errorf("RuntimeSubstituted condition %+v on a current runtime", sub)
	}

	// legacy-runtimes: refuse.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultConfig.Namespace, Name: DefaultConfig.Name},
		Data: map[string]string{KeyLegacyRuntimes: "refuse"}}
	fn2 := function("refused", func(f *v1beta1.Function) { f.Spec.Runtime = "nodejs12" })
	e = newFakeEnv(t, fn2, cm)
	reconcileOnce(t, e.fn, "default", "refused")
	cond = readyOf(t, e.c, fn2, func() []metav1.Condition { return fn2.Status.Conditions })
	if cond.Reason != v1beta1.ReasonUnknownRuntime || !strings.HasPrefix(cond.Message, "Invalid runtime: nodejs12. Supported runtimes are: ") {
		t.Errorf("Ready condition %+v, want UnknownRuntime", cond)
	}
}

func TestReconcileConflictLeavesForeignObjectsAlone(t *testing.T) {
	foreign := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello", Labels: map[string]string{"app": "other"}}}
	fn := function("hello")
	e := newFakeEnv(t, fn, foreign)
	reconcileOnce(t, e.fn, "default", "hello")
	cond := readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
	if cond.Reason != v1beta1.ReasonConflict || !strings.Contains(cond.Message, "Service named hello already exists") {
		t.Errorf("condition %+v", cond)
	}
	var svc corev1.Service
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(foreign), &svc); err != nil || svc.Labels["app"] != "other" || len(svc.OwnerReferences) != 0 {
		t.Errorf("foreign service changed: %+v (%v)", svc.ObjectMeta, err)
	}
}

func TestReconcileAutoscalerAndFinalizer(t *testing.T) {
	fn := function("auto", func(f *v1beta1.Function) {
		f.Finalizers = []string{v1beta1.FunctionFinalizer}
		f.Spec.HorizontalPodAutoscaler = &runtime.RawExtension{Raw: []byte(`{"metadata":{"name":"auto"},"spec":{"scaleTargetRef":{"name":"auto"},"maxReplicas":4}}`)}
	})
	e := newFakeEnv(t, fn)
	reconcileOnce(t, e.fn, "default", "auto")
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(fn), &hpa); err != nil || hpa.Spec.MaxReplicas != 4 {
		t.Fatalf("HPA %+v: %v", hpa.Spec, err)
	}
	var cur v1beta1.Function
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(fn), &cur); err != nil || len(cur.Finalizers) != 0 {
		t.Errorf("finalizers %v (%v), want the original's removed", cur.Finalizers, err)
	}
	cur.Spec.HorizontalPodAutoscaler = nil
	if err := e.c.Update(context.Background(), &cur); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, e.fn, "default", "auto")
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(fn), &hpa); err == nil {
		t.Errorf("HPA still there after the autoscaler was removed")
	}
}

func TestReconcileTriggers(t *testing.T) {
	fn := function("hello")
	ht := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "web-uid"},
		Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello", HostName: "h.example.com"}}
	ct := &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "tick", UID: "tick-uid"},
		Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "@hourly"}}
	lost := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "lost"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "nobody"}}
	e := newFakeEnv(t, fn, ht, ct, lost)
	reconcileOnce(t, e.http, "default", "web")
	reconcileOnce(t, e.cron, "default", "tick")
	reconcileOnce(t, e.http, "default", "lost")

	var ing networkingv1.Ingress
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(ht), &ing); err != nil || ing.Spec.Rules[0].Host != "h.example.com" {
		t.Errorf("Ingress %+v: %v", ing.Spec, err)
	}
	var cj batchv1.CronJob
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(ct), &cj); err != nil || cj.Spec.Schedule != "@hourly" ||
		cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image != "localhost/busybox:local" {
		t.Errorf("CronJob %+v: %v", cj.Spec, err)
	}
	if c := readyOf(t, e.c, ht, func() []metav1.Condition { return ht.Status.Conditions }); c.Reason != v1beta1.ReasonReady {
		t.Errorf("http trigger condition %+v", c)
	}
	c := readyOf(t, e.c, lost, func() []metav1.Condition { return lost.Status.Conditions })
	if c.Status != metav1.ConditionFalse || c.Reason != v1beta1.ReasonFunctionNotFound || !strings.Contains(c.Message, `function "nobody" does not exist in namespace default`) {
		t.Errorf("lost trigger condition %+v", c)
	}
}

func TestConfigMapSettings(t *testing.T) {
	base := render.Config{ProvisionImage: "flag/busybox"}
	st, err := parseSettings(map[string]string{
		KeyProvisionImage: "cfg/unzip", KeyProvisionImageSecret: "pull-a", KeyBuilderImageSecret: "pull-b",
		KeyImagePullPolicy: "Never", KeyClusterDomain: "corp.local", KeyDeployment: "{}",
		"enable-build-step": "false", "service-type": "ClusterIP",
	}, base)
	if err != nil {
		t.Fatal(err)
	}
	r := st.render
	if r.ProvisionImage != "cfg/unzip" || r.ImagePullPolicy != corev1.PullNever || r.ClusterDomain != "corp.local" ||
		len(r.ImagePullSecrets) != 2 || r.ImagePullSecrets[1].Name != "pull-b" || st.deployment != nil || st.catalog == nil {
		t.Errorf("settings %+v", st)
	}
	if base.ImagePullSecrets != nil {
		t.Errorf("defaults changed: %+v", base)
	}

	for _, tc := range []struct {
		data map[string]string
		want string
	}{
		{map[string]string{KeyRuntimeImages: `[{"ID":"python","versionz":[]}]`}, `key runtime-images`},
		{map[string]string{KeyDeployment: `{"spec":{"replicaz":2}}`}, `key deployment is not an apps/v1 Deployment`},
		{map[string]string{KeyImagePullPolicy: "Sometimes"}, `"Sometimes" is not one of Always, IfNotPresent, Never`},
		{map[string]string{KeyLegacyRuntimes: "off"}, `key legacy-runtimes: "off" is not one of nearest`},
	} {
		if _, err := parseSettings(tc.data, base); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseSettings(%v) = %v, want an error with %q", tc.data, err, tc.want)
		}
	}
}

func TestSharedTemplateIsUnderTheFunctions(t *testing.T) {
	shared := []byte(`{"metadata":{"annotations":{"team":"a"}},"spec":{"template":{"spec":{"containers":[{"name":"x","env":[{"name":"A","value":"shared"},{"name":"B","value":"shared"}]}],"nodeSelector":{"disk":"ssd"}}}}}`)
	fn := function("f", func(f *v1beta1.Function) {
		f.Spec.Deployment = &runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"spec":{"containers":[{"env":[{"name":"B","value":"own"},{"name":"C","value":"own"}]}]}}}}`)}
	})
	out, err := withSharedTemplate(fn, shared)
	if err != nil {
		t.Fatal(err)
	}
	d, err := out.Spec.DeploymentTemplate()
	if err != nil {
		t.Fatal(err)
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("containers %+v, want the two templates' function containers merged", cs)
	}
	env := map[string]string{}
	for _, e := range cs[0].Env {
		env[e.Name] = e.Value
	}
	if env["A"] != "shared" || env["B"] != "own" || env["C"] != "own" || d.Spec.Template.Spec.NodeSelector["disk"] != "ssd" || d.Annotations["team"] != "a" {
		t.Errorf("merged template: env %v, nodeSelector %v, annotations %v", env, d.Spec.Template.Spec.NodeSelector, d.Annotations)
	}
	if fn.Spec.Deployment == out.Spec.Deployment {
		t.Errorf("the function itself was changed")
	}
}

func TestPodsCondition(t *testing.T) {
	one := int32(1)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.DeploymentSpec{Replicas: &one}}
	waiting := func(reason string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}}
	}
	cases := []struct {
		name   string
		status appsv1.DeploymentStatus
		pod    corev1.PodStatus
		want   string
	}{
		{"ready", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1}, corev1.PodStatus{}, v1beta1.ReasonReady},
		{"old generation", appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1}, corev1.PodStatus{}, v1beta1.ReasonReconciling},
		{"starting", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1}, corev1.PodStatus{}, v1beta1.ReasonReconciling},
		{"pull", appsv1.DeploymentStatus{ObservedGeneration: 2}, corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "f", State: waiting("ImagePullBackOff")}}}, v1beta1.ReasonImageMissing},
		{"init pull", appsv1.DeploymentStatus{}, corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: "install", State: waiting("ErrImagePull")}}}, v1beta1.ReasonImageMissing},
		{"init failed before", appsv1.DeploymentStatus{}, corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{{Name: "compile", State: waiting("PodInitializing"),
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Message: "main.go:3: undefined: x"}}}}}, v1beta1.ReasonInitContainerFailed},
		{"crash", appsv1.DeploymentStatus{}, corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "f", State: waiting("CrashLoopBackOff")}}}, v1beta1.ReasonCrashLoop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dd := d.DeepCopy()
			dd.Status = tc.status
			got := podsCondition(dd, []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: tc.pod}})
			if got.Reason != tc.want {
				t.Errorf("reason %s (%s), want %s", got.Reason, got.Message, tc.want)
			}
		})
	}
}

// TestAdoption: an object named like the function's is taken over only when
// it is the function's (or an earlier Function of that name's, or made by
// the original Kubeless: labelled, no controller); one that another
// controller owns is left alone even with the label.
func TestAdoption(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name  string
		meta  metav1.ObjectMeta
		adopt bool
	}{
		{"original kubeless", metav1.ObjectMeta{Labels: map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless}}, true},
		{"earlier function", metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeless.io/v1beta1", Kind: "Function", Name: "hello", UID: "old", Controller: &yes}}}, true},
		{"someone else's, labelled", metav1.ObjectMeta{Labels: map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "other", UID: "x", Controller: &yes}}}, false},
		{"unlabelled", metav1.ObjectMeta{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: tc.meta}
			svc.Namespace, svc.Name = "default", "hello"
			fn := function("hello")
			e := newFakeEnv(t, fn, svc)
			reconcileOnce(t, e.fn, "default", "hello")
			cond := readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
			var got corev1.Service
			if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(svc), &got); err != nil {
				t.Fatal(err)
			}
			ref := metav1.GetControllerOf(&got)
			adopted := ref != nil && ref.UID == fn.UID
			if adopted != tc.adopt || (cond.Reason == v1beta1.ReasonConflict) == tc.adopt {
				t.Errorf("adopted %v (controller %+v), condition %s: want adopted %v", adopted, ref, cond.Reason, tc.adopt)
			}
		})
	}
}

func TestEveryTriggerKindHasARenderer(t *testing.T) {
	for _, k := range v1beta1.TriggerKinds() {
		if _, _, err := triggerKind(k.Kind); err != nil {
			t.Errorf("%v: add the kind to renderers", err)
		}
	}
	if _, _, err := triggerKind("NoSuchTrigger"); err == nil {
		t.Error("an unknown kind has a renderer")
	}
}

// TestTraefikTriggerWithoutTraefikCRDs: a traefik trigger on a cluster
// without Traefik's Middleware CRD says so in its condition and gets no
// Ingress (one without its basic auth would serve anyone).
func TestTraefikTriggerWithoutTraefikCRDs(t *testing.T) {
	fn := function("hello")
	ht := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "web-uid"},
		Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello", HostName: "h.example.com", Gateway: "traefik", BasicAuthSecret: "users"}}
	// the fake client takes any kind: its reads answer as a cluster without
	// Traefik's CRDs (the applier reads each object before applying it)
	noTraefik := func(obj runtime.Object) error {
		if gvk := obj.GetObjectKind().GroupVersionKind(); gvk.Group == render.TraefikMiddlewareGVK.Group {
			return &meta.NoKindMatchError{GroupKind: gvk.GroupKind(), SearchedVersions: []string{gvk.Version}}
		}
		return nil
	}
	e := newFakeEnvWith(t, &interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := noTraefik(obj); err != nil {
				return err
			}
			return c.Get(ctx, key, obj, opts...)
		},
	}, fn, ht)
	reconcileOnce(t, e.http, "default", "web")
	c := readyOf(t, e.c, ht, func() []metav1.Condition { return ht.Status.Conditions })
	if c.Status != metav1.ConditionFalse || c.Reason != v1beta1.ReasonUnsupported ||
		!strings.Contains(c.Message, "gateway traefik needs Traefik's Middleware CRD (traefik.io/v1alpha1), which this cluster does not have") {
		t.Errorf("condition %+v", c)
	}
	var ing networkingv1.Ingress
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(ht), &ing); !apierrors.IsNotFound(err) {
		t.Errorf("Ingress %v: %v, want none", ing.Annotations, err)
	}
}
