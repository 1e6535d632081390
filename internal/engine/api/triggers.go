package api

import (
	"context"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// TriggerBackend is the part of Backend that serves triggers, metrics and
// autoscaling.
type TriggerBackend interface {
	// Top returns the metrics rows of the function name, or of every
	// function of namespace ("" for all) when name is "".
	Top(ctx context.Context, namespace, name string) ([]backend.FunctionMetrics, error)
	// SetAutoscaler sets (or, with nil, removes) the function's
	// horizontalPodAutoscaler and returns the function.
	SetAutoscaler(ctx context.Context, namespace, name string, h *autoscalingv2.HorizontalPodAutoscaler) (*v1beta1.Function, error)

	// Triggers returns the triggers of kind, served under
	// /v1/<kind.Resource>.
	Triggers(kind *v1beta1.TriggerKind) backend.TriggerStore
}
