package controller_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/testutil"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/controller"
	"github.com/kubeless/kubeless/internal/kubetest"
)

type (
	autoscalingv2HPA       = autoscalingv2.HorizontalPodAutoscaler
	autoscalingv1Scale     = autoscalingv1.Scale
	autoscalingv1ScaleSpec = autoscalingv1.ScaleSpec
)

func rawExt(b []byte) *runtime.RawExtension { return &runtime.RawExtension{Raw: b} }

func triggerReady(t *testing.T, c client.Client, obj client.Object, status func() *v1beta1.TriggerStatus, reason string) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	kubetest.Eventually(t, waitFor, func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		got = meta.FindStatusCondition(status().Conditions, v1beta1.ConditionReady)
		if got == nil || got.Reason != reason || got.ObservedGeneration != obj.GetGeneration() {
			return fmt.Errorf("%T %s: Ready condition %+v, want reason %s", obj, obj.GetName(), got, reason)
		}
		return nil
	})
	return got
}

func TestTriggersAndAutoscaleMakeTheirObjects(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	fn := newFunction(ns, "hello", "python3.11", "hello.foo", "def foo(event, context):\n    return 'hi'\n", "")
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}

	ht := &v1beta1.HTTPTrigger{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello-web"},
		Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello", HostName: "hello.example.com", Path: "greet",
			TLSSecret: "hello-cert", BasicAuthSecret: "hello-auth", CorsEnable: true},
	}
	if err := c.Create(ctx, ht); err != nil {
		t.Fatal(err)
	}
	var ing networkingv1.Ingress
	get(t, c, client.ObjectKeyFromObject(ht), &ing)
	ownedBy(t, &ing, ht.UID)
	rule := ing.Spec.Rules[0]
	if rule.Host != "hello.example.com" || rule.HTTP.Paths[0].Path != "/greet" ||
		rule.HTTP.Paths[0].Backend.Service.Name != "hello" || rule.HTTP.Paths[0].Backend.Service.Port.Number != 8080 {
		t.Errorf("Ingress rule %+v", rule)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "hello-cert" {
		t.Errorf("Ingress TLS %+v", ing.Spec.TLS)
	}
	if ing.Annotations["nginx.ingress.kubernetes.io/auth-secret"] != "hello-auth" || ing.Annotations["nginx.ingress.kubernetes.io/enable-cors"] != "true" {
		t.Errorf("Ingress annotations %v", ing.Annotations)
	}
	triggerReady(t, c, ht, func() *v1beta1.TriggerStatus { return &ht.Status }, v1beta1.ReasonReady)

	ct := &v1beta1.CronJobTrigger{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello-cron"},
		Spec:       v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "*/5 * * * *", Payload: rawExt([]byte(`{"a":1}`))},
	}
	if err := c.Create(ctx, ct); err != nil {
		t.Fatal(err)
	}
	var cj batchv1.CronJob
	get(t, c, client.ObjectKeyFromObject(ct), &cj)
	ownedBy(t, &cj, ct.UID)
	job := cj.Spec.JobTemplate.Spec.Template.Spec
	if cj.Spec.Schedule != "*/5 * * * *" || job.Containers[0].Image != testProvisionImage {
		t.Errorf("CronJob schedule %q image %q", cj.Spec.Schedule, job.Containers[0].Image)
	}
	if u := envValue(job.Containers[0], "KUBELESS_FUNCTION_URL"); u != "http://hello."+ns+".svc.cluster.local:8080" {
		t.Errorf("CronJob calls %q", u)
	}
	triggerReady(t, c, ct, func() *v1beta1.TriggerStatus { return &ct.Status }, v1beta1.ReasonReady)

	// Autoscale on, then off.
	key := client.ObjectKeyFromObject(fn)
	setHPA := func(raw []byte) {
		t.Helper()
		updateFunction(t, c, key, func(cur *v1beta1.Function) {
			if raw == nil {
				cur.Spec.HorizontalPodAutoscaler = nil
			} else {
				cur.Spec.HorizontalPodAutoscaler = rawExt(raw)
			}
		})
	}
	setHPA([]byte(`{"metadata":{"name":"hello"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1beta1","kind":"Deployment","name":"hello"},"minReplicas":2,"maxReplicas":5,
		"metrics":[{"type":"Resource","resource":{"name":"cpu","targetAverageUtilization":60}}]}}`))
	var hpa autoscalingv2.HorizontalPodAutoscaler
	get(t, c, key, &hpa)
	ownedBy(t, &hpa, fn.UID)
	if hpa.Spec.MaxReplicas != 5 || *hpa.Spec.MinReplicas != 2 || hpa.Spec.ScaleTargetRef.APIVersion != "apps/v1" ||
		hpa.Spec.Metrics[0].Resource.Target.AverageUtilization == nil || *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 60 {
		t.Errorf("HPA spec %+v", hpa.Spec)
	}
	setHPA(nil)
	kubetest.Eventually(t, waitFor, func() error {
		err := c.Get(ctx, key, &autoscalingv2.HorizontalPodAutoscaler{})
		if err == nil {
			return fmt.Errorf("HPA still there after the autoscaler was removed")
		}
		return client.IgnoreNotFound(err)
	})
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

