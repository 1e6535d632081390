package kubeengine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/kubetest"
)

var env *kubetest.Env

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &env)) }

// envEngine returns an engine on the test API server whose default
// namespace is a fresh one.
func envEngine(t *testing.T) (*Engine, string) {
	t.Helper()
	ns := env.Namespace(t)
	e, err := New(env.Config, ns)
	if err != nil {
		t.Fatal(err)
	}
	return e, ns
}

// TestEnvFunctions: deploy, read back, update merges, ls reads the status
// written through the status subresource, delete removes the function and
// its triggers.
func TestEnvFunctions(t *testing.T) {
	e, ns := envEngine(t)
	ctx := context.Background()

	fn := function("", "hello")
	if err := fn.Spec.SetDeploymentTemplate(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "A", Value: "1"}}}},
	}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Deploy(ctx, fn); err != nil {
		t.Fatal(err)
	}
	_, err := e.Deploy(ctx, fn)
	wantCode(t, err, backend.CodeAlreadyExists, fmt.Sprintf(`function "hello" already exists in namespace %q: use kubeless function update`, ns))
	_, err = e.Deploy(ctx, function(ns, "Bad_Name"))
	wantCode(t, err, backend.CodeInvalid, "")

	got, err := e.Get(ctx, ns, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Function != fn.Spec.Function || got.Labels[v1beta1.LabelFunction] != "hello" || got.Kind != "Function" {
		t.Errorf("read back %+v %+v", got.TypeMeta, got.Labels)
	}

	patch := &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello"}, Spec: v1beta1.FunctionSpec{Timeout: "30"}}
	if err := patch.Spec.SetDeploymentTemplate(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Image: "me/img:2", Env: []corev1.EnvVar{{Name: "B", Value: "2"}}}},
	}}}}); err != nil {
		t.Fatal(err)
	}
	up, err := e.Update(ctx, patch)
	if err != nil {
		t.Fatal(err)
	}
	if up.Generation != 2 || up.Spec.Timeout != "30" || up.Spec.Handler != "hello.foo" {
		t.Errorf("updated: generation %d, spec %+v", up.Generation, up.Spec)
	}
	d := deployment(t, up)
	if c := d.Spec.Template.Spec.Containers[0]; c.Image != "me/img:2" || !cmp.Equal(c.Env, []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}) {
		t.Errorf("merged container %+v", c)
	}

	// The status, as the controller writes it.
	cur := &v1beta1.Function{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hello"}, cur); err != nil {
		t.Fatal(err)
	}
	cur.Status.SetReplicas(2, 1)
	cur.Status.ObservedGeneration = cur.Generation
	meta.SetStatusCondition(&cur.Status.Conditions, metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: v1beta1.ReasonReconciling, Message: "1 of 2 pods ready", ObservedGeneration: cur.Generation})
	if err := env.Client.Status().Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	fns, err := e.List(ctx, ns)
	if err != nil || len(fns) != 1 {
		t.Fatalf("list = %v, %v", fns, err)
	}
	if st := fns[0].Status; st.Ready != "1/2" || st.ReadyReplicas != 1 || st.ObservedGeneration != 2 || len(st.Conditions) != 1 {
		t.Errorf("status = %+v", st)
	}

	ht := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello"}}
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, ht); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(ctx, ns, "hello"); err != nil {
		t.Fatal(err)
	}
	_, err = e.Get(ctx, ns, "hello")
	wantCode(t, err, backend.CodeNotFound, fmt.Sprintf(`function "hello" not found in namespace %q`, ns))
	_, err = backend.TriggersOf[v1beta1.HTTPTrigger](e).Get(ctx, ns, "web")
	wantCode(t, err, backend.CodeNotFound, "")
}

func TestEnvTriggersAndAutoscale(t *testing.T) {
	e, ns := envEngine(t)
	ctx := context.Background()

	ht := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello", Path: "api"}}
	_, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, ht)
	wantCode(t, err, backend.CodeNotFound, fmt.Sprintf(`function "hello" not found in namespace %q: deploy it first with kubeless function deploy hello -n %s`, ns, ns))
	if _, err := e.Deploy(ctx, function(ns, "hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, ht); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Update(ctx, &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: v1beta1.HTTPTriggerSpec{HostName: "h.example"}}); err != nil {
		t.Fatal(err)
	}
	stored := &v1beta1.HTTPTrigger{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, stored); err != nil {
		t.Fatal(err)
	}
	if stored.Spec.Path != "api" || stored.Spec.HostName != "h.example" || stored.Labels[v1beta1.LabelCreatedBy] != "kubeless" {
		t.Errorf("http trigger = %+v %v", stored.Spec, stored.Labels)
	}

	ct := &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Name: "tick"}, Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "*/5 * * * *"}}
	if _, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).Create(ctx, ct); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).Update(ctx, &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Name: "tick"}, Spec: v1beta1.CronJobTriggerSpec{Schedule: "@hourly"}}); err != nil {
		t.Fatal(err)
	}
	crons, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).List(ctx, ns)
	if err != nil || len(crons) != 1 || crons[0].Spec.Schedule != "@hourly" {
		t.Errorf("crons = %+v, %v", crons, err)
	}

	min, util := int32(2), int32(50)
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &min, MaxReplicas: 5,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}}}}
	if _, err := e.SetAutoscaler(ctx, ns, "hello", h); err != nil {
		t.Fatal(err)
	}
	fn, err := e.Get(ctx, ns, "hello")
	if err != nil {
		t.Fatal(err)
	}
	a, err := fn.Spec.Autoscaler()
	if err != nil || a == nil || *a.Spec.MinReplicas != 2 || a.Spec.MaxReplicas != 5 || a.Spec.ScaleTargetRef.Name != "hello" {
		t.Errorf("autoscaler = %+v, %v", a, err)
	}
	if _, err := e.SetAutoscaler(ctx, ns, "hello", nil); err != nil {
		t.Fatal(err)
	}
	_, err = e.SetAutoscaler(ctx, ns, "hello", nil)
	wantCode(t, err, backend.CodeNotFound, "Not found an autoscale definition for hello")
}

