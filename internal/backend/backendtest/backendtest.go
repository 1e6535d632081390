// Package backendtest helps tests fake what an engine serves.
package backendtest

import (
	"context"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/fnspec/fnspectest"
)

// TriggerFuncs serves the triggers of the kind of T with its functions,
// as a backend.TriggerStore; a nil function fails with Internal.
type TriggerFuncs[T any, P backend.TriggerPtr[T]] struct {
	CreateFunc func(context.Context, *T) (*T, error)
	UpdateFunc func(context.Context, *T) (*T, error)
	DeleteFunc func(ctx context.Context, namespace, name string) error
	GetFunc    func(ctx context.Context, namespace, name string) (*T, error)
	ListFunc   func(ctx context.Context, namespace string) ([]T, error)
}

var _ backend.TriggerStore = TriggerFuncs[v1beta1.HTTPTrigger, *v1beta1.HTTPTrigger]{}

func (f TriggerFuncs[T, P]) missing(verb string) error {
	return backend.Errorf(backend.CodeInternal, "the fake engine cannot %s a %s", verb, backend.KindOf[T, P]().Kind)
}

func one[T any, P backend.TriggerPtr[T]](t *T, err error) (v1beta1.Trigger, error) {
	if err != nil {
		return nil, err
	}
	return P(t), nil
}

// Create implements backend.TriggerStore.
func (f TriggerFuncs[T, P]) Create(ctx context.Context, t v1beta1.Trigger) (v1beta1.Trigger, error) {
	if f.CreateFunc == nil {
		return nil, f.missing("create")
	}
	return one[T, P](f.CreateFunc(ctx, (*T)(t.(P))))
}

// Update implements backend.TriggerStore.
func (f TriggerFuncs[T, P]) Update(ctx context.Context, t v1beta1.Trigger) (v1beta1.Trigger, error) {
	if f.UpdateFunc == nil {
		return nil, f.missing("update")
	}
	return one[T, P](f.UpdateFunc(ctx, (*T)(t.(P))))
}

// Delete implements backend.TriggerStore.
func (f TriggerFuncs[T, P]) Delete(ctx context.Context, namespace, name string) error {
	if f.DeleteFunc == nil {
		return f.missing("delete")
	}
	return f.DeleteFunc(ctx, namespace, name)
}

// Get implements backend.TriggerStore.
func (f TriggerFuncs[T, P]) Get(ctx context.Context, namespace, name string) (v1beta1.Trigger, error) {
	if f.GetFunc == nil {
		return nil, f.missing("get")
	}
	return one[T, P](f.GetFunc(ctx, namespace, name))
}

// List implements backend.TriggerStore.
func (f TriggerFuncs[T, P]) List(ctx context.Context, namespace string) ([]v1beta1.Trigger, error) {
	if f.ListFunc == nil {
		return nil, f.missing("list")
	}
	ts, err := f.ListFunc(ctx, namespace)
	if err != nil {
		return nil, err
	}
	out := make([]v1beta1.Trigger, len(ts))
	for i := range ts {
		out[i] = P(&ts[i])
	}
	return out, nil
}

// SetBad sets the field of fn's spec that c (one of fnspectest.Bad) is
// about to c's bad value, for a caller's test that fn is refused with
// fnspec's message.
func SetBad(fn *v1beta1.Function, c fnspectest.Case) {
	s := backend.Spec(fn)
	c.Apply(&s)
	fn.Spec.Runtime, fn.Spec.Handler, fn.Spec.FunctionContentType = s.Runtime, s.Handler, s.ContentType
	fn.Spec.Checksum, fn.Spec.Timeout = s.Checksum, s.Timeout
}
