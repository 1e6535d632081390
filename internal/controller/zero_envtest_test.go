package controller_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/controller"
	"github.com/kubeless/kubeless/internal/kubetest"
)

// podAddrs maps the pod addresses ("10.77.1.5:8080") that tests give
// their fake pods to the local servers that stand in for them.
var podAddrs sync.Map

// dialPod is the controller's dialer in these tests: a fake pod's address
// reaches its local server.
func dialPod(ctx context.Context, network, addr string) (net.Conn, error) {
	if local, ok := podAddrs.Load(addr); ok {
		addr = local.(string)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// fakeMetrics serves a function pod's /metrics with the counters it is
// given.
type fakeMetrics struct {
	mu          sync.Mutex
	calls, done int
}

func (f *fakeMetrics) set(calls, done int) {
	f.mu.Lock()
	f.calls, f.done = calls, done
	f.mu.Unlock()
}

func (f *fakeMetrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(w, "# TYPE function_calls_total counter\nfunction_calls_total{method=\"POST\"} %d\n", f.calls)
	fmt.Fprintf(w, "# TYPE function_duration_seconds histogram\n"+
		"function_duration_seconds_bucket{method=\"POST\",le=\"+Inf\"} %d\n"+
		"function_duration_seconds_sum{method=\"POST\"} 0.5\n"+
		"function_duration_seconds_count{method=\"POST\"} %d\n", f.done, f.done)
}

// readyPod creates a ready pod at ip with labels.
func readyPod(t *testing.T, c client.Client, ns, name, ip string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: new(bool),
			Containers: []corev1.Container{{Name: "c", Image: "localhost/none:1"}}},
	}
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Delete(context.Background(), p) })
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// slicePoints waits for the EndpointSlice of the Service key to name
// exactly addr on port.
func slicePoints(t *testing.T, c client.Client, key types.NamespacedName, addr string, port int32) {
	t.Helper()
	kubetest.Eventually(t, waitFor, func() error {
		var es discoveryv1.EndpointSlice
		if err := c.Get(context.Background(), key, &es); err != nil {
			return err
		}
		if es.Labels[discoveryv1.LabelServiceName] != key.Name || es.AddressType != discoveryv1.AddressTypeIPv4 {
			return fmt.Errorf("EndpointSlice labels %v, address type %s", es.Labels, es.AddressType)
		}
		if len(es.Ports) != 1 || ptr.Deref(es.Ports[0].Port, 0) != port || ptr.Deref(es.Ports[0].Name, "") != "http-function-port" {
			return fmt.Errorf("EndpointSlice ports %+v, want http-function-port %d", es.Ports, port)
		}
		if len(es.Endpoints) != 1 || len(es.Endpoints[0].Addresses) != 1 || es.Endpoints[0].Addresses[0] != addr {
			return fmt.Errorf("EndpointSlice endpoints %+v, want %s", es.Endpoints, addr)
		}
		// the API server's service proxy uses only endpoints that name
		// their pod, with that address
		ref := es.Endpoints[0].TargetRef
		if ref == nil || ref.Kind != "Pod" {
			return fmt.Errorf("EndpointSlice endpoint %s names no pod: %+v", addr, ref)
		}
		var p corev1.Pod
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, &p); err != nil {
			return fmt.Errorf("EndpointSlice endpoint %s names pod %s/%s: %w", addr, ref.Namespace, ref.Name, err)
		}
		if p.Status.PodIP != addr || p.UID != ref.UID {
			return fmt.Errorf("EndpointSlice endpoint %s names pod %s/%s with IP %s", addr, ref.Namespace, ref.Name, p.Status.PodIP)
		}
		return nil
	})
}

