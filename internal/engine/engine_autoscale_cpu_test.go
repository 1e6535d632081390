package engine

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// An interpreted runtime does its work in child processes of the instance's
// process: a function whose worker child is busy must scale up on its CPU.
func TestCPUAutoscaleCountsWorkerChildren(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("busy", "busychild")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "busy", reasonReady)
	minR, target := int32(1), int32(2)
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		MinReplicas: &minR, MaxReplicas: 2,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name:   corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}},
	}}
	if _, err := e.SetAutoscaler(ctx, "default", "busy", h); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		fn, _ := e.Get(ctx, "default", "busy")
		if fn.Status.Ready == "2/2" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fn, _ := e.Get(ctx, "default", "busy")
	t.Fatalf("a function whose worker child spins, at a 2%% CPU target (the machine may be busy): ready %q, want 2/2", fn.Status.Ready)
}
