package function

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/kubeengine"
	"github.com/kubeless/kubeless/internal/kubescheme"
)

// kubeFakes returns the Kubernetes engine over fake clients, with the
// given pods.
func kubeFakes(t *testing.T, pods ...*corev1.Pod) (EngineFunc, client.Client) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(kubescheme.New()).
		WithStatusSubresource(&v1beta1.Function{}, &v1beta1.HTTPTrigger{}, &v1beta1.CronJobTrigger{}).Build()
	cs := kubefake.NewClientset()
	for _, p := range pods {
		if _, err := cs.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := kubeengine.NewWithOptions(kubeengine.Options{Client: c, Clientset: cs})
	if err != nil {
		t.Fatal(err)
	}
	return func(context.Context) (backend.Engine, error) { return e, nil }, c
}

// TestKubernetesDeployListDescribe runs deploy, update, ls and describe on
// the Kubernetes engine; the status is written as the controller would.
func TestKubernetesDeployListDescribe(t *testing.T) {
	ctx := context.Background()
	engine, c := kubeFakes(t)
	file := filepath.Join(t.TempDir(), "hello.py")
	writeFile(t, file, "def foo(e, c):\n    return 'hi'\n")

	ios, _, _, stderr := iostreams.Test()
	err := deployRun(ctx, &DeployOptions{IO: ios, Engine: engine, Kubernetes: true,
		Name: "hello", Namespace: "default", Runtime: "python3.11", Handler: "hello.foo", FromFile: file,
		Timeout: "180", Port: 8080, Replicas: 1, RuntimeImage: "me/python:1", Secrets: []string{"creds"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Deploying function...\nFunction hello submitted for deployment\nCheck the deployment status executing 'kubeless function ls hello'\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
	fn := &v1beta1.Function{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello"}, fn); err != nil {
		t.Fatal(err)
	}
	d, err := fn.Spec.DeploymentTemplate()
	if err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	wantVol := []corev1.Volume{{Name: "creds-vol", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}}}
	if len(pod.Containers) != 1 || pod.Containers[0].Image != "me/python:1" || !cmp.Equal(pod.Volumes, wantVol) ||
		!cmp.Equal(pod.Containers[0].VolumeMounts, []corev1.VolumeMount{{Name: "creds-vol", MountPath: "/creds"}}) {
		t.Errorf("pod template = %+v", pod)
	}
	if fn.Labels[v1beta1.LabelFunction] != "hello" || fn.Spec.Checksum == "" || fn.Spec.Timeout != "180" {
		t.Errorf("function = %+v %+v", fn.Labels, fn.Spec)
	}

	// update: only the flags given change.
	ios, _, _, _ = iostreams.Test()
	err = deployRun(ctx, &DeployOptions{IO: ios, Engine: engine, Kubernetes: true, Update: true, Changed: map[string]bool{"env": true},
		Name: "hello", Namespace: "default", Env: []string{"GREETING=hi"}, Timeout: "180", Port: 8080})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello"}, fn)
	d, _ = fn.Spec.DeploymentTemplate()
	if ct := d.Spec.Template.Spec.Containers[0]; ct.Image != "me/python:1" || len(ct.Env) != 1 || ct.Env[0].Value != "hi" || fn.Spec.Handler != "hello.foo" {
		t.Errorf("after update: %+v", ct)
	}

	setStatus := func(ready, replicas int32, st metav1.ConditionStatus, reason, msg string) {
		t.Helper()
		_ = c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello"}, fn)
		fn.Status.SetReplicas(replicas, ready)
		fn.Status.ObservedGeneration = fn.Generation
		meta.SetStatusCondition(&fn.Status.Conditions, metav1.Condition{Type: v1beta1.ConditionReady, Status: st, Reason: reason, Message: msg, ObservedGeneration: fn.Generation})
		if err := c.Status().Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name       string
		ready, rep int32
		st         metav1.ConditionStatus
		reason     string
		msg        string
		wantStatus string
	}{
		{"ready", 2, 2, metav1.ConditionTrue, v1beta1.ReasonReady, "", "2/2 READY"},
		{"starting", 0, 1, metav1.ConditionUnknown, v1beta1.ReasonReconciling, "pods are starting", "0/1 NOT READY"},
		{"bad input", 0, 0, metav1.ConditionFalse, v1beta1.ReasonUnknownRuntime, "Invalid runtime: python9. Supported runtimes are: python3.11",
			"0/0 NOT READY: Invalid runtime: python9. Supported runtimes are: python3.11"},
		{"crash loop has no message in ls", 0, 1, metav1.ConditionFalse, v1beta1.ReasonCrashLoop, "exit 1", "0/1 NOT READY"},
		// After a refused update the controller keeps the previous pods
		// and their counts.
		{"refused update keeps the old pods", 1, 1, metav1.ConditionFalse, v1beta1.ReasonInvalidHandler, "Invalid handler: hello.bar\nno function bar",
			"1/1 READY (update refused: Invalid handler: hello.bar, no function bar)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setStatus(tt.ready, tt.rep, tt.st, tt.reason, tt.msg)
			ios, _, stdout, _ := iostreams.Test()
			if err := listRun(ctx, &ListOptions{IO: ios, Engine: engine, Namespace: "default"}); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) != 2 || !strings.HasSuffix(lines[1], "  "+tt.wantStatus) ||
				strings.Join(strings.Fields(lines[1])[:4], " ") != "hello default hello.foo python3.11" {
				t.Errorf("ls = %q, want a row ending in %q", stdout.String(), tt.wantStatus)
			}
			ios, _, stdout, _ = iostreams.Test()
			if err := describeRun(ctx, &DescribeOptions{IO: ios, Engine: engine, Name: "hello", Namespace: "default"}); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Status:        " + tt.wantStatus + "\n", "Reason:        " + tt.reason + "\n", `Envvar:        ["GREETING=hi"]`} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("describe = %q, lacks %q", stdout.String(), want)
				}
			}
		})
	}

	// --wait ends on the Ready condition of the new generation.
	setStatus(1, 1, metav1.ConditionTrue, v1beta1.ReasonReady, "")
	ios, _, _, stderr = iostreams.Test()
	err = waitReady(ctx, &DeployOptions{IO: ios, Name: "hello", Namespace: "default", PollInterval: 1}, mustEngine(t, engine), fn.Generation)
	if err != nil || !strings.HasSuffix(stderr.String(), "Function hello is ready (1/1)\n") {
		t.Errorf("wait: %v, stderr %q", err, stderr.String())
	}
	setStatus(0, 1, metav1.ConditionFalse, v1beta1.ReasonImageMissing, "me/python:1: not found")
	ios, _, _, _ = iostreams.Test()
	err = waitReady(ctx, &DeployOptions{IO: ios, Name: "hello", Namespace: "default", PollInterval: 1}, mustEngine(t, engine), fn.Generation)
	if err == nil || err.Error() != "function hello failed (ImageMissing): me/python:1: not found" {
		t.Errorf("wait on a missing image: %v", err)
	}
}

