package client

import (
	"context"
	"encoding/json"
	"fmt"
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

// Triggers returns the engine's triggers of kind (under /v1/<resource>).
func (c *Client) Triggers(kind *v1beta1.TriggerKind) backend.TriggerStore {
	return triggers{c, kind}
}

type triggers struct {
	c    *Client
	kind *v1beta1.TriggerKind
}

func (t triggers) one(ctx context.Context, method, path string, in v1beta1.Trigger) (v1beta1.Trigger, error) {
	out := t.kind.New()
	if err := t.c.doJSON(ctx, method, path, nil, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Create creates a trigger.
func (t triggers) Create(ctx context.Context, in v1beta1.Trigger) (v1beta1.Trigger, error) {
	return t.one(ctx, http.MethodPost, "/v1/"+t.kind.Resource, in)
}

// Update merges in's spec into the trigger's.
func (t triggers) Update(ctx context.Context, in v1beta1.Trigger) (v1beta1.Trigger, error) {
	return t.one(ctx, http.MethodPut, objPath(t.kind.Resource, in.GetNamespace(), in.GetName()), in)
}

// Delete removes a trigger.
func (t triggers) Delete(ctx context.Context, namespace, name string) error {
	return t.c.doJSON(ctx, http.MethodDelete, objPath(t.kind.Resource, namespace, name), nil, nil, nil)
}

// Get returns a trigger.
func (t triggers) Get(ctx context.Context, namespace, name string) (v1beta1.Trigger, error) {
	return t.one(ctx, http.MethodGet, objPath(t.kind.Resource, namespace, name), nil)
}

// List lists the triggers of namespace ("" for all).
func (t triggers) List(ctx context.Context, namespace string) ([]v1beta1.Trigger, error) {
	var raw []json.RawMessage
	if err := t.c.doJSON(ctx, http.MethodGet, "/v1/"+t.kind.Resource, nsQuery(namespace), nil, &raw); err != nil {
		return nil, err
	}
	out := make([]v1beta1.Trigger, 0, len(raw))
	for _, r := range raw {
		o := t.kind.New()
		if err := json.Unmarshal(r, o); err != nil {
			return nil, fmt.Errorf("local engine: decode %s: %w", t.kind.What, err)
		}
		out = append(out, o)
	}
	return out, nil
}
