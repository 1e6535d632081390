package render

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// EndpointSliceManager is the endpointslice.kubernetes.io/managed-by value
// of the EndpointSlices the controller writes for functions that scale to
// zero.
const EndpointSliceManager = "kubeless-controller"

// EndpointSlice returns the EndpointSlice of svc, the Service of fn (one
// that ScalesToZero, so without a selector): the IPv4 addresses of pods on
// port, under the name of svc's first port, so that cluster DNS reaches
// them. pods are the function's ready pods with their target port, or the
// activator's with the function's activator port. Each endpoint names its
// pod (targetRef): the API server's service proxy sends a call only to an
// endpoint that names a pod of the Service's namespace with that address,
// so it reaches the function's pods, never the activator (another
// namespace); `kubeless function call` then goes through the activator pod
// the slice names (its pods proxy).
func EndpointSlice(fn *v1beta1.Function, svc *corev1.Service, pods []corev1.Pod, port int32) *discoveryv1.EndpointSlice {
	meta := objectMeta(fn, fn.Name)
	meta.Labels = union(meta.Labels, map[string]string{
		discoveryv1.LabelServiceName: svc.Name,
		discoveryv1.LabelManagedBy:   EndpointSliceManager,
	})
	es := &discoveryv1.EndpointSlice{
		TypeMeta:    metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta:  meta,
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{},
	}
	if len(svc.Spec.Ports) > 0 {
		p := svc.Spec.Ports[0]
		name, proto := p.Name, p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		es.Ports = []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}}
	}
	ready := true
	for i := range pods {
		p := &pods[i]
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{p.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		})
	}
	return es
}
