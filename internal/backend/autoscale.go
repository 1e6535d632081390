package backend

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// NormalizeAutoscaler checks what `kubeless autoscale create` sends for the
// function name in namespace and returns a copy named like the function
// and scaling its apps/v1 Deployment, unless it says otherwise. maxLimit,
// when > 0, is the largest --max the engine accepts. Both engines use it.
func NormalizeAutoscaler(h *autoscalingv2.HorizontalPodAutoscaler, namespace, name string, maxLimit int32, engine string) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas < 1 {
		return nil, Errorf(CodeInvalid, "invalid --min %d: use 1 or more", *h.Spec.MinReplicas)
	}
	if maxLimit > 0 && h.Spec.MaxReplicas > maxLimit {
		return nil, Errorf(CodeInvalid, "invalid --max %d: use at most %d on the %s engine", h.Spec.MaxReplicas, maxLimit, engine)
	}
	if h.Spec.MinReplicas != nil && h.Spec.MaxReplicas < *h.Spec.MinReplicas {
		return nil, Errorf(CodeInvalid, "invalid --max %d: it must be at least --min %d", h.Spec.MaxReplicas, *h.Spec.MinReplicas)
	}
	h = h.DeepCopy()
	if h.Name == "" {
		h.Name = name
	}
	h.Namespace = namespace
	if h.Spec.ScaleTargetRef.Name == "" {
		h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name}
	}
	return h, nil
}
