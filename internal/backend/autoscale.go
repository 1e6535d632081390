package backend

import (
	"fmt"
	"strconv"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// DefaultIdleWindow is how long a function whose autoscaler allows zero
// instances may go without a call before its last instance stops, when
// neither the function (v1beta1.AnnotationIdleWindow) nor the engine says
// otherwise. It is Knative's 60s stable window: long enough that a
// function called every few seconds or in bursts keeps its instance, short
// enough that an idle one frees its memory within a minute; since an
// instance starts in about 50-120 ms, waking one that went idle too soon is
// cheap.
const DefaultIdleWindow = 60 * time.Second

// NormalizeAutoscaler checks what `kubeless autoscale create` sends for the
// function name in namespace and returns a copy named like the function
// and scaling its apps/v1 Deployment, unless it says otherwise. maxLimit,
// when > 0, is the largest --max the engine accepts. Both engines use it,
// and both run a function at zero instances (minReplicas 0).
func NormalizeAutoscaler(h *autoscalingv2.HorizontalPodAutoscaler, namespace, name string, maxLimit int32, engine string) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas < 0 {
		return nil, Errorf(CodeInvalid, "invalid --min %d: use 0 (scale to zero when idle) or more", *h.Spec.MinReplicas)
	}
	if maxLimit > 0 && h.Spec.MaxReplicas > maxLimit {
		return nil, Errorf(CodeInvalid, "invalid --max %d: use at most %d on the %s engine", h.Spec.MaxReplicas, maxLimit, engine)
	}
	if h.Spec.MinReplicas != nil && h.Spec.MaxReplicas < *h.Spec.MinReplicas {
		return nil, Errorf(CodeInvalid, "invalid --max %d: it must be at least --min %d", h.Spec.MaxReplicas, *h.Spec.MinReplicas)
	}
	if h.Spec.MaxReplicas < 1 {
		return nil, Errorf(CodeInvalid, "invalid --max %d: use 1 or more", h.Spec.MaxReplicas)
	}
	if _, err := IdleWindow(h); err != nil {
		return nil, err
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

// ScalesToZero reports whether h lets the function run no instance when
// idle (minReplicas 0).
func ScalesToZero(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	return h != nil && h.Spec.MinReplicas != nil && *h.Spec.MinReplicas == 0
}

// IdleWindow returns the idle window that h's v1beta1.AnnotationIdleWindow
// sets, or 0 when it sets none; a value that is not a positive Go duration
// is an Invalid *Error.
func IdleWindow(h *autoscalingv2.HorizontalPodAutoscaler) (time.Duration, error) {
	if h == nil {
		return 0, nil
	}
	s, ok := h.Annotations[v1beta1.AnnotationIdleWindow]
	if !ok {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, Errorf(CodeInvalid, "invalid idle window %q (annotation %s): use a positive duration such as 90s or 5m", s, v1beta1.AnnotationIdleWindow)
	}
	return d, nil
}

// KeepIdleWindow returns h, the autoscaler that replaces cur, with cur's
// idle window when h sets none: `kubeless autoscale create` without
// --idle-window keeps the window that `function deploy --idle-window` (or an
// earlier autoscaler) gave the function, rather than falling back to the
// engine's. h is not modified; nil h or cur give h.
func KeepIdleWindow(cur, h *autoscalingv2.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	if h == nil || cur == nil {
		return h
	}
	if _, ok := h.Annotations[v1beta1.AnnotationIdleWindow]; ok {
		return h
	}
	w, ok := cur.Annotations[v1beta1.AnnotationIdleWindow]
	if !ok {
		return h
	}
	h = h.DeepCopy()
	if h.Annotations == nil {
		h.Annotations = map[string]string{}
	}
	h.Annotations[v1beta1.AnnotationIdleWindow] = w
	return h
}

// ParseIdleWindow checks an idle window given by a user or an engine's
// setting (what, for example "--idle-window" or "KUBELESS_IDLE_WINDOW").
func ParseIdleWindow(what, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid %s %q: use a positive duration such as 90s or 5m", what, s)
	}
	return d, nil
}

// DefaultConcurrencyTarget is the calls in flight per instance of the
// autoscaler that `function deploy --scale-to-zero` makes.
const DefaultConcurrencyTarget = 10

// ScaleToZeroAutoscaler returns the autoscaler of a function that scales
// to zero, what `function deploy|update --scale-to-zero` sets: cur (the
// function's autoscaler, nil for none) with minReplicas 0 (or 1 when off),
// or else one from 0 to maxR instances on calls in flight
// (DefaultConcurrencyTarget per instance). A window > 0 sets the idle
// window.
func ScaleToZeroAutoscaler(namespace, name string, cur *autoscalingv2.HorizontalPodAutoscaler, maxR int32, on bool, window time.Duration) *autoscalingv2.HorizontalPodAutoscaler {
	h := cur.DeepCopy()
	if h == nil {
		target := resource.MustParse(strconv.Itoa(DefaultConcurrencyTarget))
		h = &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{
				v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, v1beta1.LabelFunction: name}},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
				MaxReplicas:    max(maxR, 1),
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: v1beta1.MetricConcurrency},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &target}}}},
			},
		}
	}
	minR := int32(0)
	if !on {
		minR = 1
	}
	h.Spec.MinReplicas = &minR
	if window > 0 {
		if h.Annotations == nil {
			h.Annotations = map[string]string{}
		}
		h.Annotations[v1beta1.AnnotationIdleWindow] = window.String()
	}
	return h
}
