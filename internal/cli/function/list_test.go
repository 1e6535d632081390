package function

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// TestStatusColumn covers the STATUS column of ls and describe: a refused
// update shows even while the previous pods are ready, but only when the
// Ready condition is of the Function's current generation.
func TestStatusColumn(t *testing.T) {
	fn := func(gen int64, ready, replicas int32, cond *metav1.Condition) *v1beta1.Function {
		f := &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "hello", Generation: gen}}
		f.Status.SetReplicas(replicas, ready)
		if cond != nil {
			cond.Type = v1beta1.ConditionReady
			f.Status.Conditions = []metav1.Condition{*cond}
		}
		return f
	}
	cond := func(st metav1.ConditionStatus, reason, msg string, gen int64) *metav1.Condition {
		return &metav1.Condition{Status: st, Reason: reason, Message: msg, ObservedGeneration: gen}
	}
	for _, tt := range []struct {
		name string
		fn   *v1beta1.Function
		want string
	}{
		{"ready", fn(2, 1, 1, cond(metav1.ConditionTrue, v1beta1.ReasonReady, "", 2)), "1/1 READY"},
		{"no condition", fn(2, 1, 1, nil), "1/1 READY"},
		{"refused update", fn(3, 1, 1, cond(metav1.ConditionFalse, v1beta1.ReasonInvalidDeployment, "spec.deployment: bad", 3)),
			"1/1 READY (update refused: spec.deployment: bad)"},
		{"refused update: unknown runtime", fn(3, 2, 2, cond(metav1.ConditionFalse, v1beta1.ReasonUnknownRuntime, "Invalid runtime: python9", 3)),
			"2/2 READY (update refused: Invalid runtime: python9)"},
		{"refused update: conflict without message", fn(3, 1, 1, cond(metav1.ConditionFalse, v1beta1.ReasonConflict, "", 3)),
			"1/1 READY (update refused: Conflict)"},
		{"refused update: template refused", fn(3, 1, 1, cond(metav1.ConditionFalse, v1beta1.ReasonTemplateRefused, "spec.deployment asks for hostPID", 3)),
			"1/1 READY (update refused: spec.deployment asks for hostPID)"},
		{"condition of an older generation", fn(4, 1, 1, cond(metav1.ConditionFalse, v1beta1.ReasonInvalidHandler, "Invalid handler", 3)), "1/1 READY"},
		{"condition without generation", fn(4, 1, 1, cond(metav1.ConditionFalse, v1beta1.ReasonInvalidHandler, "Invalid handler", 0)), "1/1 READY"},
		{"not bad input", fn(2, 1, 2, cond(metav1.ConditionFalse, v1beta1.ReasonCrashLoop, "exit 1", 2)), "1/2 READY"},
		{"not ready, bad input", fn(2, 0, 0, cond(metav1.ConditionFalse, v1beta1.ReasonInvalidHandler, "Invalid handler", 2)), "0/0 NOT READY: Invalid handler"},
		{"not ready, crash loop", fn(2, 0, 1, cond(metav1.ConditionFalse, v1beta1.ReasonCrashLoop, "exit 1", 2)), "0/1 NOT READY"},
		{"idle at zero", fn(2, 0, 0, cond(metav1.ConditionTrue, v1beta1.ReasonIdle, "no instance runs: the next call starts one", 2)), "0/0 IDLE"},
		{"start from zero failed", toZero(t, fn(2, 0, 1, cond(metav1.ConditionFalse, v1beta1.ReasonInstanceFailed, "starting an instance for a call failed: the instance exited with status 1\nmore", 2))),
			"0/1 NOT READY: starting an instance for a call failed: the instance exited with status 1"},
		{"old runtime name", substituted(fn(2, 1, 1, cond(metav1.ConditionTrue, v1beta1.ReasonReady, "", 2))),
			"1/1 READY (python3.7 runs on python3.9)"},
		{"old runtime name, not ready", substituted(fn(2, 0, 1, cond(metav1.ConditionFalse, v1beta1.ReasonInvalidHandler, "Invalid handler", 2))),
			"0/1 NOT READY (python3.7 runs on python3.9): Invalid handler"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := status(tt.fn); got != tt.want {
				t.Errorf("status = %q, want %q", got, tt.want)
			}
		})
	}
}

func substituted(f *v1beta1.Function) *v1beta1.Function {
	f.Status.SetRuntimeSubstitution("python3.7 runs on python3.9", f.Generation)
	return f
}

// toZero gives f an autoscaler from 0 instances, idle after 2m.
func toZero(t *testing.T, f *v1beta1.Function) *v1beta1.Function {
	t.Helper()
	if err := f.Spec.SetAutoscaler(backend.ScaleToZeroAutoscaler("default", f.Name, nil, 3, true, 2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestScalingDescription(t *testing.T) {
	f := toZero(t, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "hello"}})
	if got, want := scaling(f), "0 to 3 instances on concurrency 10, idle after 2m0s"; got != want {
		t.Errorf("scaling = %q, want %q", got, want)
	}
	if got := scaling(&v1beta1.Function{}); got != "" {
		t.Errorf("no autoscaler: %q", got)
	}
}
