package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func TestScaleToZeroServiceAndEndpointSlice(t *testing.T) {
	fn := &v1beta1.Function{}
	fn.Namespace, fn.Name = "ns", "hello"
	fn.Spec.HorizontalPodAutoscaler = &runtime.RawExtension{Raw: []byte(
		`{"metadata":{"name":"hello"},"spec":{"scaleTargetRef":{"name":"hello"},"minReplicas":0,"maxReplicas":3}}`)}
	if !ScalesToZero(fn) {
		t.Fatal("ScalesToZero = false for minReplicas 0")
	}
	svc, err := Service(fn)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Selector != nil {
		t.Errorf("selector %v, want none: the controller writes the EndpointSlice", svc.Spec.Selector)
	}
	h, err := HPA(fn)
	if err != nil || *h.Spec.MinReplicas != 1 {
		t.Errorf("HPA min %v, %v; want 1 (an autoscaler cannot go to zero)", h.Spec.MinReplicas, err)
	}

	pod := func(ns, name, ip string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
			Status: corev1.PodStatus{PodIP: ip}}
	}
	es := EndpointSlice(fn, svc, []corev1.Pod{pod("kubeless", "act-1", "10.0.0.1"), pod("kubeless", "act-2", "10.0.0.2")}, 20001)
	// each endpoint names its pod: the API server's service proxy uses only those
	want := []discoveryv1.Endpoint{
		{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "kubeless", Name: "act-1", UID: "uid-act-1"}},
		{Addresses: []string{"10.0.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "kubeless", Name: "act-2", UID: "uid-act-2"}},
	}
	if diff := cmp.Diff(want, es.Endpoints); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	wantPorts := []discoveryv1.EndpointPort{{Name: ptr.To(PortName), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(int32(20001))}}
	if diff := cmp.Diff(wantPorts, es.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if es.Labels[discoveryv1.LabelServiceName] != "hello" || es.Labels[discoveryv1.LabelManagedBy] != EndpointSliceManager ||
		es.Labels[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless || es.Name != "hello" {
		t.Errorf("EndpointSlice %s labels %v", es.Name, es.Labels)
	}

	fn.Spec.HorizontalPodAutoscaler = nil
	if ScalesToZero(fn) {
		t.Error("ScalesToZero = true without an autoscaler")
	}
	if svc, _ := Service(fn); svc.Spec.Selector[v1beta1.LabelFunction] != "hello" {
		t.Errorf("selector %v, want function=hello", svc.Spec.Selector)
	}
}
