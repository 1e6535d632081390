package v1beta1

import (
	"bytes"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// Why spec.deployment and spec.horizontalPodAutoscaler are raw JSON:
//
// The original stored them as typed Go values behind a CRD without a schema,
// so whatever a user wrote was accepted, and the original CLI always wrote
// them, empty-shaped (a Deployment without selector, a container named "",
// an HPA with maxReplicas 0). A schema precise enough to make every stored
// value decode (the whole apps/v1 Deployment, minus its required fields) is
// hundreds of kilobytes, too big for `kubectl apply`. A typed field behind a
// lax schema is worse: one Function with, say, an env value written as a
// number would fail to decode in every client's cache and stall the controller
// for all Functions. So the API server keeps these two fields as any JSON
// object, and the controller decodes them here, one Function at a time,
// reporting a template that does not decode as a condition of that Function.

// DeploymentTemplate decodes spec.deployment into an apps/v1 Deployment. An
// absent field gives an empty Deployment, never nil. Fields that apps/v1
// does not know are ignored, as the original did; a value of the wrong type is
// an error that names spec.deployment.
func (in *FunctionSpec) DeploymentTemplate() (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{}
	raw, err := rawJSON(in.Deployment)
	if err != nil {
		return nil, fmt.Errorf("spec.deployment: %w", err)
	}
	if raw == nil {
		return d, nil
	}
	if err := utiljson.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("spec.deployment is not a valid apps/v1 Deployment: %w", err)
	}
	return d, nil
}

// SetDeploymentTemplate stores d as spec.deployment; nil removes the field.
// Its apiVersion and kind are dropped, as the original never wrote them.
func (in *FunctionSpec) SetDeploymentTemplate(d *appsv1.Deployment) error {
	if d == nil {
		in.Deployment = nil
		return nil
	}
	c := d.DeepCopy()
	c.TypeMeta = metav1.TypeMeta{}
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode spec.deployment: %w", err)
	}
	in.Deployment = &runtime.RawExtension{Raw: raw}
	return nil
}

// Autoscaler decodes spec.horizontalPodAutoscaler into an autoscaling/v2
// HorizontalPodAutoscaler. It returns nil, nil when no autoscaling is asked
// for: when the field is absent, or, as in the original, when metadata.name or
// spec.scaleTargetRef.name is empty (which is the case of the empty-shaped
// object the original CLI always wrote).
//
// Both shapes of metrics are read: autoscaling/v2beta1, which the original
// CLI wrote (resource.targetAverageUtilization, object.metricName and
// targetValue ...), and autoscaling/v2 (a target {type, ...} and a metric
// {name, selector}). A scaleTargetRef naming a Deployment in a retired API
// group version (apps/v1beta1, apps/v1beta2, extensions/v1beta1) is turned
// into apps/v1. The status is ignored.
func (in *FunctionSpec) Autoscaler() (*autoscalingv2.HorizontalPodAutoscaler, error) {
	raw, err := rawJSON(in.HorizontalPodAutoscaler)
	if err != nil {
		return nil, fmt.Errorf("spec.horizontalPodAutoscaler: %w", err)
	}
	if raw == nil {
		return nil, nil
	}
	var a anyAutoscaler
	if err := utiljson.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("spec.horizontalPodAutoscaler is not a valid HorizontalPodAutoscaler: %w", err)
	}
	if a.Metadata.Name == "" || a.Spec.ScaleTargetRef.Name == "" {
		return nil, nil
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: a.Metadata,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: a.Spec.ScaleTargetRef,
			MinReplicas:    a.Spec.MinReplicas,
			MaxReplicas:    a.Spec.MaxReplicas,
			Behavior:       a.Spec.Behavior,
		},
	}
	ref := &h.Spec.ScaleTargetRef
	if ref.Kind == "Deployment" {
		switch ref.APIVersion {
		case "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1":
			ref.APIVersion = appsv1.SchemeGroupVersion.String()
		}
	}
	for i, m := range a.Spec.Metrics {
		ms, err := m.toV2()
		if err != nil {
			return nil, fmt.Errorf("spec.horizontalPodAutoscaler.spec.metrics[%d]: %w", i, err)
		}
		h.Spec.Metrics = append(h.Spec.Metrics, ms)
	}
	return h, nil
}

// SetAutoscaler stores h, in the autoscaling/v2 shape, as
// spec.horizontalPodAutoscaler; nil removes the field. Only its metadata and
// spec are kept.
func (in *FunctionSpec) SetAutoscaler(h *autoscalingv2.HorizontalPodAutoscaler) error {
	if h == nil {
		in.HorizontalPodAutoscaler = nil
		return nil
	}
	raw, err := json.Marshal(struct {
		Metadata metav1.ObjectMeta                         `json:"metadata"`
		Spec     autoscalingv2.HorizontalPodAutoscalerSpec `json:"spec"`
	}{h.ObjectMeta, h.Spec})
	if err != nil {
		return fmt.Errorf("encode spec.horizontalPodAutoscaler: %w", err)
	}
	in.HorizontalPodAutoscaler = &runtime.RawExtension{Raw: raw}
	return nil
}

