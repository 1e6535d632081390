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
// that ScalesToZero, so without a selector): addrs (IPv4) on port, under
// the name of svc's first port, so that cluster DNS and the API server's
// service proxy reach them. addrs are the ready pods' with their target
// port, or the activator's with the function's activator port.
func EndpointSlice(fn *v1beta1.Function, svc *corev1.Service, addrs []string, port int32) *discoveryv1.EndpointSlice {
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
	for _, a := range addrs {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{a},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		})
	}
	return es
}
