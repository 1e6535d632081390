package activator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// CacheOptions are the manager's cache options: only the objects Kubeless
// made (Services, Deployments and pods labelled created-by=kubeless).
func CacheOptions() cache.Options {
	return cache.Options{DefaultLabelSelector: labels.SelectorFromSet(labels.Set{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless})}
}

// Setup wires an activator into mgr: a KubeWaker on mgr's client, woken by
// mgr's pod informer, and Listeners kept in step with the Services that
// name an activator port. opts.Waker is set by Setup; listen opens a port
// (nil: TCP on every address). The Listeners are closed when ctx ends.
// mgr's readiness check "ports" fails until the ports of the Services
// there were at start are open: the controller names only ready activator
// pods in EndpointSlices.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options, listen func(port int32) (net.Listener, error)) (*Activator, error) {
	waker := &KubeWaker{Client: mgr.GetClient()}
	opts.Waker = waker
	a, err := New(opts)
	if err != nil {
		return nil, err
	}
	pods, err := mgr.GetCache().GetInformer(ctx, &corev1.Pod{})
	if err != nil {
		return nil, err
	}
	_, err = pods.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    waker.NotifyPod,
		UpdateFunc: func(_, obj any) { waker.NotifyPod(obj) },
		DeleteFunc: waker.NotifyPod,
	})
	if err != nil {
		return nil, err
	}
	listeners := NewListeners(a, listen)
	context.AfterFunc(ctx, listeners.Close)
	hasPort := predicate.NewPredicateFuncs(func(o client.Object) bool {
		_, ok := o.GetAnnotations()[v1beta1.AnnotationActivatorPort]
		return ok
	})
	// Each event reads every Service again, so a Service that loses its
	// annotation (its function keeps its pods now) must get through too.
	err = ctrl.NewControllerManagedBy(mgr).
		Named("activator-ports").
		For(&corev1.Service{}, builder.WithPredicates(predicate.Or(hasPort, predicate.AnnotationChangedPredicate{}))).
		Complete(&ServiceReconciler{Client: mgr.GetClient(), Listeners: listeners})
	if err != nil {
		return nil, err
	}
	var ready atomic.Bool
	err = mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return nil
		}
		r := &ServiceReconciler{Client: mgr.GetClient(), Listeners: listeners}
		if _, err := r.Reconcile(ctx, ctrl.Request{}); err != nil {
			return err
		}
		ready.Store(true)
		return nil
	}))
	if err != nil {
		return nil, err
	}
	err = mgr.AddReadyzCheck("ports", func(*http.Request) error {
		if !ready.Load() {
			return errors.New("the activator ports are not open yet")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}
