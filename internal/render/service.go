package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// Service returns the Service <name> in front of fn's pods
// (docs/compatibility.md §3.2): spec.service when it has ports, otherwise
// port 8080 named http-function-port. The selector is
// created-by=kubeless,function=<name> unless spec.service has one, and the
// type ClusterIP unless spec.service says otherwise.
//
// A function that scales to zero (ScalesToZero) gets a Service without a
// selector: the controller writes its EndpointSlice, which names the ready
// pods, or the activator while there are none.
func Service(fn *v1beta1.Function) (*corev1.Service, error) {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(fn, fn.Name),
	}
	spec := fn.Spec.ServiceSpec.DeepCopy()
	if len(spec.Ports) == 0 {
		spec.Ports = []corev1.ServicePort{{
			Name: PortName, Protocol: corev1.ProtocolTCP,
			Port: DefaultPort, TargetPort: intstr.FromInt32(DefaultPort),
		}}
	}
	switch {
	case ScalesToZero(fn):
		spec.Selector = nil
	case len(spec.Selector) == 0:
		spec.Selector = SelectorLabels(fn)
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	svc.Spec = *spec
	return svc, nil
}

// ScalesToZero reports whether fn's autoscaler lets it run no pod when idle
// (minReplicas 0).
func ScalesToZero(fn *v1beta1.Function) bool {
	a, err := fn.Spec.Autoscaler()
	return err == nil && a != nil && a.Spec.MinReplicas != nil && *a.Spec.MinReplicas == 0
}
