package backend

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func TestNormalizeAutoscalerScaleToZero(t *testing.T) {
	h := func(minR, maxR int32, window string) *autoscalingv2.HorizontalPodAutoscaler {
		a := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: maxR}}
		if window != "" {
			a.Annotations = map[string]string{v1beta1.AnnotationIdleWindow: window}
		}
		return a
	}
	for _, tt := range []struct {
		name string
		in   *autoscalingv2.HorizontalPodAutoscaler
		want string // error; "" for none
	}{
		{"min 0", h(0, 3, ""), ""},
		{"min 0 with a window", h(0, 3, "90s"), ""},
		{"negative min", h(-1, 3, ""), "invalid --min -1: use 0 (scale to zero when idle) or more"},
		{"max 0", h(0, 0, ""), "invalid --max 0: use 1 or more"},
		{"bad window", h(0, 3, "soon"), `invalid idle window "soon" (annotation kubeless.io/idle-window): use a positive duration such as 90s or 5m`},
		{"zero window", h(0, 3, "0s"), `invalid idle window "0s" (annotation kubeless.io/idle-window): use a positive duration such as 90s or 5m`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NormalizeAutoscaler(tt.in, "default", "hello", 64, "local")
			got := ""
			if err != nil {
				got = err.Error()
				if !IsInvalid(err) {
					t.Errorf("code %q", CodeOf(err))
				}
			}
			if got != tt.want {
				t.Errorf("err = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScaleToZeroAutoscaler(t *testing.T) {
	h := ScaleToZeroAutoscaler("team", "hello", nil, 0, true, 2*time.Minute)
	if *h.Spec.MinReplicas != 0 || h.Spec.MaxReplicas != 1 || h.Name != "hello" || h.Spec.ScaleTargetRef.Name != "hello" ||
		h.Spec.Metrics[0].Pods.Metric.Name != v1beta1.MetricConcurrency || h.Spec.Metrics[0].Pods.Target.AverageValue.Value() != DefaultConcurrencyTarget {
		t.Errorf("new autoscaler = %+v", h)
	}
	if w, err := IdleWindow(h); err != nil || w != 2*time.Minute {
		t.Errorf("window = %v, %v", w, err)
	}
	// An existing autoscaler keeps its bounds and metric; off sets min 1.
	cur := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "hello"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5}}
	on := ScaleToZeroAutoscaler("team", "hello", cur, 1, true, 0)
	if *on.Spec.MinReplicas != 0 || on.Spec.MaxReplicas != 5 || len(on.Spec.Metrics) != 0 || cur.Spec.MinReplicas != nil {
		t.Errorf("on = %+v (cur %+v)", on.Spec, cur.Spec)
	}
	if off := ScaleToZeroAutoscaler("team", "hello", on, 1, false, 0); *off.Spec.MinReplicas != 1 || ScalesToZero(off) {
		t.Errorf("off = %+v", off.Spec)
	}
}

func TestKeepIdleWindow(t *testing.T) {
	withWindow := func(w string) *autoscalingv2.HorizontalPodAutoscaler {
		h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 2}}
		if w != "" {
			h.Annotations = map[string]string{v1beta1.AnnotationIdleWindow: w}
		}
		return h
	}
	for _, tt := range []struct {
		name     string
		cur, set *autoscalingv2.HorizontalPodAutoscaler
		want     string
	}{
		{"kept", withWindow("7m"), withWindow(""), "7m"},
		{"given replaces", withWindow("7m"), withWindow("2m"), "2m"},
		{"none before", withWindow(""), withWindow(""), ""},
		{"no autoscaler before", nil, withWindow(""), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.set.DeepCopy()
			got := KeepIdleWindow(tt.cur, tt.set)
			if w := got.Annotations[v1beta1.AnnotationIdleWindow]; w != tt.want {
				t.Errorf("idle window = %q, want %q", w, tt.want)
			}
			if diff := cmp.Diff(before, tt.set); diff != "" {
				t.Errorf("the new autoscaler was modified (-before +after):\n%s", diff)
			}
		})
	}
	if KeepIdleWindow(withWindow("7m"), nil) != nil {
		t.Error("a removed autoscaler came back")
	}
}
