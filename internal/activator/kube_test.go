package activator

import (
	"context"
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeless/kubeless/internal/kubescheme"
)

func deployment(replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello"},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
	}
}

func pod(name string, ready bool, ip string) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name,
			Labels: map[string]string{"created-by": "kubeless", "function": "hello"}},
		Status: corev1.PodStatus{PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

// newWaker returns a KubeWaker on a fake client holding objs, and a
// channel that receives the replicas of each scale subresource update.
func newWaker(t *testing.T, objs ...client.Object) (*KubeWaker, client.Client, <-chan int32) {
	t.Helper()
	scaled := make(chan int32, 10)
	c := fake.NewClientBuilder().WithScheme(kubescheme.New()).WithObjects(objs...).
		WithInterceptorFuncs(interceptor.Funcs{
			SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
				err := c.SubResource(sub).Update(ctx, obj, opts...)
				if err == nil {
					var d appsv1.Deployment
					if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &d); err == nil {
						scaled <- *d.Spec.Replicas
					}
				}
				return err
			},
		}).Build()
	return &KubeWaker{Client: c}, c, scaled
}

func TestKubeWakerScalesUpAndWaitsForAReadyPod(t *testing.T) {
	k, c, scaled := newWaker(t, deployment(0))
	type res struct {
		u   string
		err error
	}
	done := make(chan res, 1)
	go func() {
		u, err := k.Wake(context.Background(), hello)
		s := ""
		if u != nil {
			s = u.String()
		}
		done <- res{s, err}
	}()
	if got := wait(t, scaled, "the Deployment scaled"); got != 1 {
		t.Fatalf("scaled to %d, want 1", got)
	}
	ctx := context.Background()
	// A pod that is not ready yet does not end the wait.
	if err := c.Create(ctx, pod("hello-1", false, "")); err != nil {
		t.Fatal(err)
	}
	k.Notify("default", "hello")
	p := pod("hello-1", true, "10.0.0.7")
	if err := c.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	k.NotifyPod(p)
	got := wait(t, done, "Wake")
	if got.err != nil || got.u != "http://10.0.0.7:8080" {
		t.Errorf("Wake = %q, %v; want http://10.0.0.7:8080", got.u, got.err)
	}
}

func TestKubeWakerWarmFunction(t *testing.T) {
	k, _, scaled := newWaker(t, deployment(2), pod("hello-2", true, "10.0.0.8"))
	u, err := k.Wake(context.Background(), hello)
	if err != nil || u.String() != "http://10.0.0.8:8080" {
		t.Fatalf("Wake = %v, %v", u, err)
	}
	select {
	case n := <-scaled:
		t.Errorf("a warm function was scaled to %d", n)
	default:
	}
}

func TestKubeWakerStartErrors(t *testing.T) {
	pulling := pod("hello-3", false, "")
	pulling.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "hello",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image \"nope\""}}}}
	neverPull := pod("hello-5", false, "")
	neverPull.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "hello",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull",
			Message: "Container image \"kubeless/python:3.12\" is not present with pull policy of Never"}}}}
	initFailed := pod("hello-4", false, "")
	initFailed.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "prepare",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "checksum mismatch\nmore"}}}}
	tests := []struct {
		name string
		objs []client.Object
		want string
	}{
		{"no deployment", nil, "its Deployment default/hello does not exist"},
		{"image", []client.Object{deployment(1), pulling}, `pod hello-3: container hello: ImagePullBackOff: Back-off pulling image "nope"`},
		{"image not on the node, pull policy Never", []client.Object{deployment(1), neverPull},
			`pod hello-5: container hello: ErrImageNeverPull: Container image "kubeless/python:3.12" is not present with pull policy of Never`},
		{"init container", []client.Object{deployment(1), initFailed}, "pod hello-4: init container prepare failed (exit code 1): checksum mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, _, _ := newWaker(t, tt.objs...)
			// a reason Wake does not know makes it wait for pod changes:
			// the deadline turns that into a failure instead of a hang
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := k.Wake(ctx, hello)
			var se *StartError
			if !errors.As(err, &se) || se.Reason != tt.want {
				t.Errorf("Wake error = %v, want StartError %q", err, tt.want)
			}
		})
	}
}

func TestKubeWakerEndsWithItsContext(t *testing.T) {
	k, _, _ := newWaker(t, deployment(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.Wake(ctx, hello); !errors.Is(err, context.Canceled) {
		t.Errorf("Wake = %v, want context.Canceled", err)
	}
}