// TestBadInputShowsInStatus: each kind of bad input gives the Ready
// condition False with its reason and a message, a Warning Event, no
// Deployment, and no retry loop.
func TestBadInputShowsInStatus(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	code := "def foo(event, context):\n    return 'x'\n"
	cases := []struct {
		name, reason, msg string
		mutate            func(*v1beta1.Function)
	}{
		{"unknown-runtime", v1beta1.ReasonUnknownRuntime, "Invalid runtime: cobol85. Supported runtimes are: ",
			func(f *v1beta1.Function) { f.Spec.Runtime = "cobol85" }},
		{"content-type", v1beta1.ReasonInvalidContentType, "base64+rar",
			func(f *v1beta1.Function) { f.Spec.FunctionContentType = "base64+rar" }},
		{"checksum", v1beta1.ReasonInvalidChecksum, "checksum",
			func(f *v1beta1.Function) { f.Spec.Checksum = sha("other code") }},
		{"deployment", v1beta1.ReasonInvalidDeployment, "spec.deployment",
			func(f *v1beta1.Function) { f.Spec.Deployment = rawExt([]byte(`{"spec":{"replicas":"three"}}`)) }},
		{"autoscaler", v1beta1.ReasonInvalidAutoscaler, "maxReplicas",
			func(f *v1beta1.Function) {
				f.Spec.HorizontalPodAutoscaler = rawExt([]byte(`{"metadata":{"name":"autoscaler"},"spec":{"scaleTargetRef":{"name":"autoscaler"},"maxReplicas":0}}`))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fn := newFunction(ns, tc.name, "python3.11", "hello.foo", code, "")
			tc.mutate(fn)
			if err := c.Create(ctx, fn); err != nil {
				t.Fatal(err)
			}
			key := client.ObjectKeyFromObject(fn)
			cond := readyCondition(t, c, key, hasReason(tc.reason))
			if cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, tc.msg) {
				t.Errorf("Ready %s: %q, want False with %q", cond.Status, cond.Message, tc.msg)
			}
			if note := waitEvent(t, c, ns, tc.name, tc.reason); note != cond.Message {
				t.Errorf("Event note %q, want the condition's message %q", note, cond.Message)
			}
			var d appsv1.Deployment
			if err := c.Get(ctx, key, &d); err == nil {
				t.Errorf("a Deployment was made for bad input")
			}
			// That bad input is not retried (Reconcile ends with no error and
			// no requeue) and that a second pass writes nothing is checked by
			// TestReconcileBadInput on its result: here, waiting for
			// "nothing happened" would pass whenever the controller was slow.
		})
	}

	// A malformed handler never gets stored: the CRD's schema refuses it,
	// with the field in the message.
	bad := newFunction(ns, "handler", "python3.11", "hello", code, "")
	if err := c.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "spec.handler") {
		t.Errorf("create with handler %q: %v, want an error about spec.handler", bad.Spec.Handler, err)
	}

	// A trigger for a missing function says so, and becomes ready once the
	// function exists.
	ht := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "orphan"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "later"}}
	if err := c.Create(ctx, ht); err != nil {
		t.Fatal(err)
	}
	cond := triggerReady(t, c, ht, func() *v1beta1.TriggerStatus { return &ht.Status }, v1beta1.ReasonFunctionNotFound)
	if !strings.Contains(cond.Message, `function "later" does not exist`) {
		t.Errorf("message %q", cond.Message)
	}
	waitEvent(t, c, ns, "orphan", v1beta1.ReasonFunctionNotFound)
	ct := &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "orphan-cron"}, Spec: v1beta1.CronJobTriggerSpec{FunctionName: "later", Schedule: "@hourly"}}
	if err := c.Create(ctx, ct); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, ct, func() *v1beta1.TriggerStatus { return &ct.Status }, v1beta1.ReasonFunctionNotFound)
	if err := c.Create(ctx, newFunction(ns, "later", "python3.11", "hello.foo", code, "")); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, ht, func() *v1beta1.TriggerStatus { return &ht.Status }, v1beta1.ReasonReady)
	triggerReady(t, c, ct, func() *v1beta1.TriggerStatus { return &ct.Status }, v1beta1.ReasonReady)
	get(t, c, client.ObjectKeyFromObject(ct), &batchv1.CronJob{})

	// When the function goes, so do the CronJob and the Ingress (they
	// would fail on every schedule and answer 503), and the triggers say
	// why.
	if err := c.Delete(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}}); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, ct, func() *v1beta1.TriggerStatus { return &ct.Status }, v1beta1.ReasonFunctionNotFound)
	triggerReady(t, c, ht, func() *v1beta1.TriggerStatus { return &ht.Status }, v1beta1.ReasonFunctionNotFound)
	for _, obj := range []client.Object{&batchv1.CronJob{}, &networkingv1.Ingress{}} {
		key := client.ObjectKeyFromObject(ct)
		if _, ing := obj.(*networkingv1.Ingress); ing {
			key = client.ObjectKeyFromObject(ht)
		}
		kubetest.Eventually(t, waitFor, func() error {
			err := c.Get(ctx, key, obj)
			if err == nil {
				return fmt.Errorf("%T %s still there after its function was deleted", obj, key)
			}
			return client.IgnoreNotFound(err)
		})
	}
}

