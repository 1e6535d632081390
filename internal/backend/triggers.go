package backend

import (
	"context"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// Triggers creates, updates, removes and reads the triggers of one kind,
// T being the kind's API type (v1beta1.HTTPTrigger, ...). Get it with
// TriggersOf. Adding a trigger kind needs nothing here: see v1beta1.Trigger
// for the steps.
type Triggers[T any] interface {
	// Create fails with AlreadyExists for an existing name and NotFound
	// when the trigger's function does not exist.
	Create(ctx context.Context, t *T) (*T, error)
	// Update merges t's spec into the stored trigger's
	// (v1beta1.Trigger.MergeSpec).
	Update(ctx context.Context, t *T) (*T, error)
	Delete(ctx context.Context, namespace, name string) error
	Get(ctx context.Context, namespace, name string) (*T, error)
	// List lists the triggers of namespace, or of all when it is "",
	// sorted by namespace and name.
	List(ctx context.Context, namespace string) ([]T, error)
}

// TriggerStore is Triggers for any kind, what an engine implements once
// for all kinds: the objects are of the kind it was asked for.
type TriggerStore interface {
	Create(ctx context.Context, t v1beta1.Trigger) (v1beta1.Trigger, error)
	Update(ctx context.Context, t v1beta1.Trigger) (v1beta1.Trigger, error)
	Delete(ctx context.Context, namespace, name string) error
	Get(ctx context.Context, namespace, name string) (v1beta1.Trigger, error)
	List(ctx context.Context, namespace string) ([]v1beta1.Trigger, error)
}

// TriggerPtr is the pointer type of a trigger kind's API type T.
type TriggerPtr[T any] interface {
	*T
	v1beta1.Trigger
}

// KindOf returns the kind of the API type T.
func KindOf[T any, P TriggerPtr[T]]() *v1beta1.TriggerKind {
	var zero T
	return P(&zero).TriggerKind()
}

// TriggerSource serves triggers of every kind: an Engine, or the local
// engine's daemon.
type TriggerSource interface {
	// Triggers returns the triggers of kind; TriggersOf is its typed form.
	Triggers(kind *v1beta1.TriggerKind) TriggerStore
}

// TriggersOf returns e's triggers of the kind of T, for example
// TriggersOf[v1beta1.HTTPTrigger](e).
func TriggersOf[T any, P TriggerPtr[T]](e TriggerSource) Triggers[T] {
	return typedTriggers[T, P]{e.Triggers(KindOf[T, P]())}
}

type typedTriggers[T any, P TriggerPtr[T]] struct{ s TriggerStore }

func one[T any, P TriggerPtr[T]](t v1beta1.Trigger, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return (*T)(t.(P)), nil
}

func (tt typedTriggers[T, P]) Create(ctx context.Context, t *T) (*T, error) {
	return one[T, P](tt.s.Create(ctx, P(t)))
}

func (tt typedTriggers[T, P]) Update(ctx context.Context, t *T) (*T, error) {
	return one[T, P](tt.s.Update(ctx, P(t)))
}

func (tt typedTriggers[T, P]) Delete(ctx context.Context, namespace, name string) error {
	return tt.s.Delete(ctx, namespace, name)
}

func (tt typedTriggers[T, P]) Get(ctx context.Context, namespace, name string) (*T, error) {
	return one[T, P](tt.s.Get(ctx, namespace, name))
}

func (tt typedTriggers[T, P]) List(ctx context.Context, namespace string) ([]T, error) {
	ts, err := tt.s.List(ctx, namespace)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(ts))
	for _, t := range ts {
		out = append(out, *(*T)(t.(P)))
	}
	return out, nil
}
