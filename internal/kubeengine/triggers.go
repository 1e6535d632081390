package kubeengine

import (
	"context"
	"encoding/json"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// needFunction fails with NotFound when the trigger's function does not
// exist, as the local engine does.
func (e *Engine) needFunction(ctx context.Context, ns, name string) error {
	if name == "" {
		return backend.Errorf(backend.CodeInvalid, "the trigger names no function: give one with --function-name")
	}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &v1beta1.Function{}); err != nil {
		if apierrors.IsNotFound(err) {
			nsArg := ""
			if ns != "default" {
				nsArg = " -n " + ns
			}
			return backend.Errorf(backend.CodeNotFound, "function %q not found in namespace %q: deploy it first with kubeless function deploy %s%s", name, ns, name, nsArg)
		}
		return e.apiError(err)
	}
	return nil
}

// trigger is what the two trigger kinds share.
type trigger interface {
	client.Object
	*v1beta1.HTTPTrigger | *v1beta1.CronJobTrigger
}

// kindInfo names a trigger kind in messages.
type kindInfo struct{ kind, what, cmd string }

var (
	httpKind = kindInfo{"HTTPTrigger", "HTTP trigger", "http"}
	cronKind = kindInfo{"CronJobTrigger", "cron trigger", "cronjob"}
)

func (k kindInfo) notFound(ns, name string) error {
	return backend.Errorf(backend.CodeNotFound, "%s %q not found in namespace %q", k.what, name, ns)
}

func setType(o client.Object, kind string) {
	o.GetObjectKind().SetGroupVersionKind(v1beta1.GroupVersion.WithKind(kind))
}

func createTrigger[T trigger](ctx context.Context, e *Engine, k kindInfo, t T, function string) (T, error) {
	var zero T
	t.SetNamespace(e.ns(t.GetNamespace()))
	t.SetResourceVersion("")
	if err := e.needFunction(ctx, t.GetNamespace(), function); err != nil {
		return zero, err
	}
	labels := t.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1beta1.LabelCreatedBy] = v1beta1.CreatedByKubeless
	t.SetLabels(labels)
	setType(t, k.kind)
	if err := e.c.Create(ctx, t); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return zero, backend.Errorf(backend.CodeAlreadyExists, "%s %q already exists in namespace %q: use kubeless trigger %s update", k.what, t.GetName(), t.GetNamespace(), k.cmd)
		}
		return zero, e.apiError(err)
	}
	setType(t, k.kind)
	return t, nil
}

// updateTrigger reads the trigger, merges in with merge, checks its
// function and writes it back, again on a conflict.
func updateTrigger[T trigger](ctx context.Context, e *Engine, k kindInfo, in T, newT func() T, merge func(old, in T) T, function func(T) string) (T, error) {
	var zero T
	ns := e.ns(in.GetNamespace())
	var out T
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := newT()
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: in.GetName()}, cur); err != nil {
			if apierrors.IsNotFound(err) {
				return k.notFound(ns, in.GetName())
			}
			return err
		}
		t := merge(cur, in)
		if err := e.needFunction(ctx, ns, function(t)); err != nil {
			return err
		}
		if err := e.c.Update(ctx, t); err != nil {
			return err
		}
		out = t
		return nil
	})
	if err != nil {
		return zero, e.apiError(err)
	}
	setType(out, k.kind)
	return out, nil
}

func deleteTrigger(ctx context.Context, e *Engine, k kindInfo, t client.Object) error {
	if err := e.c.Delete(ctx, t); err != nil {
		if apierrors.IsNotFound(err) {
			return k.notFound(t.GetNamespace(), t.GetName())
		}
		return e.apiError(err)
	}
	return nil
}

func getTrigger[T trigger](ctx context.Context, e *Engine, k kindInfo, t T, namespace, name string) (T, error) {
	var zero T
	ns := e.ns(namespace)
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t); err != nil {
		if apierrors.IsNotFound(err) {
			return zero, k.notFound(ns, name)
		}
		return zero, e.apiError(err)
	}
	setType(t, k.kind)
	return t, nil
}

func listOpts(namespace string) []client.ListOption {
	if namespace == "" {
		return nil
	}
	return []client.ListOption{client.InNamespace(namespace)}
}

// CreateHTTPTrigger implements backend.Engine.
func (e *Engine) CreateHTTPTrigger(ctx context.Context, in *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error) {
	t := in.DeepCopy()
	return createTrigger(ctx, e, httpKind, t, t.Spec.FunctionName)
}

// UpdateHTTPTrigger implements backend.Engine: the non-empty fields of in's
// spec replace the stored ones (backend.MergeHTTPTrigger).
func (e *Engine) UpdateHTTPTrigger(ctx context.Context, in *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error) {
	return updateTrigger(ctx, e, httpKind, in,
		func() *v1beta1.HTTPTrigger { return &v1beta1.HTTPTrigger{} },
		backend.MergeHTTPTrigger,
		func(t *v1beta1.HTTPTrigger) string { return t.Spec.FunctionName })
}

// DeleteHTTPTrigger implements backend.Engine.
func (e *Engine) DeleteHTTPTrigger(ctx context.Context, namespace, name string) error {
	t := &v1beta1.HTTPTrigger{}
	t.Namespace, t.Name = e.ns(namespace), name
	return deleteTrigger(ctx, e, httpKind, t)
}