// TestPodProblemsShowInStatus: what keeps a function's pods from running
// (set here on pod objects, as a kubelet would) shows in its status, and a
// rolled-out Deployment makes it Ready.
func TestPodProblemsShowInStatus(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	cases := []struct {
		name, reason, msg string
		status            corev1.PodStatus
	}{
		{"image", v1beta1.ReasonImageMissing, "image kubeless/python:3.11 cannot be pulled (ErrImageNeverPull)", corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "image", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: "not present"}}}}}},
		{"install", v1beta1.ReasonInitContainerFailed, "init container install failed (exit code 1): Collecting nosuchpkg | ERROR: No matching distribution found for nosuchpkg", corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "prepare", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}},
				{Name: "install", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "Collecting nosuchpkg\nERROR: No matching distribution found for nosuchpkg"}}}}}},
		{"crash", v1beta1.ReasonCrashLoop, "container crash keeps failing (CrashLoopBackOff): last exit code 1: SyntaxError", corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "crash", RestartCount: 4,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "SyntaxError"}}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fn := newFunction(ns, tc.name, "python3.11", "hello.foo", "def foo(e, c):\n    return 1\n", "")
			if err := c.Create(ctx, fn); err != nil {
				t.Fatal(err)
			}
			key := client.ObjectKeyFromObject(fn)
			var d appsv1.Deployment
			get(t, c, key, &d)
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name + "-abc12", Labels: d.Spec.Template.Labels},
				Spec:       *d.Spec.Template.Spec.DeepCopy(),
			}
			pod.Spec.AutomountServiceAccountToken = new(bool)
			if err := c.Create(ctx, pod); err != nil {
				t.Fatal(err)
			}
			pod.Status = tc.status
			pod.Status.Phase = corev1.PodPending
			if err := c.Status().Update(ctx, pod); err != nil {
				t.Fatal(err)
			}
			cond := readyCondition(t, c, key, hasReason(tc.reason))
			if cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, tc.msg) {
				t.Errorf("Ready %s: %q, want False with %q", cond.Status, cond.Message, tc.msg)
			}
			waitEvent(t, c, ns, tc.name, tc.reason)
		})
	}

	// The Deployment controller reports the pods ready: the function is.
	fn := newFunction(ns, "fine", "python3.11", "hello.foo", "def foo(e, c):\n    return 1\n", "")
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(fn)
	var d appsv1.Deployment
	get(t, c, key, &d)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
	if err := c.Status().Update(ctx, &d); err != nil {
		t.Fatal(err)
	}
	readyCondition(t, c, key, func(c *metav1.Condition) bool { return c.Status == metav1.ConditionTrue })
	var got v1beta1.Function
	if err := c.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Ready != "1/1" || got.Status.ReadyReplicas != 1 {
		t.Errorf("status ready %q readyReplicas %d, want 1/1", got.Status.Ready, got.Status.ReadyReplicas)
	}
}