// TestEnvCall calls through the API server's service proxy: the request
// arrives with its method, path, query, body and event headers, and the
// answer comes back whatever its status.
func TestEnvCall(t *testing.T) {
	e, ns := envEngine(t)
	ctx := context.Background()
	type seen struct {
		Method, URI, Body, EventID, EventNS, ContentType string
	}
	got := make(chan seen, 1)
	ip, port := kubetest.HostServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), string(b), r.Header.Get("event-id"), r.Header.Get("event-namespace"), r.Header.Get("Content-Type")}
		if r.URL.Path == "/slow" {
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		io.WriteString(w, "hello "+r.Method)
	}))
	env.FunctionService(t, ns, "hello", ip, port)

	for _, tt := range []struct {
		name       string
		req        backend.CallRequest
		want       seen
		wantStatus int
		wantBody   string
	}{
		{
			name: "GET", req: backend.CallRequest{Method: "GET", Header: http.Header{"Event-Id": {"id1"}, "Event-Namespace": {"cli.kubeless.io"}}},
			want: seen{Method: "GET", URI: "/", EventID: "id1", EventNS: "cli.kubeless.io"}, wantStatus: 200, wantBody: "hello GET",
		},
		{
			name: "POST with path, query and body",
			req: backend.CallRequest{Method: "POST", Path: "/items/1?x=1", Body: []byte(`{"a":1}`),
				Header: http.Header{"Event-Id": {"id2"}, "Event-Namespace": {"cli.kubeless.io"}, "Content-Type": {"application/json"}}},
			want:       seen{Method: "POST", URI: "/items/1?x=1", Body: `{"a":1}`, EventID: "id2", EventNS: "cli.kubeless.io", ContentType: "application/json"},
			wantStatus: 200, wantBody: "hello POST",
		},
		{
			name: "408 passes through", req: backend.CallRequest{Method: "GET", Path: "/slow"},
			want: seen{Method: "GET", URI: "/slow"}, wantStatus: 408,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.Call(ctx, ns, "hello", &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || string(resp.Body) != tt.wantBody {
				t.Errorf("answer = %d %q, want %d %q", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantBody)
			}
			select {
			case s := <-got:
				if d := cmp.Diff(tt.want, s); d != "" {
					t.Errorf("request (-want +got):\n%s", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the request did not arrive")
			}
		})
	}

	_, err := e.Call(ctx, ns, "nope", &backend.CallRequest{})
	wantCode(t, err, backend.CodeNotFound, "Unable to find the service for nope")
}

// TestEnvTop reads /metrics of the function's ready pods through the
// API server's pods proxy and sums them per method.
func TestEnvTop(t *testing.T) {
	e, ns := envEngine(t)
	ctx := context.Background()
	hits := make(chan string, 4)
	ip, port := kubetest.HostServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- r.URL.Path
		io.WriteString(w, exposition(2, 1))
	}))
	for _, name := range []string{"hello", "idle"} {
		if _, err := e.Deploy(ctx, function(ns, name)); err != nil {
			t.Fatal(err)
		}
	}
	// Two ready pods of hello (the same server: the sums double), one not
	// ready, and a pod of idle that is not ready.
	env.FunctionPod(t, ns, "hello-a", "hello", ip, port, true)
	env.FunctionPod(t, ns, "hello-b", "hello", ip, port, true)
	env.FunctionPod(t, ns, "hello-c", "hello", ip, port, false)
	env.FunctionPod(t, ns, "idle-a", "idle", ip, port, false)
	rows, err := e.Top(ctx, ns, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []backend.FunctionMetrics{
		{Function: "hello", Namespace: ns, Method: "GET", TotalCalls: 4, TotalFailures: 2, TotalDurationSeconds: 4, AvgDurationSeconds: 1},
		{Function: "hello", Namespace: ns, Method: "POST", TotalCalls: 2, TotalDurationSeconds: 1, AvgDurationSeconds: 0.5},
		{Function: "idle", Namespace: ns, Message: backend.MsgNoReadyInstances},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if len(hits) != 2 || <-hits != "/metrics" {
		t.Errorf("metrics read %d times", len(hits)+1)
	}
}

// TestEnvSubFolderHandler: the API server takes a handler in a sub-folder
// (the CRD's pattern) and refuses one that leaves the function's folder.
func TestEnvSubFolderHandler(t *testing.T) {
	e, ns := envEngine(t)
	ctx := context.Background()
	fn := function("", "sub")
	fn.Spec.Handler = "src/api/hello.foo"
	if _, err := e.Deploy(ctx, fn); err != nil {
		t.Fatalf("deploy src/api/hello.foo: %v", err)
	}
	if got, err := e.Get(ctx, ns, "sub"); err != nil || got.Spec.Handler != "src/api/hello.foo" {
		t.Errorf("read back %v, %v", got, err)
	}
	// Past the engine's own check, as kubectl apply would send it.
	bad := function(ns, "up")
	bad.Spec.Handler = "../hello.foo"
	if err := env.Client.Create(ctx, bad); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.handler") {
		t.Errorf("create ../hello.foo: %v, want the API server to refuse spec.handler", err)
	}
}
