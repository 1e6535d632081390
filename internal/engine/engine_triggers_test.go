package engine

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/pkg/contract"
)

func TestTop(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	for range 3 {
		call(t, e, "/hello", "x")
	}
	if resp, err := http.Get("http://" + e.GatewayAddr() + "/hello"); err == nil {
		resp.Body.Close()
	}
	rows, err := e.Top(ctx, "default", "hello")
	if err != nil {
		t.Fatal(err)
	}
	want := []backend.FunctionMetrics{
		{Function: "hello", Namespace: "default", Method: "GET", TotalCalls: 1, TotalDurationSeconds: 0.5, AvgDurationSeconds: 0.5},
		{Function: "hello", Namespace: "default", Method: "POST", TotalCalls: 3, TotalDurationSeconds: 1.5, AvgDurationSeconds: 0.5},
	}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Errorf("Top = %+v, want %+v", rows, want)
	}
	if _, err := e.Top(ctx, "default", "nope"); backend.CodeOf(err) != backend.CodeNotFound {
		t.Errorf("Top of a missing function: %v", err)
	}
	all, err := e.Top(ctx, "", "")
	if err != nil || len(all) != 2 {
		t.Errorf("Top all = %+v, %v", all, err)
	}
}

// TestFetchMetrics: each instance is asked with its own token; an answer
// that is not 200 (an instance refusing a wrong token) is a fetch error.
func TestFetchMetrics(t *testing.T) {
	tokens := map[string]string{"/a/metrics": "ta", "/b/metrics": "tb", "/bad/metrics": "tx"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if want, ok := tokens[r.URL.Path]; ok && r.Header.Get(contract.HeaderInstanceToken) != want {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/a/metrics", "/b/metrics":
			io.WriteString(w, "function_failures_total{method=\"GET\"} 2\nother 1\n")
		case "/bad/metrics":
			io.WriteString(w, "not { metrics")
		default:
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	be := func(path, token string) gateway.Backend { return gateway.Backend{URL: srv.URL + path, Token: token} }
	m, err := fetchMetrics(ctx, srv.Client(), []gateway.Backend{be("/a", "ta"), be("/b", "tb")})
	if err != nil || len(m) != 1 || m["GET"].Failures != 4 {
		t.Errorf("fetch = %+v, %v", m, err)
	}
	if _, err := fetchMetrics(ctx, srv.Client(), []gateway.Backend{be("/bad", "tx")}); err == nil {
		t.Error("garbage parsed")
	} else if _, ok := err.(*fetchError); ok {
		t.Errorf("garbage is a fetch error: %v", err)
	}
	for _, bs := range [][]gateway.Backend{
		{be("/a", "ta"), be("/gone", "")},
		{be("/a", "tb")},
		{be("/a", "")},
	} {
		if _, err := fetchMetrics(ctx, srv.Client(), bs); err == nil {
			t.Errorf("%+v: fetched", bs)
		} else if _, ok := err.(*fetchError); !ok {
			t.Errorf("%+v: not a fetch error: %v", bs, err)
		}
	}
}

func htpasswd(t *testing.T, user, pw string) string {
	sum := sha1.Sum([]byte(pw))
	p := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(p, []byte(user+":{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func httpTrigger(name, fn, path, auth string) *v1beta1.HTTPTrigger {
	return &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.HTTPTriggerSpec{FunctionName: fn, Path: path, BasicAuthSecret: auth}}
}

func TestHTTPTriggers(t *testing.T) {
	home := t.TempDir()
	e, stop := newTestEngine(t, home)
	ctx := context.Background()
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, httpTrigger("ht", "hello", "api", "")); backend.CodeOf(err) != backend.CodeNotFound ||
		!strings.Contains(err.Error(), `function "hello" not found in namespace "default": deploy it first`) {
		t.Fatalf("trigger of a missing function: %v", err)
	}
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, httpTrigger("ht", "hello", "api", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, httpTrigger("ht", "hello", "other", "")); backend.CodeOf(err) != backend.CodeAlreadyExists {
		t.Errorf("second create: %v", err)
	}
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, httpTrigger("ht2", "hello", "/api/", "")); backend.CodeOf(err) != backend.CodeAlreadyExists {
		t.Errorf("same path: %v", err)
	}
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, httpTrigger("bad", "hello", "b", "/no/such/file")); backend.CodeOf(err) != backend.CodeInvalid {
		t.Errorf("missing htpasswd: %v", err)
	}
	// TLS is the Ingress controller's, on Kubernetes.
	tls := httpTrigger("tls", "hello", "tls", "")
	tls.Spec.HostName, tls.Spec.TLSSecret = "h.example.com", "cert"
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, tls); backend.CodeOf(err) != backend.CodeInvalid ||
		err.Error() != `HTTP trigger "tls" asks for TLS (tls or tls-secret), which the local gateway does not serve: it serves plain HTTP on this machine` {
		t.Errorf("tls-secret: %v", err)
	}
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Update(ctx, &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "ht"}, Spec: v1beta1.HTTPTriggerSpec{TLSAcme: true}}); backend.CodeOf(err) != backend.CodeInvalid {
		t.Errorf("update to ACME: %v", err)
	}
	if code, body := call(t, e, "/api/x", "ping"); code != 200 || body != "v1||ping" {
		t.Errorf("call through trigger = %d %q", code, body)
	}
	if _, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Create(ctx, httpTrigger("sec", "hello", "sec", htpasswd(t, "bob", "pw"))); err != nil {
		t.Fatal(err)
	}
	if code, _ := call(t, e, "/sec", "x"); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", code)
	}
	req, _ := http.NewRequest("POST", "http://"+e.GatewayAddr()+"/sec", strings.NewReader("y"))
	req.SetBasicAuth("bob", "pw")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("with credentials: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	up := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "ht"}, Spec: v1beta1.HTTPTriggerSpec{Path: "v2"}}
	if out, err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Update(ctx, up); err != nil || out.Spec.Path != "v2" || out.Spec.FunctionName != "hello" {
		t.Errorf("update = %+v, %v", out, err)
	}
	ts, _ := backend.TriggersOf[v1beta1.HTTPTrigger](e).List(ctx, "")
	if len(ts) != 2 || ts[0].Name != "ht" || ts[0].Labels[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless {
		t.Errorf("list = %+v", ts)
	}

	// They survive a restart.
	stop()
	e, _ = newTestEngine(t, home)
	waitReason(t, e, "hello", reasonReady)
	if code, _ := call(t, e, "/v2", "x"); code != 200 {
		t.Errorf("trigger after restart: %d", code)
	}
	if code, _ := call(t, e, "/sec", "x"); code != http.StatusUnauthorized {
		t.Errorf("auth after restart: %d", code)
	}
	if err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Delete(ctx, "default", "ht"); err != nil {
		t.Fatal(err)
	}
	if err := backend.TriggersOf[v1beta1.HTTPTrigger](e).Delete(ctx, "default", "ht"); backend.CodeOf(err) != backend.CodeNotFound {
		t.Errorf("second delete: %v", err)
	}
	// Deleting the function deletes its triggers.
	if err := e.Delete(ctx, "default", "hello"); err != nil {
		t.Fatal(err)
	}
	if ts, _ := backend.TriggersOf[v1beta1.HTTPTrigger](e).List(ctx, ""); len(ts) != 0 {
		t.Errorf("triggers left after the function's delete: %+v", ts)
	}
}

func TestCronTriggers(t *testing.T) {
	home := t.TempDir()
	e, stop := newTestEngine(t, home)
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	ct := &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Name: "tick"},
		Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "bad"}}
	if _, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).Create(ctx, ct); backend.CodeOf(err) != backend.CodeInvalid {
		t.Errorf("bad schedule: %v", err)
	}
	ct.Spec.Schedule = "@every 1s"
	ct.Spec.Payload = &runtime.RawExtension{Raw: []byte(`{"a":1}`)}
	if _, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).Create(ctx, ct); err != nil {
		t.Fatal(err)
	}
	waitRun := func() *metav1.Condition {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			got, err := backend.TriggersOf[v1beta1.CronJobTrigger](e).Get(ctx, "default", "tick")
			if err != nil {
				t.Fatal(err)
			}
			if c := meta.FindStatusCondition(got.Status.Conditions, conditionLastRun); c != nil {
				return c
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("the cron trigger never ran")
		return nil
	}
	c := waitRun()
	if c.Reason != v1beta1.ReasonCallSucceeded || c.Message != "POST / answered 200 OK" {
		t.Errorf("last run = %+v", c)
	}
	lines, _ := e.Logs(ctx, "default", "hello", backend.LogOptions{Tail: -1})
	var all []string
	for l := range lines {
		all = append(all, l)
	}
	if !strings.Contains(strings.Join(all, "\n"), "called POST") {
		t.Errorf("logs = %q", all)
	}
	stop()
	e, _ = newTestEngine(t, home)
	if ts, _ := backend.TriggersOf[v1beta1.CronJobTrigger](e).List(ctx, "default"); len(ts) != 1 || ts[0].Spec.Schedule != "@every 1s" {
		t.Errorf("after restart: %+v", ts)
	}
	if err := e.Delete(ctx, "default", "hello"); err != nil {
		t.Fatal(err)
	}
	if ts, _ := backend.TriggersOf[v1beta1.CronJobTrigger](e).List(ctx, ""); len(ts) != 0 {
		t.Errorf("cron triggers left after the function's delete: %+v", ts)
	}
}

