package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kindWatch adds a controller's watch of a kind that a CRD of another
// project defines (Traefik's Middleware) once the cluster serves it: the
// CRD may be installed after the controller starts. It is a manager
// Runnable; watch is called once, with an empty object of the kind.
type kindWatch struct {
	gvk    schema.GroupVersionKind
	mapper meta.RESTMapper
	// every is how often the cluster is asked while it lacks the kind.
	every time.Duration
	watch func(obj *unstructured.Unstructured) error
	log   logr.Logger
}

// defaultKindPoll is how often a kindWatch looks for its kind.
const defaultKindPoll = 30 * time.Second

// Start looks for the kind until the cluster serves it, then adds the watch.
func (w *kindWatch) Start(ctx context.Context) error {
	t := time.NewTicker(w.every)
	defer t.Stop()
	waiting := false
	for {
		ok, err := hasKind(w.mapper, w.gvk)
		switch {
		case err != nil:
			w.log.Error(err, "look up a kind to watch", "kind", w.gvk.String())
		case ok:
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(w.gvk)
			if err := w.watch(u); err != nil {
				return fmt.Errorf("watch %s: %w", w.gvk, err)
			}
			if waiting {
				w.log.Info("the cluster serves the kind now: watching it", "kind", w.gvk.String())
			}
			return nil
		case !waiting:
			w.log.Info("the cluster does not serve the kind (its CRD is not installed): looking for it again every interval",
				"kind", w.gvk.String(), "interval", w.every.String())
			waiting = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// hasKind reports whether the cluster serves gvk (its CRD is installed).
func hasKind(m meta.RESTMapper, gvk schema.GroupVersionKind) (bool, error) {
	_, err := m.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up kind %s: %w", gvk, err)
	}
	return true, nil
}