// TestCatalogReload: a change of kubeless-config reaches running functions
// without a restart of the controller, and a broken one shows in their
// status until it is fixed.
func TestCatalogReload(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	fn := newFunction(ns, "reload", "python3.11", "hello.foo", "def foo(e, c):\n    return 1\n", "")
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(fn)
	var d appsv1.Deployment
	get(t, c, key, &d)

	var cm corev1.ConfigMap
	if err := c.Get(ctx, controller.DefaultConfig, &cm); err != nil {
		t.Fatal(err)
	}
	orig := cm.DeepCopy()
	t.Cleanup(func() {
		var cur corev1.ConfigMap
		if err := c.Get(context.Background(), controller.DefaultConfig, &cur); err == nil {
			cur.Data = orig.Data
			_ = c.Update(context.Background(), &cur)
		}
	})
	setData := func(mutate func(map[string]string)) {
		t.Helper()
		var cur corev1.ConfigMap
		if err := c.Get(ctx, controller.DefaultConfig, &cur); err != nil {
			t.Fatal(err)
		}
		mutate(cur.Data)
		if err := c.Update(ctx, &cur); err != nil {
			t.Fatal(err)
		}
	}
	setData(func(m map[string]string) {
		m["runtime-images"] = strings.Replace(m["runtime-images"], `"kubeless/python:3.11"`, `"localhost/python:3.11-test"`, 1)
		m["provision-image"] = "localhost/unzip:test"
		m["image-pull-policy"] = "IfNotPresent"
		m["deployment"] = `{"spec":{"template":{"spec":{"containers":[{"env":[{"name":"SHARED","value":"yes"}]}],"nodeSelector":{"disk":"ssd"}}}}}`
	})
	kubetest.Eventually(t, waitFor, func() error {
		if err := c.Get(ctx, key, &d); err != nil {
			return err
		}
		ps := d.Spec.Template.Spec
		fc := ps.Containers[0]
		if fc.Image != "localhost/python:3.11-test" || ps.InitContainers[0].Image != "localhost/unzip:test" ||
			fc.ImagePullPolicy != corev1.PullIfNotPresent || envValue(fc, "SHARED") != "yes" || ps.NodeSelector["disk"] != "ssd" || envValue(fc, "FUNC_HANDLER") != "foo" {
			return fmt.Errorf("Deployment not updated from kubeless-config yet: image %s, prepare %s, policy %s, env %v, nodeSelector %v",
				fc.Image, ps.InitContainers[0].Image, fc.ImagePullPolicy, fc.Env, ps.NodeSelector)
		}
		return nil
	})

	setData(func(m map[string]string) { m["runtime-images"] = `[{"ID": "python", "versionz": []}]` })
	cond := readyCondition(t, c, key, hasReason(v1beta1.ReasonInvalidConfig))
	if !strings.Contains(cond.Message, "runtime-images") || !strings.Contains(cond.Message, "kubeless-config") {
		t.Errorf("message %q, want the ConfigMap and key named", cond.Message)
	}
	setData(func(m map[string]string) { m["runtime-images"] = orig.Data["runtime-images"] })
	readyCondition(t, c, key, hasReason(v1beta1.ReasonReconciling))
}

