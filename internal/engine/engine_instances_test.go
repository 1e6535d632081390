package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/pkg/contract"
)

// TestHealthyNeedsInstanceProof: the health check sends the instance's
// token and a fresh nonce; an answer counts only with the proof for that
// nonce (another process that took the port cannot make it, and a proof
// replayed from an earlier check does not match a new nonce).
func TestHealthyNeedsInstanceProof(t *testing.T) {
	const token = "secret-token"
	var replay string // the first proof seen, for the replay case
	for _, tt := range []struct {
		name   string
		answer func(r *http.Request) string // the proof sent back
		want   bool
	}{
		{"own proof", func(r *http.Request) string {
			return contract.InstanceProof(r.Header.Get(contract.HeaderInstanceToken), r.Header.Get(contract.HeaderInstanceNonce))
		}, true},
		{"no proof", func(*http.Request) string { return "" }, false},
		{"another token's proof", func(r *http.Request) string {
			return contract.InstanceProof("other-token", r.Header.Get(contract.HeaderInstanceNonce))
		}, false},
		{"the token itself", func(r *http.Request) string { return token }, false},
		{"a replayed proof", func(*http.Request) string { return replay }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var sentToken, nonce string
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sentToken, nonce = r.Header.Get(contract.HeaderInstanceToken), r.Header.Get(contract.HeaderInstanceNonce)
				if p := tt.answer(r); p != "" {
					w.Header().Set(contract.HeaderInstanceProof, p)
				}
				if replay == "" {
					replay = contract.InstanceProof(token, nonce)
				}
				w.Write([]byte("OK"))
			}))
			defer ts.Close()
			got := healthy(context.Background(), ts.Client(), instance{url: ts.URL, token: token})
			if got != tt.want {
				t.Errorf("healthy = %v, want %v", got, tt.want)
			}
			if sentToken != token || len(nonce) < 16 {
				t.Errorf("check sent token %q and nonce %q, want the instance's token and a random nonce", sentToken, nonce)
			}
		})
	}
}

// TestReplicaLimitsOnEveryPath: more than maxReplicas instances are
// refused whether asked as replicas or through an autoscaler sent with the
// function (the raw API), on deploy and on update; SetAutoscaler caps its
// own.
func TestReplicaLimitsOnEveryPath(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	withReplicas := func(n int32) func(*v1beta1.Function) error {
		return func(fn *v1beta1.Function) error {
			return fn.Spec.SetDeploymentTemplate(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &n}})
		}
	}
	withAutoscaler := func(minR, maxR int32) func(*v1beta1.Function) error {
		return func(fn *v1beta1.Function) error {
			return fn.Spec.SetAutoscaler(&autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: fn.Name},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: fn.Name, APIVersion: "apps/v1"},
					MinReplicas:    &minR, MaxReplicas: maxR}})
		}
	}
	withContainer := func(c corev1.Container) func(*v1beta1.Function) error {
		return func(fn *v1beta1.Function) error {
			d := &appsv1.Deployment{}
			d.Spec.Template.Spec.Containers = []corev1.Container{c}
			return fn.Spec.SetDeploymentTemplate(d)
		}
	}
	// An update does not take an autoscaler (kubeless autoscale sets it,
	// with the same cap), so those cases are deploys only.
	tests := []struct {
		name    string
		ops     []string
		mutate  func(*v1beta1.Function) error
		wantErr string
	}{
		{"66 replicas", []string{"deploy", "update"}, withReplicas(66), "invalid replicas 66: use 0 to 64"},
		{"autoscaler max 66", []string{"deploy"}, withAutoscaler(1, 66), "invalid autoscaler maxReplicas 66: use 1 to 64"},
		{"autoscaler min above max", []string{"deploy"}, withAutoscaler(10, 5), "invalid autoscaler minReplicas 10: use 0 to maxReplicas (5)"},
		{"env from a secret key", []string{"deploy", "update"}, withContainer(corev1.Container{Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "TOKEN"}}}}}),
			`variable TOKEN takes its value from a Secret, ConfigMap or field, which the local engine does not have: give it a value with --env`},
		{"env from a configmap", []string{"deploy", "update"}, withContainer(corev1.Container{EnvFrom: []corev1.EnvFromSource{{
			ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}}),
			`the function takes variables from a Secret or ConfigMap (envFrom), which the local engine does not have: give them with --env`},
	}
	if _, err := e.Deploy(ctx, testFunction("limited", "v1")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range tt.ops {
				fn := testFunction("limited", "v1")
				if op == "deploy" {
					fn.Name = "fresh" // refused: never created
				}
				if err := tt.mutate(fn); err != nil {
					t.Fatal(err)
				}
				var err error
				if op == "deploy" {
					_, err = e.Deploy(ctx, fn)
				} else {
					_, err = e.Update(ctx, fn)
				}
				if err == nil || backend.CodeOf(err) != backend.CodeInvalid || err.Error() != tt.wantErr {
					t.Errorf("%s: err = %v, want %q", op, err, tt.wantErr)
				}
			}
		})
	}
}

// TestOneReplicaFailingDoesNotStopOthers: of two instances, the one that
// keeps crashing while starting leaves the other serving; the function
// says 1 of 2 ready and why.
func TestOneReplicaFailingDoesNotStopOthers(t *testing.T) {
	// The fake runtime shares a marker file between instances: no private
	// /tmp here.
	t.Setenv(envSandbox, "off")
	e, _ := newTestEngine(t, t.TempDir())
	marker := filepath.Join(t.TempDir(), "first-port")
	fn := testFunction("half", "crash-first "+marker)
	n := int32(2)
	if err := fn.Spec.SetDeploymentTemplate(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &n}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Deploy(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	got := waitReason(t, e, "half", reasonNotReady)
	c := readyCondition(got)
	if got.Status.ReadyReplicas != 1 || !strings.Contains(c.Message, "1 of 2 instances ready") || !strings.Contains(c.Message, "while starting") {
		t.Errorf("status: ready %d, message %q; want 1 ready, and why the other is not", got.Status.ReadyReplicas, c.Message)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the crashing instance never ran: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, body := call(t, e, "/half", "")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("call: %d %s", status, body)
		}
	}
}

// TestInstancesOnlyAnswerTheEngine: the fake runtime, like the function
// host, refuses requests without the instance token. Calls through the
// gateway, the health checks (the function gets ready) and the metrics
// scrape (Top) carry it; a direct call to the instance's port is refused.
func TestInstancesOnlyAnswerTheEngine(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	if code, body := call(t, e, "/hello", "ping"); code != 200 || body != "v1||ping" {
		t.Fatalf("call through the gateway = %d %q", code, body)
	}
	rows, err := e.Top(ctx, "default", "hello")
	if err != nil || len(rows) != 1 || rows[0].Message != "" || rows[0].TotalCalls != 1 {
		t.Errorf("Top = %+v, %v; want one row with 1 call", rows, err)
	}
	e.mu.Lock()
	bs := append([]gateway.Backend(nil), e.fns[fnKey("default", "hello")].backends...)
	e.mu.Unlock()
	if len(bs) != 1 || bs[0].Token == "" {
		t.Fatalf("backends = %+v, want one with a token", bs)
	}
	for _, path := range []string{"/", "/healthz", "/metrics"} {
		resp, err := http.Post(bs[0].URL+path, "text/plain", strings.NewReader("direct"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("direct POST %s = %d, want 403", path, resp.StatusCode)
		}
	}
}
