package kubeengine

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

func notFound(ns, name string) error {
	return backend.Errorf(backend.CodeNotFound, "function %q not found in namespace %q", name, ns)
}

func typed(fn *v1beta1.Function) *v1beta1.Function {
	fn.APIVersion = v1beta1.GroupVersion.String()
	fn.Kind = "Function"
	return fn
}

// Deploy implements backend.Engine: it creates the Function, labelled
// created-by=kubeless and function=<name> as the original did.
func (e *Engine) Deploy(ctx context.Context, in *v1beta1.Function) (*v1beta1.Function, error) {
	fn := in.DeepCopy()
	fn.Namespace = e.ns(fn.Namespace)
	fn.ResourceVersion = ""
	fn.Status = v1beta1.FunctionStatus{}
	if fn.Labels == nil {
		fn.Labels = map[string]string{}
	}
	fn.Labels[v1beta1.LabelCreatedBy] = v1beta1.CreatedByKubeless
	fn.Labels[v1beta1.LabelFunction] = fn.Name
	if err := backend.CheckSpec(fn, nil); err != nil {
		return nil, err
	}
	if err := e.c.Create(ctx, typed(fn)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, backend.Errorf(backend.CodeAlreadyExists, "function %q already exists in namespace %q: use kubeless function update", fn.Name, fn.Namespace)
		}
		return nil, e.apiError(err)
	}
	return typed(fn), nil
}

// Update implements backend.Engine: it reads the Function, merges the
// non-empty parts of in (backend.MergeFunction) and writes it back, again on a
// conflict.
func (e *Engine) Update(ctx context.Context, in *v1beta1.Function) (*v1beta1.Function, error) {
	ns := e.ns(in.Namespace)
	var out *v1beta1.Function
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &v1beta1.Function{}
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: in.Name}, cur); err != nil {
			if apierrors.IsNotFound(err) {
				return backend.Errorf(backend.CodeNotFound, "Function %s is not found in namespace %q: deploy it with kubeless function deploy %s", in.Name, ns, in.Name)
			}
			return err
		}
		fn, err := backend.MergeFunction(cur, in)
		if err != nil {
			return err
		}
		if err := backend.CheckSpec(fn, nil); err != nil {
			return err
		}
		if equality.Semantic.DeepEqual(fn.Spec, cur.Spec) && equality.Semantic.DeepEqual(fn.Labels, cur.Labels) {
			out = cur
			return nil
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

// Delete implements backend.Engine. It deletes the HTTP and cron triggers that
// call the function too, as the local engine does.
func (e *Engine) Delete(ctx context.Context, namespace, name string) error {
	ns := e.ns(namespace)
	fn := &v1beta1.Function{}
	fn.Namespace, fn.Name = ns, name
	if err := e.c.Delete(ctx, fn); err != nil {
		if apierrors.IsNotFound(err) {
			return notFound(ns, name)
		}
		return e.apiError(err)
	}
	var https v1beta1.HTTPTriggerList
	if err := e.c.List(ctx, &https, client.InNamespace(ns)); err != nil {
		return e.apiError(err)
	}
	for i := range https.Items {
		if t := &https.Items[i]; t.Spec.FunctionName == name {
			if err := e.c.Delete(ctx, t); err != nil && !apierrors.IsNotFound(err) {
				return e.apiError(err)
			}
		}
	}
	var crons v1beta1.CronJobTriggerList
	if err := e.c.List(ctx, &crons, client.InNamespace(ns)); err != nil {
		return e.apiError(err)
	}
	for i := range crons.Items {
		if t := &crons.Items[i]; t.Spec.FunctionName == name {
			if err := e.c.Delete(ctx, t); err != nil && !apierrors.IsNotFound(err) {
				return e.apiError(err)
			}
		}
	}
	return nil
}

// Get implements backend.Engine.
func (e *Engine) Get(ctx context.Context, namespace, name string) (*v1beta1.Function, error) {
	ns := e.ns(namespace)
	fn := &v1beta1.Function{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, fn); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound(ns, name)
		}
		return nil, e.apiError(err)
	}
	return typed(fn), nil
}

// List implements backend.Engine: the functions of namespace ("" for all),
// sorted by namespace and name.
func (e *Engine) List(ctx context.Context, namespace string) ([]v1beta1.Function, error) {
	var l v1beta1.FunctionList
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := e.c.List(ctx, &l, opts...); err != nil {
		return nil, e.apiError(err)
	}
	out := make([]v1beta1.Function, len(l.Items))
	for i := range l.Items {
		out[i] = *typed(&l.Items[i])
	}
	sortByKey(out, func(f *v1beta1.Function) (string, string) { return f.Namespace, f.Name })
	return out, nil
}
