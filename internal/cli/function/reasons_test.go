package function

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// conditionEngine answers Get with a function whose Ready condition is
// False with reason.
type conditionEngine struct {
	backend.Engine
	reason string
}

func (e conditionEngine) Get(_ context.Context, ns, name string) (*v1beta1.Function, error) {
	fn := &v1beta1.Function{}
	fn.Name, fn.Namespace, fn.Generation = name, ns, 1
	fn.Status.ObservedGeneration = 1
	meta.SetStatusCondition(&fn.Status.Conditions, metav1.Condition{Type: v1beta1.ConditionReady,
		Status: metav1.ConditionFalse, Reason: e.reason, Message: "why"})
	return fn, nil
}

// TestWaitReadyReasons: a deploy's wait ends on the reasons that both
// engines set when a function cannot become ready without a change, and
// goes on through the others, with the engines' own reason constants.
func TestWaitReadyReasons(t *testing.T) {
	tests := []struct {
		reason string
		fails  bool
	}{
		// The local engine's.
		{v1beta1.ReasonBuilding, false},
		{v1beta1.ReasonStarting, false},
		{v1beta1.ReasonInstancesNotReady, false},
		{v1beta1.ReasonBuildFailed, true},
		{v1beta1.ReasonInstanceFailed, true},
		// The controller's.
		{v1beta1.ReasonReconciling, false},
		{v1beta1.ReasonInitContainerFailed, true},
		{v1beta1.ReasonCrashLoop, true},
		{v1beta1.ReasonImageMissing, true},
		// Bad input, on both.
		{v1beta1.ReasonInvalidHandler, true},
		{v1beta1.ReasonUnknownRuntime, true},
		{v1beta1.ReasonInvalidContentType, true},
		{v1beta1.ReasonInvalidChecksum, true},
		{v1beta1.ReasonInvalidDeployment, true},
		{v1beta1.ReasonInvalidAutoscaler, true},
		{v1beta1.ReasonInvalidConfig, true},
		{v1beta1.ReasonConflict, true},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			ios, _, _, stderr := iostreams.Test()
			opts := &DeployOptions{IO: ios, Name: "hello", Namespace: "default", PollInterval: time.Millisecond, WaitTimeout: 50 * time.Millisecond}
			err := waitReady(context.Background(), opts, conditionEngine{reason: tt.reason}, 1)
			var fe *FailedError
			if got := errors.As(err, &fe); got != tt.fails {
				t.Fatalf("waitReady ends with %v; want a FailedError: %v", err, tt.fails)
			}
			if !tt.fails && !strings.Contains(err.Error(), "is not ready after") {
				t.Errorf("err = %v, want a timeout", err)
			}
			if !strings.HasPrefix(stderr.String(), tt.reason+"\n") {
				t.Errorf("stderr = %q, want the reason first", stderr.String())
			}
			if bad := v1beta1.IsBadInputReason(tt.reason); bad && !tt.fails {
				t.Errorf("%s is bad input but does not end the wait", tt.reason)
			}
		})
	}
}
