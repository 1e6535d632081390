package kubeengine

import (
	"context"
	"sort"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// needTarget checks that the function a trigger names exists; an event
// trigger with a functionSelector may select none yet.
func (e *Engine) needTarget(ctx context.Context, ns string, t v1beta1.Trigger) error {
	if et, ok := t.(v1beta1.EventTrigger); ok && et.Selector() != nil {
		return nil
	}
	return e.needFunction(ctx, ns, t.TargetFunction())
}

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

// Triggers implements backend.Engine: the triggers of kind are its
// kubeless.io/v1beta1 objects, which the controller reconciles.
func (e *Engine) Triggers(kind *v1beta1.TriggerKind) backend.TriggerStore {
	return kubeTriggers{e: e, kind: kind}
}

// kubeTriggers reads and writes the objects of one trigger kind.
type kubeTriggers struct {
	e    *Engine
	kind *v1beta1.TriggerKind
}

func (k kubeTriggers) notFound(ns, name string) error {
	return backend.Errorf(backend.CodeNotFound, "%s %q not found in namespace %q", k.kind.What, name, ns)
}

func (k kubeTriggers) setType(o runtime.Object) {
	o.GetObjectKind().SetGroupVersionKind(v1beta1.GroupVersion.WithKind(k.kind.Kind))
}

func invalid(err error) error {
	if err == nil {
		return nil
	}
	return &backend.Error{Code: backend.CodeInvalid, Message: err.Error()}
}

// Create implements backend.TriggerStore.
func (k kubeTriggers) Create(ctx context.Context, in v1beta1.Trigger) (v1beta1.Trigger, error) {
	t := in.DeepCopyObject().(v1beta1.Trigger)
	if err := invalid(t.ValidateSpec()); err != nil {
		return nil, err
	}
	t.SetNamespace(k.e.ns(t.GetNamespace()))
	t.SetResourceVersion("")
	if err := k.e.needTarget(ctx, t.GetNamespace(), t); err != nil {
		return nil, err
	}
	labels := t.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1beta1.LabelCreatedBy] = v1beta1.CreatedByKubeless
	t.SetLabels(labels)
	k.setType(t)
	if err := k.e.c.Create(ctx, t); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, backend.Errorf(backend.CodeAlreadyExists, "%s %q already exists in namespace %q: use kubeless trigger %s update", k.kind.What, t.GetName(), t.GetNamespace(), k.kind.Command)
		}
		return nil, k.e.apiError(err)
	}
	k.setType(t)
	return t, nil
}

// Update implements backend.TriggerStore: it reads the trigger, merges in
// (v1beta1.Trigger.MergeSpec), checks its function and writes it back,
// again on a conflict.
func (k kubeTriggers) Update(ctx context.Context, in v1beta1.Trigger) (v1beta1.Trigger, error) {
	ns := k.e.ns(in.GetNamespace())
	var out v1beta1.Trigger
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := k.kind.New()
		if err := k.e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: in.GetName()}, cur); err != nil {
			if apierrors.IsNotFound(err) {
				return k.notFound(ns, in.GetName())
			}
			return err
		}
		t := cur.MergeSpec(in)
		if err := invalid(t.ValidateSpec()); err != nil {
			return err
		}
		if err := k.e.needTarget(ctx, ns, t); err != nil {
			return err
		}
		if err := k.e.c.Update(ctx, t); err != nil {
			return err
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, k.e.apiError(err)
	}
	k.setType(out)
	return out, nil
}

// Delete implements backend.TriggerStore.
func (k kubeTriggers) Delete(ctx context.Context, namespace, name string) error {
	t := k.kind.New()
	t.SetNamespace(k.e.ns(namespace))
	t.SetName(name)
	if err := k.e.c.Delete(ctx, t); err != nil {
		if apierrors.IsNotFound(err) {
			return k.notFound(t.GetNamespace(), name)
		}
		return k.e.apiError(err)
	}
	return nil
}

// Get implements backend.TriggerStore.
func (k kubeTriggers) Get(ctx context.Context, namespace, name string) (v1beta1.Trigger, error) {
	ns := k.e.ns(namespace)
	t := k.kind.New()
	if err := k.e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, k.notFound(ns, name)
		}
		return nil, k.e.apiError(err)
	}
	k.setType(t)
	return t, nil
}

// List implements backend.TriggerStore.
func (k kubeTriggers) List(ctx context.Context, namespace string) ([]v1beta1.Trigger, error) {
	l := k.kind.NewList()
	if err := k.e.c.List(ctx, l, listOpts(namespace)...); err != nil {
		return nil, k.e.apiError(err)
	}
	out := l.Triggers()
	for _, t := range out {
		k.setType(t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetNamespace() != out[j].GetNamespace() {
			return out[i].GetNamespace() < out[j].GetNamespace()
		}
		return out[i].GetName() < out[j].GetName()
	})
	return out, nil
}

func listOpts(namespace string) []client.ListOption {
	if namespace == "" {
		return nil
	}
	return []client.ListOption{client.InNamespace(namespace)}
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
		set := h
		if cur, err := fn.Spec.Autoscaler(); err == nil {
			set = backend.KeepIdleWindow(cur, h)
		}
		if err := fn.Spec.SetAutoscaler(set); err != nil {
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
