package client

import (
	"context"
	"net/http"
	"net/url"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

func nsQuery(namespace string) url.Values {
	if namespace == "" {
		return nil
	}
	return url.Values{"namespace": {namespace}}
}

func objPath(kind, ns, name string) string {
	if ns == "" {
		ns = "default"
	}
	return "/v1/" + kind + "/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
}

// Top returns the metrics rows of function name, or of every function of
// namespace ("" for all) when name is "".
func (c *Client) Top(ctx context.Context, namespace, name string) ([]backend.FunctionMetrics, error) {
	var out []backend.FunctionMetrics
	var err error
	if name == "" {
		err = c.doJSON(ctx, http.MethodGet, "/v1/metrics", nsQuery(namespace), nil, &out)
	} else {
		err = c.doJSON(ctx, http.MethodGet, fnPath(namespace, name)+"/metrics", nil, nil, &out)
	}
	return out, err
}

// SetAutoscaler sets, or with nil removes, the function's autoscaler.
func (c *Client) SetAutoscaler(ctx context.Context, namespace, name string, h *autoscalingv2.HorizontalPodAutoscaler) (*v1beta1.Function, error) {
	var out v1beta1.Function
	var in any = h
	if h == nil {
		in = (*struct{})(nil) // JSON null
	}
	if err := c.doJSON(ctx, http.MethodPut, fnPath(namespace, name)+"/autoscaler", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateHTTPTrigger creates an HTTP trigger.
func (c *Client) CreateHTTPTrigger(ctx context.Context, t *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error) {
	var out v1beta1.HTTPTrigger
	return &out, c.doJSON(ctx, http.MethodPost, "/v1/httptriggers", nil, t, &out)
}

// UpdateHTTPTrigger replaces an HTTP trigger's spec.
func (c *Client) UpdateHTTPTrigger(ctx context.Context, t *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error) {
	var out v1beta1.HTTPTrigger
	return &out, c.doJSON(ctx, http.MethodPut, objPath("httptriggers", t.Namespace, t.Name), nil, t, &out)
}

// DeleteHTTPTrigger removes an HTTP trigger.
func (c *Client) DeleteHTTPTrigger(ctx context.Context, namespace, name string) error {
	return c.doJSON(ctx, http.MethodDelete, objPath("httptriggers", namespace, name), nil, nil, nil)
}

// GetHTTPTrigger returns an HTTP trigger.
func (c *Client) GetHTTPTrigger(ctx context.Context, namespace, name string) (*v1beta1.HTTPTrigger, error) {
	var out v1beta1.HTTPTrigger
	return &out, c.doJSON(ctx, http.MethodGet, objPath("httptriggers", namespace, name), nil, nil, &out)
}

// ListHTTPTriggers lists the HTTP triggers of namespace ("" for all).
func (c *Client) ListHTTPTriggers(ctx context.Context, namespace string) ([]v1beta1.HTTPTrigger, error) {
	var out []v1beta1.HTTPTrigger
	return out, c.doJSON(ctx, http.MethodGet, "/v1/httptriggers", nsQuery(namespace), nil, &out)
}

// CreateCronJobTrigger creates a cron trigger.
func (c *Client) CreateCronJobTrigger(ctx context.Context, t *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error) {
	var out v1beta1.CronJobTrigger
	return &out, c.doJSON(ctx, http.MethodPost, "/v1/cronjobtriggers", nil, t, &out)
}

// UpdateCronJobTrigger replaces a cron trigger's spec.
func (c *Client) UpdateCronJobTrigger(ctx context.Context, t *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error) {
	var out v1beta1.CronJobTrigger
	return &out, c.doJSON(ctx, http.MethodPut, objPath("cronjobtriggers", t.Namespace, t.Name), nil, t, &out)
}

// DeleteCronJobTrigger removes a cron trigger.
func (c *Client) DeleteCronJobTrigger(ctx context.Context, namespace, name string) error {
	return c.doJSON(ctx, http.MethodDelete, objPath("cronjobtriggers", namespace, name), nil, nil, nil)
}

// GetCronJobTrigger returns a cron trigger.
func (c *Client) GetCronJobTrigger(ctx context.Context, namespace, name string) (*v1beta1.CronJobTrigger, error) {
	var out v1beta1.CronJobTrigger
	return &out, c.doJSON(ctx, http.MethodGet, objPath("cronjobtriggers", namespace, name), nil, nil, &out)
}

// ListCronJobTriggers lists the cron triggers of namespace ("" for all).
func (c *Client) ListCronJobTriggers(ctx context.Context, namespace string) ([]v1beta1.CronJobTrigger, error) {
	var out []v1beta1.CronJobTrigger
	return out, c.doJSON(ctx, http.MethodGet, "/v1/cronjobtriggers", nsQuery(namespace), nil, &out)
}