func TestScalePolicy(t *testing.T) {
	qps := &scalePolicy{min: 1, max: 5, metric: "qps", value: 10}
	cpu := &scalePolicy{min: 2, max: 4, metric: "cpu", value: 50}
	conc := &scalePolicy{min: 0, max: 4, metric: "concurrency", value: 2}
	for _, tt := range []struct {
		p              *scalePolicy
		cur            int
		qps, cpu, conc float64
		want           int
	}{
		{qps, 1, 0, -1, 0, 1},
		{qps, 1, 25, -1, 0, 3},
		{qps, 1, 1000, -1, 0, 5},
		{qps, 5, 0, -1, 0, 4}, // down one at a time
		{cpu, 2, 0, 100, 0, 4},
		{cpu, 3, 0, -1, 0, 3}, // unknown CPU: unchanged
		{cpu, 3, 0, 10, 0, 2},
		{conc, 1, 0, -1, 5, 3},
		{conc, 1, 0, -1, 100, 4},
		{conc, 3, 0, -1, 0, 2}, // down one at a time
		{conc, 1, 0, -1, 0, 1}, // zero only through the idle window
	} {
		if got := tt.p.desired(tt.cur, tt.qps, tt.cpu, tt.conc); got != tt.want {
			t.Errorf("%+v desired(%d, %g, %g, %g) = %d, want %d", *tt.p, tt.cur, tt.qps, tt.cpu, tt.conc, got, tt.want)
		}
	}
}