func TestScaleToZeroRoutesThroughTheActivator(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()

	metrics := &fakeMetrics{}
	pods := httptest.NewServer(metrics)
	defer pods.Close()
	_, portStr, _ := net.SplitHostPort(pods.Listener.Addr().String())
	podPort, _ := strconv.Atoi(portStr)
	podAddrs.Store(net.JoinHostPort("10.77.1.5", portStr), pods.Listener.Addr().String())

	readyPod(t, c, "kubeless", "kubeless-activator-test", "10.77.0.9",
		map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, "app": controller.ActivatorLabel})

	fn := newFunction(ns, "zero", "python3.11", "hello.foo", "def foo(e, c):\n    return 1\n", "")
	fn.Spec.ServiceSpec.Ports = []corev1.ServicePort{{Name: "http-function-port", Port: 8080, TargetPort: intstr.FromInt(podPort), Protocol: corev1.ProtocolTCP}}
	fn.Spec.HorizontalPodAutoscaler = rawExt([]byte(`{"metadata":{"name":"zero","annotations":{"kubeless.io/idle-window":"1s"}},` +
		`"spec":{"scaleTargetRef":{"name":"zero"},"minReplicas":0,"maxReplicas":3}}`))
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(fn)

	// The Service has no selector and an activator port; with no ready
	// pod, its EndpointSlice names the activator on that port.
	var svc corev1.Service
	var port int
	kubetest.Eventually(t, waitFor, func() error {
		if err := c.Get(ctx, key, &svc); err != nil {
			return err
		}
		var err error
		port, err = strconv.Atoi(svc.Annotations[v1beta1.AnnotationActivatorPort])
		if err != nil || len(svc.Spec.Selector) != 0 {
			return fmt.Errorf("service selector %v, annotations %v", svc.Spec.Selector, svc.Annotations)
		}
		return nil
	})
	if port < 20000 || port >= 30000 {
		t.Errorf("activator port %d, want one of 20000-29999", port)
	}
	slicePoints(t, c, key, "10.77.0.9", int32(port))

	// A call in flight keeps the pod: the counters differ.
	metrics.set(3, 2)
	readyPod(t, c, ns, "zero-abc12", "10.77.1.5", map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, v1beta1.LabelFunction: "zero"})
	slicePoints(t, c, key, "10.77.1.5", int32(podPort))
	var d appsv1.Deployment
	if err := c.Get(ctx, key, &d); err != nil {
		t.Fatal(err)
	}
	if ptr.Deref(d.Spec.Replicas, 1) != 1 {
		t.Fatalf("replicas %d while a call is in flight, want 1", *d.Spec.Replicas)
	}

	// Idle: after the window, the EndpointSlice names the activator again
	// and the Deployment is at zero.
	metrics.set(3, 3)
	kubetest.Eventually(t, waitFor, func() error {
		if err := c.Get(ctx, key, &d); err != nil {
			return err
		}
		if ptr.Deref(d.Spec.Replicas, 1) != 0 {
			return fmt.Errorf("replicas %d, want 0", ptr.Deref(d.Spec.Replicas, 1))
		}
		return nil
	})
	slicePoints(t, c, key, "10.77.0.9", int32(port))
	cond := readyCondition(t, c, key, hasReason(v1beta1.ReasonIdle))
	if cond.Status != metav1.ConditionTrue {
		t.Errorf("Ready %s at zero, want True", cond.Status)
	}
	waitEvent(t, c, ns, "zero", "ScaledToZero")
	kubetest.Eventually(t, waitFor, func() error {
		var got v1beta1.Function
		if err := c.Get(ctx, key, &got); err != nil {
			return err
		}
		if n := len(got.Status.ScaleEvents); n == 0 || got.Status.ScaleEvents[n-1].To != 0 || got.Status.ScaleEvents[n-1].Reason != "idle for 1s" {
			return fmt.Errorf("scale events %+v, want the last to 0, idle for 1s", got.Status.ScaleEvents)
		}
		return nil
	})

	// The activator scales it to one: the ready pod gets the calls again,
	// and the controller leaves the replicas to the activator.
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 1}}
	if err := c.SubResource("scale").Update(ctx, &d, client.WithSubResourceBody(scale), client.FieldOwner("kubeless-activator")); err != nil {
		t.Fatal(err)
	}
	metrics.set(4, 3)
	slicePoints(t, c, key, "10.77.1.5", int32(podPort))

	// Back to a function that keeps its pods: the Service selects them
	// and the EndpointSlice is gone.
	updateFunction(t, c, key, func(f *v1beta1.Function) { f.Spec.HorizontalPodAutoscaler = nil })
	kubetest.Eventually(t, waitFor, func() error {
		if err := c.Get(ctx, key, &svc); err != nil {
			return err
		}
		if svc.Spec.Selector[v1beta1.LabelFunction] != "zero" || svc.Annotations[v1beta1.AnnotationActivatorPort] != "" {
			return fmt.Errorf("service selector %v, annotations %v", svc.Spec.Selector, svc.Annotations)
		}
		err := c.Get(ctx, key, &discoveryv1.EndpointSlice{})
		if err == nil {
			return fmt.Errorf("EndpointSlice still there")
		}
		return client.IgnoreNotFound(err)
	})
}