// GetHTTPTrigger implements backend.Engine.
func (e *Engine) GetHTTPTrigger(ctx context.Context, namespace, name string) (*v1beta1.HTTPTrigger, error) {
	return getTrigger(ctx, e, httpKind, &v1beta1.HTTPTrigger{}, namespace, name)
}

// ListHTTPTriggers implements backend.Engine.
func (e *Engine) ListHTTPTriggers(ctx context.Context, namespace string) ([]v1beta1.HTTPTrigger, error) {
	var l v1beta1.HTTPTriggerList
	if err := e.c.List(ctx, &l, listOpts(namespace)...); err != nil {
		return nil, e.apiError(err)
	}
	out := make([]v1beta1.HTTPTrigger, 0, len(l.Items))
	for i := range l.Items {
		setType(&l.Items[i], httpKind.kind)
		out = append(out, l.Items[i])
	}
	sortByKey(out, func(t *v1beta1.HTTPTrigger) (string, string) { return t.Namespace, t.Name })
	return out, nil
}

func checkPayload(t *v1beta1.CronJobTrigger) error {
	if t.Spec.Payload != nil && len(t.Spec.Payload.Raw) > 0 && !json.Valid(t.Spec.Payload.Raw) {
		return backend.Errorf(backend.CodeInvalid, "cron trigger %q: the payload is not valid JSON", t.Name)
	}
	return nil
}

// CreateCronJobTrigger implements backend.Engine.
func (e *Engine) CreateCronJobTrigger(ctx context.Context, in *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error) {
	t := in.DeepCopy()
	if t.Spec.Schedule == "" {
		return nil, backend.Errorf(backend.CodeInvalid, "cron trigger %q has no schedule: give one with --schedule, for example --schedule '*/5 * * * *'", t.Name)
	}
	if err := checkPayload(t); err != nil {
		return nil, err
	}
	return createTrigger(ctx, e, cronKind, t, t.Spec.FunctionName)
}

// UpdateCronJobTrigger implements backend.Engine: the non-empty fields of in's
// spec replace the stored ones (backend.MergeCronJobTrigger).
func (e *Engine) UpdateCronJobTrigger(ctx context.Context, in *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error) {
	if err := checkPayload(in); err != nil {
		return nil, err
	}
	return updateTrigger(ctx, e, cronKind, in,
		func() *v1beta1.CronJobTrigger { return &v1beta1.CronJobTrigger{} },
		backend.MergeCronJobTrigger,
		func(t *v1beta1.CronJobTrigger) string { return t.Spec.FunctionName })
}

// DeleteCronJobTrigger implements backend.Engine.
func (e *Engine) DeleteCronJobTrigger(ctx context.Context, namespace, name string) error {
	t := &v1beta1.CronJobTrigger{}
	t.Namespace, t.Name = e.ns(namespace), name
	return deleteTrigger(ctx, e, cronKind, t)
}

// GetCronJobTrigger implements backend.Engine.
func (e *Engine) GetCronJobTrigger(ctx context.Context, namespace, name string) (*v1beta1.CronJobTrigger, error) {
	return getTrigger(ctx, e, cronKind, &v1beta1.CronJobTrigger{}, namespace, name)
}

// ListCronJobTriggers implements backend.Engine.
func (e *Engine) ListCronJobTriggers(ctx context.Context, namespace string) ([]v1beta1.CronJobTrigger, error) {
	var l v1beta1.CronJobTriggerList
	if err := e.c.List(ctx, &l, listOpts(namespace)...); err != nil {
		return nil, e.apiError(err)
	}
	out := make([]v1beta1.CronJobTrigger, 0, len(l.Items))
	for i := range l.Items {
		setType(&l.Items[i], cronKind.kind)
		out = append(out, l.Items[i])
	}
	sortByKey(out, func(t *v1beta1.CronJobTrigger) (string, string) { return t.Namespace, t.Name })
	return out, nil
}

// SetAutoscaler implements backend.Engine: it sets (or with nil removes) the
// Function's spec.horizontalPodAutoscaler, from which the controller makes
// the HorizontalPodAutoscaler.
func (e *Engine) SetAutoscaler(ctx context.Context, namespace, name string, h *autoscalingv2.HorizontalPodAutoscaler) (*v1beta1.Function, error) {
	ns := e.ns(namespace)
	if h != nil {
		var err error
		if h, err = backend.NormalizeAutoscaler(h, ns, name, 0, "kubernetes"); err != nil {
			return nil, err
		}
	}
	var out *v1beta1.Function
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		fn := &v1beta1.Function{}
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, fn); err != nil {
			if apierrors.IsNotFound(err) {
				return notFound(ns, name)
			}
			return err
		}
		if h == nil {
			if cur, err := fn.Spec.Autoscaler(); err == nil && cur == nil {
				return backend.Errorf(backend.CodeNotFound, "Not found an autoscale definition for %s", name)
			}
		}
		if err := fn.Spec.SetAutoscaler(h); err != nil {
			return &backend.Error{Code: backend.CodeInvalid, Message: err.Error()}
		}
		if err := e.c.Update(ctx, fn); err != nil {
			return err
		}
		out = fn
		return nil
	})
	if err != nil {
		return nil, e.apiError(err)
	}
	return typed(out), nil
}