func TestAutoscale(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	if _, err := e.SetAutoscaler(ctx, "default", "hello", nil); err == nil || err.Error() != "Not found an autoscale definition for hello" {
		t.Errorf("delete of none: %v", err)
	}
	minR := int32(2)
	q := resource.MustParse("1k")
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		MinReplicas: &minR, MaxReplicas: 3,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Service", Name: "hello"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "function_calls"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &q}}}},
	}}
	fn, err := e.SetAutoscaler(ctx, "default", "hello", h)
	if err != nil {
		t.Fatal(err)
	}
	if p := policyOf(fn); p == nil || *p != (scalePolicy{min: 2, max: 3, metric: "qps", value: 1000}) {
		t.Errorf("policy = %+v", p)
	}
	waitReady := func(want string) {
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			fn, _ := e.Get(ctx, "default", "hello")
			if fn.Status.Ready == want {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		fn, _ := e.Get(ctx, "default", "hello")
		t.Fatalf("ready = %q, want %q", fn.Status.Ready, want)
	}
	waitReady("2/2")
	if _, err := e.SetAutoscaler(ctx, "default", "hello", nil); err != nil {
		t.Fatal(err)
	}
	waitReady("1/1")
	bad := h.DeepCopy()
	bad.Spec.MaxReplicas = 1
	if _, err := e.SetAutoscaler(ctx, "default", "hello", bad); backend.CodeOf(err) != backend.CodeInvalid {
		t.Errorf("max < min: %v", err)
	}
	_ = corev1.ResourceCPU
}

func TestBuildStepsInStatus(t *testing.T) {
	// The "slow" install waits for this file (at most 30 s): the status is
	// read while the install surely runs, then the install is let go.
	release := filepath.Join(t.TempDir(), "release")
	t.Setenv("KUBELESS_TEST_RELEASE", release)
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	fn := testFunction("slow", "v1")
	fn.Spec.Deps = "slow\n"
	if _, err := e.Deploy(ctx, fn); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	steps := map[string]string{} // status.buildStep seen -> the reason it came with
	var last *v1beta1.Function
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		last, _ = e.Get(ctx, "default", "slow")
		c := readyCondition(last)
		seen[c.Message] = true
		if s := last.Status.BuildStep; s != "" {
			steps[s] = c.Reason
			if s == string(langruntime.StepInstall) {
				os.WriteFile(release, nil, 0o600)
			}
		}
		if c.Reason == reasonReady {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !seen["building the function: install"] {
		t.Errorf("messages seen: %v", seen)
	}
	// The step is a typed field too (what the CLI reads), set only while
	// Building and cleared after.
	if steps[string(langruntime.StepInstall)] != reasonBuilding {
		t.Errorf("status.buildStep seen: %v, want %q while %s", steps, langruntime.StepInstall, reasonBuilding)
	}
	if last.Status.BuildStep != "" {
		t.Errorf("status.buildStep = %q once ready, want empty", last.Status.BuildStep)
	}
}

func TestEveryTriggerKindHasAConsumer(t *testing.T) {
	e := New(Options{Home: t.TempDir()})
	for _, k := range v1beta1.TriggerKinds() {
		if s := e.triggers[k]; s == nil || s.use == nil {
			t.Errorf("trigger kind %s has no consumer on the local engine: add one to Engine.consumers", k.Kind)
		}
	}
}
