package cmdutil

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoEventBus is returned by EventBus when the engine in use has no event
// bus (the Kubernetes engine, or no engine).
var ErrNoEventBus = errors.New("the engine in use has no event bus")

// EventBus returns the URL of the local engine's event bus (its NATS
// server), starting the engine if needed.
func (f *Factory) EventBus(ctx context.Context) (string, error) {
	if f.Engine == nil || f.UsesKubernetes() {
		return "", ErrNoEventBus
	}
	eng, err := f.Engine(ctx)
	if err != nil {
		return "", err
	}
	st, err := eng.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("ask the local engine for its event bus: %w", err)
	}
	if st.EventBus == "" {
		return "", ErrNoEventBus
	}
	return st.EventBus, nil
}
