package render

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// HPA returns the autoscaling/v2 HorizontalPodAutoscaler of fn, or nil when
// spec.horizontalPodAutoscaler asks for none (see FunctionSpec.Autoscaler).
// Whatever the template says, it is named like the function, in its
// namespace, and scales the function's apps/v1 Deployment (so the
// controller can find and delete it by name); labels are the template's ∪
// fn's; minReplicas, maxReplicas, metrics and behavior are the template's.
func HPA(fn *v1beta1.Function) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	a, err := fn.Spec.Autoscaler()
	if err != nil {
		return nil, newError(v1beta1.ReasonInvalidAutoscaler, err)
	}
	if a == nil {
		return nil, nil
	}
	if a.Spec.MaxReplicas < 1 {
		return nil, errorf(v1beta1.ReasonInvalidAutoscaler,
			"spec.horizontalPodAutoscaler.spec.maxReplicas is %d, want at least 1", a.Spec.MaxReplicas)
	}
	if m := a.Spec.MinReplicas; m != nil && *m > a.Spec.MaxReplicas {
		return nil, errorf(v1beta1.ReasonInvalidAutoscaler,
			"spec.horizontalPodAutoscaler.spec.minReplicas (%d) is greater than maxReplicas (%d)", *m, a.Spec.MaxReplicas)
	}
	minR := a.Spec.MinReplicas
	if minR != nil && *minR == 0 {
		// A HorizontalPodAutoscaler cannot scale to zero (minReplicas 0
		// needs the HPAScaleToZero feature gate). It leaves a Deployment
		// at zero replicas alone, though: the controller scales it to
		// zero after its idle window, the activator back to one on a
		// call, and from one the autoscaler scales as usual.
		one := int32(1)
		minR = &one
	}
	meta := objectMeta(fn, fn.Name)
	meta.Labels = union(a.Labels, meta.Labels)
	meta.Annotations = a.Annotations
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: fn.Name},
			MinReplicas:    minR,
			MaxReplicas:    a.Spec.MaxReplicas,
			Metrics:        a.Spec.Metrics,
			Behavior:       a.Spec.Behavior,
		},
	}, nil
}