func mustEngine(t *testing.T, f EngineFunc) backend.Engine {
	t.Helper()
	e, err := f(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestKubernetesLogs prints the output of the function's pods; the fake
// clientset's logs are "fake logs", and two pods get kubectl's prefixes.
func TestKubernetesLogs(t *testing.T) {
	ctx := context.Background()
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{v1beta1.LabelFunction: "hello"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "hello"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		}
	}
	for _, tt := range []struct {
		name string
		pods []*corev1.Pod
		want string
	}{
		{"one pod", []*corev1.Pod{pod("hello-1")}, "fake logs\n"},
		{"two pods", []*corev1.Pod{pod("hello-2"), pod("hello-1")}, "[pod/hello-1/hello] fake logs\n[pod/hello-2/hello] fake logs\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			engine, c := kubeFakes(t, tt.pods...)
			if err := c.Create(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello"}}); err != nil {
				t.Fatal(err)
			}
			ios, _, stdout, _ := iostreams.Test()
			cmd := NewCmdLogs(&Factory{IOStreams: ios, Engine: engine}, nil)
			cmd.SetArgs([]string{"hello", "--tail", "5"})
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, stdout.String()); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
		})
	}
}

// TestWaitWithoutStatus: a wait on a function that nothing reconciles says
// so, once, and then times out with that reason.
func TestWaitWithoutStatus(t *testing.T) {
	ctx := context.Background()
	engine, c := kubeFakes(t)
	if err := c.Create(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello"}}); err != nil {
		t.Fatal(err)
	}
	old := noStatusHint
	noStatusHint = 0
	t.Cleanup(func() { noStatusHint = old })
	ios, _, _, stderr := iostreams.Test()
	err := waitReady(ctx, &DeployOptions{IO: ios, Name: "hello", Namespace: "default", PollInterval: 1e6, WaitTimeout: 50e6}, mustEngine(t, engine), 1)
	if err == nil || err.Error() != "function hello is not ready after 50ms (it has no status yet: is the Kubeless controller running?)" {
		t.Errorf("err = %v", err)
	}
	if want := "Function hello has no status yet: is the Kubeless controller running?\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}
