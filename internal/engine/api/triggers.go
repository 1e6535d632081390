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

	// CreateHTTPTrigger fails with AlreadyExists for an existing name and
	// NotFound when its function does not exist.
	CreateHTTPTrigger(ctx context.Context, t *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error)
	// UpdateHTTPTrigger replaces the trigger's spec.
	UpdateHTTPTrigger(ctx context.Context, t *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error)
	DeleteHTTPTrigger(ctx context.Context, namespace, name string) error
	GetHTTPTrigger(ctx context.Context, namespace, name string) (*v1beta1.HTTPTrigger, error)
	ListHTTPTriggers(ctx context.Context, namespace string) ([]v1beta1.HTTPTrigger, error)

	CreateCronJobTrigger(ctx context.Context, t *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error)
	UpdateCronJobTrigger(ctx context.Context, t *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error)
	DeleteCronJobTrigger(ctx context.Context, namespace, name string) error
	GetCronJobTrigger(ctx context.Context, namespace, name string) (*v1beta1.CronJobTrigger, error)
	ListCronJobTriggers(ctx context.Context, namespace string) ([]v1beta1.CronJobTrigger, error)
}