// SetReplicas records the Deployment's desired and ready pod counts, with
// ready as "<ready>/<desired>".
func (in *FunctionStatus) SetReplicas(desired, ready int32) {
	in.Replicas = desired
	in.ReadyReplicas = ready
	in.Ready = fmt.Sprintf("%d/%d", ready, desired)
}

// rawJSON returns the JSON of r, or nil when r holds nothing (absent or null).
func rawJSON(r *runtime.RawExtension) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	if r.Raw == nil && r.Object == nil {
		return nil, nil
	}
	raw, err := r.MarshalJSON() // transcodes CBOR or encodes Object when needed
	if err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	return raw, nil
}

// anyAutoscaler is a HorizontalPodAutoscaler in either the autoscaling/v2beta1
// or the autoscaling/v2 shape; the two differ only in their metrics.
//
// +kubebuilder:object:generate=false
type anyAutoscaler struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     anyAutoscalerSpec `json:"spec"`
}

// +kubebuilder:object:generate=false
type anyAutoscalerSpec struct {
	ScaleTargetRef autoscalingv2.CrossVersionObjectReference      `json:"scaleTargetRef"`
	MinReplicas    *int32                                         `json:"minReplicas,omitempty"`
	MaxReplicas    int32                                          `json:"maxReplicas"`
	Metrics        []anyMetric                                    `json:"metrics,omitempty"`
	Behavior       *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// anyMetric is one metric in either shape. Each source struct carries the
// fields of both: the autoscaling/v2 ones (Metric, Target) and the v2beta1
// ones (MetricName, TargetAverageValue ...).
//
// +kubebuilder:object:generate=false
type anyMetric struct {
	Type              autoscalingv2.MetricSourceType `json:"type"`
	Resource          *anyResourceSource             `json:"resource,omitempty"`
	ContainerResource *anyResourceSource             `json:"containerResource,omitempty"`
	Object            *anyObjectSource               `json:"object,omitempty"`
	Pods              *anyPodsSource                 `json:"pods,omitempty"`
	External          *anyExternalSource             `json:"external,omitempty"`
}

// +kubebuilder:object:generate=false
type anyResourceSource struct {
	Name      corev1.ResourceName `json:"name"`
	Container string              `json:"container,omitempty"`
	// autoscaling/v2
	Target *autoscalingv2.MetricTarget `json:"target,omitempty"`
	// autoscaling/v2beta1
	TargetAverageUtilization *int32             `json:"targetAverageUtilization,omitempty"`
	TargetAverageValue       *resource.Quantity `json:"targetAverageValue,omitempty"`
}

// +kubebuilder:object:generate=false
type anyObjectSource struct {
	// autoscaling/v2
	DescribedObject *autoscalingv2.CrossVersionObjectReference `json:"describedObject,omitempty"`
	Metric          *autoscalingv2.MetricIdentifier            `json:"metric,omitempty"`
	// Target is a MetricTarget in autoscaling/v2 but the described object
	// (a CrossVersionObjectReference) in v2beta1.
	Target json.RawMessage `json:"target,omitempty"`
	// autoscaling/v2beta1
	MetricName   string                `json:"metricName,omitempty"`
	TargetValue  *resource.Quantity    `json:"targetValue,omitempty"`
	Selector     *metav1.LabelSelector `json:"selector,omitempty"`
	AverageValue *resource.Quantity    `json:"averageValue,omitempty"`
}

// +kubebuilder:object:generate=false
type anyPodsSource struct {
	// autoscaling/v2
	Metric *autoscalingv2.MetricIdentifier `json:"metric,omitempty"`
	Target *autoscalingv2.MetricTarget     `json:"target,omitempty"`
	// autoscaling/v2beta1
	MetricName         string                `json:"metricName,omitempty"`
	TargetAverageValue *resource.Quantity    `json:"targetAverageValue,omitempty"`
	Selector           *metav1.LabelSelector `json:"selector,omitempty"`
}

// +kubebuilder:object:generate=false
type anyExternalSource struct {
	// autoscaling/v2
	Metric *autoscalingv2.MetricIdentifier `json:"metric,omitempty"`
	Target *autoscalingv2.MetricTarget     `json:"target,omitempty"`
	// autoscaling/v2beta1
	MetricName         string                `json:"metricName,omitempty"`
	MetricSelector     *metav1.LabelSelector `json:"metricSelector,omitempty"`
	TargetValue        *resource.Quantity    `json:"targetValue,omitempty"`
	TargetAverageValue *resource.Quantity    `json:"targetAverageValue,omitempty"`
}

func (m anyMetric) toV2() (autoscalingv2.MetricSpec, error) {
	out := autoscalingv2.MetricSpec{Type: m.Type}
	var err error
	switch m.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if m.Resource == nil {
			return out, fmt.Errorf("type %s needs a %q field", m.Type, "resource")
		}
		var t autoscalingv2.MetricTarget
		if t, err = m.Resource.target(); err == nil {
			out.Resource = &autoscalingv2.ResourceMetricSource{Name: m.Resource.Name, Target: t}
		}
	case autoscalingv2.ContainerResourceMetricSourceType:
		if m.ContainerResource == nil {
			return out, fmt.Errorf("type %s needs a %q field", m.Type, "containerResource")
		}
		var t autoscalingv2.MetricTarget
		if t, err = m.ContainerResource.target(); err == nil {
			out.ContainerResource = &autoscalingv2.ContainerResourceMetricSource{
				Name: m.ContainerResource.Name, Container: m.ContainerResource.Container, Target: t,
			}
		}
	case autoscalingv2.ObjectMetricSourceType:
		if m.Object == nil {
			return out, fmt.Errorf("type %s needs an %q field", m.Type, "object")
		}
		out.Object, err = m.Object.toV2()
	case autoscalingv2.PodsMetricSourceType:
		if m.Pods == nil {
			return out, fmt.Errorf("type %s needs a %q field", m.Type, "pods")
		}
		out.Pods, err = m.Pods.toV2()
	case autoscalingv2.ExternalMetricSourceType:
		if m.External == nil {
			return out, fmt.Errorf("type %s needs an %q field", m.Type, "external")
		}
		out.External, err = m.External.toV2()
	default:
		return out, fmt.Errorf("unknown metric type %q (known: Resource, ContainerResource, Object, Pods, External)", m.Type)
	}
	return out, err
}

