package controller

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubeless/kubeless/internal/render"
)

// installLater is a RESTMapper whose cluster serves no kind until install
// is called; each lookup is sent on looked.
type installLater struct {
	meta.RESTMapper
	mu        sync.Mutex
	installed bool
	looked    chan struct{}
}

func (m *installLater) install() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.installed = true
}

func (m *installLater) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	m.mu.Lock()
	ok := m.installed
	m.mu.Unlock()
	select {
	case m.looked <- struct{}{}:
	default:
	}
	if !ok {
		return nil, &meta.NoKindMatchError{GroupKind: gk, SearchedVersions: versions}
	}
	return &meta.RESTMapping{GroupVersionKind: gk.WithVersion(versions[0])}, nil
}

// A kind whose CRD is installed after the controller starts is watched
// once the cluster serves it, and only then.
func TestKindWatchWaitsForTheCRD(t *testing.T) {
	m := &installLater{looked: make(chan struct{}, 1)}
	watched := make(chan schema.GroupVersionKind, 2)
	w := &kindWatch{
		gvk: render.TraefikMiddlewareGVK, mapper: m, every: time.Millisecond, log: logr.Discard(),
		watch: func(obj *unstructured.Unstructured) error {
			watched <- obj.GroupVersionKind()
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()

	// looked up, not there: no watch
	<-m.looked
	<-m.looked
	select {
	case gvk := <-watched:
		t.Fatalf("watching %s before its CRD is installed", gvk)
	default:
	}
	m.install()
	select {
	case gvk := <-watched:
		if gvk != render.TraefikMiddlewareGVK {
			t.Errorf("watching %s, want %s", gvk, render.TraefikMiddlewareGVK)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no watch 30s after the CRD was installed")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return after adding the watch")
	}
	if len(watched) != 0 {
		t.Errorf("the kind was watched more than once")
	}
}

// Stopped before the CRD is installed, it returns without watching.
func TestKindWatchStops(t *testing.T) {
	m := &installLater{looked: make(chan struct{}, 1)}
	w := &kindWatch{
		gvk: render.TraefikMiddlewareGVK, mapper: m, every: time.Hour, log: logr.Discard(),
		watch: func(*unstructured.Unstructured) error {
			t.Error("watching a kind the cluster does not serve")
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	<-m.looked
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return when stopped")
	}
}