// TestKubectlApply: kubectl applies kubeless.yaml to the API server, and the
// original Kubeless example manifests (examples/*/function.yaml, with a
// runtime we have) are accepted and reconciled.
func TestKubectlApply(t *testing.T) {
	c := startController(t)
	kubectl := testutil.NeedTool(t, "kubectl")
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("apply", "-f", filepath.Join(env.Dir, "kubeless.yaml"))
	for _, want := range []string{"namespace/kubeless", "customresourcedefinition.apiextensions.k8s.io/functions.kubeless.io",
		"clusterrole.rbac.authorization.k8s.io/kubeless-controller", "configmap/kubeless-config", "deployment.apps/kubeless-controller-manager"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply output lacks %s:\n%s", want, out)
		}
	}

	manifests, err := filepath.Glob(filepath.Join(env.Dir, "examples", "*", "function.yaml"))
	if err != nil || len(manifests) < 5 {
		t.Fatalf("want examples/<lang>/function.yaml for the five languages, have %v (%v)", manifests, err)
	}
	ns := env.Namespace(t)
	for _, m := range manifests {
		out := run("apply", "-n", ns, "-f", m)
		name := strings.TrimSpace(out[strings.Index(out, "/")+1 : strings.Index(out, " ")])
		key := types.NamespacedName{Namespace: ns, Name: name}
		var d appsv1.Deployment
		get(t, c, key, &d)
		readyCondition(t, c, key, hasReason(v1beta1.ReasonReconciling))
	}
	got := run("get", "functions", "-n", ns)
	if !strings.Contains(got, "RUNTIME") || strings.Count(got, "\n") < len(manifests)+1 {
		t.Errorf("kubectl get functions:\n%s", got)
	}
}

// TestAutoscalerOwnsReplicas: turning autoscaling on keeps the pods the
// Deployment has, and replicas set by the autoscaler (or kubectl scale)
// survive the controller's next reconcile.
func TestAutoscalerOwnsReplicas(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	fn := newFunction(ns, "scaled", "python3.11", "hello.foo", "def foo(e, c):\n    return 1\n", "")
	five := int32(5)
	fn.Spec.Deployment = rawExt([]byte(`{"spec":{"replicas":5}}`))
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(fn)
	replicas := func(want int32) {
		t.Helper()
		kubetest.Eventually(t, waitFor, func() error {
			var d appsv1.Deployment
			if err := c.Get(ctx, key, &d); err != nil {
				return err
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
				var managers []string
				for _, mf := range d.ManagedFields {
					managers = append(managers, fmt.Sprintf("%s/%s/%s replicas:%v", mf.Manager, mf.Operation, mf.Subresource, strings.Contains(string(mf.FieldsV1.Raw), `"f:replicas"`)))
				}
				return fmt.Errorf("replicas %v, want %d (managed fields %v)", ptr.Deref(d.Spec.Replicas, -1), want, managers)
			}
			return nil
		})
	}
	replicas(five)
	update := func(mutate func(*v1beta1.Function)) {
		t.Helper()
		updateFunction(t, c, key, mutate)
	}
	update(func(f *v1beta1.Function) {
		f.Spec.Deployment = nil
		f.Spec.HorizontalPodAutoscaler = rawExt([]byte(`{"metadata":{"name":"scaled"},"spec":{"scaleTargetRef":{"name":"scaled"},"minReplicas":2,"maxReplicas":9}}`))
	})
	get(t, c, key, &autoscalingv2.HorizontalPodAutoscaler{})
	readyCondition(t, c, key, hasReason(v1beta1.ReasonReconciling))
	replicas(five)

	// The autoscaler scales to 7 through the scale subresource.
	var d appsv1.Deployment
	if err := c.Get(ctx, key, &d); err != nil {
		t.Fatal(err)
	}
	scale := &autoscalingv1Scale{Spec: autoscalingv1ScaleSpec{Replicas: 7}}
	if err := c.SubResource("scale").Update(ctx, &d, client.WithSubResourceBody(scale)); err != nil {
		t.Fatal(err)
	}
	replicas(7)
	update(func(f *v1beta1.Function) { f.Spec.Timeout = "9" })
	kubetest.Eventually(t, waitFor, func() error {
		if err := c.Get(ctx, key, &d); err != nil {
			return err
		}
		if envValue(d.Spec.Template.Spec.Containers[0], "FUNC_TIMEOUT") != "9" {
			return fmt.Errorf("not reconciled yet")
		}
		return nil
	})
	replicas(7)
}