func (s *anyResourceSource) target() (autoscalingv2.MetricTarget, error) {
	switch {
	case s.Target != nil:
		return *s.Target, nil
	case s.TargetAverageUtilization != nil:
		return autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: s.TargetAverageUtilization}, nil
	case s.TargetAverageValue != nil:
		return autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: s.TargetAverageValue}, nil
	}
	return autoscalingv2.MetricTarget{}, fmt.Errorf("resource %q has no target (target, or targetAverageUtilization or targetAverageValue)", s.Name)
}

func (s *anyObjectSource) toV2() (*autoscalingv2.ObjectMetricSource, error) {
	if s.Metric != nil || s.DescribedObject != nil {
		out := &autoscalingv2.ObjectMetricSource{}
		if s.DescribedObject != nil {
			out.DescribedObject = *s.DescribedObject
		}
		if s.Metric != nil {
			out.Metric = *s.Metric
		}
		if len(s.Target) == 0 {
			return nil, fmt.Errorf("object metric %q has no target", out.Metric.Name)
		}
		if err := utiljson.Unmarshal(s.Target, &out.Target); err != nil {
			return nil, fmt.Errorf("object.target: %w", err)
		}
		return out, nil
	}
	// autoscaling/v2beta1: target is the described object.
	out := &autoscalingv2.ObjectMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
	}
	if len(s.Target) > 0 {
		if err := utiljson.Unmarshal(s.Target, &out.DescribedObject); err != nil {
			return nil, fmt.Errorf("object.target: %w", err)
		}
	}
	switch {
	case s.AverageValue != nil:
		out.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: s.AverageValue}
	case s.TargetValue != nil:
		out.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: s.TargetValue}
	default:
		return nil, fmt.Errorf("object metric %q has no target (target, or targetValue or averageValue)", s.MetricName)
	}
	return out, nil
}

func (s *anyPodsSource) toV2() (*autoscalingv2.PodsMetricSource, error) {
	out := &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
	}
	if s.Metric != nil {
		out.Metric = *s.Metric
	}
	switch {
	case s.Target != nil:
		out.Target = *s.Target
	case s.TargetAverageValue != nil:
		out.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: s.TargetAverageValue}
	default:
		return nil, fmt.Errorf("pods metric %q has no target (target, or targetAverageValue)", out.Metric.Name)
	}
	return out, nil
}

func (s *anyExternalSource) toV2() (*autoscalingv2.ExternalMetricSource, error) {
	out := &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.MetricSelector},
	}
	if s.Metric != nil {
		out.Metric = *s.Metric
	}
	switch {
	case s.Target != nil:
		out.Target = *s.Target
	case s.TargetValue != nil:
		out.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: s.TargetValue}
	case s.TargetAverageValue != nil:
		out.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: s.TargetAverageValue}
	default:
		return nil, fmt.Errorf("external metric %q has no target (target, or targetValue or targetAverageValue)", out.Metric.Name)
	}
	return out, nil
}
