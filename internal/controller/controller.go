// Package controller is the Kubernetes engine's controller: it turns
// Functions into ConfigMaps, Services, Deployments (with the catalog's build
// steps as init containers) and HorizontalPodAutoscalers, HTTPTriggers into
// Ingresses and CronJobTriggers into CronJobs, with controller-runtime.
// The objects themselves come from internal/render; this package applies
// them (server-side apply, field owner kubeless-controller), owns them by
// owner reference, and reports status conditions and Events.
//
// The runtime catalog and the other settings come from the kubeless-config
// ConfigMap (docs/compatibility.md §2), which is watched: a change reaches
// every Function without a restart.
package controller

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/render"
)

// The permissions of the controller, generated into config/rbac by
// hack/update-codegen.sh: server-side apply needs create and patch, and
// only the objects the controller removes (an autoscaler turned off, a
// trigger's object whose function is gone) need delete. The finalizers
// subresource is for blockOwnerDeletion on owner references.
//
// +kubebuilder:rbac:groups=kubeless.io,resources=functions;httptriggers;cronjobtriggers,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=kubeless.io,resources=functions/status;httptriggers/status;cronjobtriggers/status,verbs=get;patch
// +kubebuilder:rbac:groups=kubeless.io,resources=functions/finalizers;httptriggers/finalizers;cronjobtriggers/finalizers,verbs=update
// +kubebuilder:rbac:groups=kubeless.io,resources=kafkatriggers;natstriggers;kinesistriggers,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=kubeless.io,resources=kafkatriggers/status;natstriggers/status;kinesistriggers/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=configmaps;services,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=batch,resources=cronjobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=traefik.io,resources=middlewares,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments/scale,verbs=get;update

// Options configure the controller.
type Options struct {
	// Config locates the kubeless-config ConfigMap (default
	// kubeless/kubeless-config).
	Config types.NamespacedName
	// Render holds the defaults of the settings that kubeless-config may
	// override (provision image, pull policy, pull secrets, cluster domain),
	// and the runtime image overrides.
	Render render.Config
	// Zero configures scale to zero.
	Zero ZeroOptions
	// Events configures the consumers of event triggers.
	Events EventOptions
	// KindPoll is how often the controller looks for the kinds of other
	// projects' CRDs that it watches once installed (Traefik's
	// Middleware); default 30s.
	KindPoll time.Duration
}

// DefaultConfig is where kubeless-config lives unless told otherwise
// (KUBELESS_NAMESPACE and KUBELESS_CONFIG in the controller's environment).
var DefaultConfig = types.NamespacedName{Namespace: "kubeless", Name: "kubeless-config"}

// Setup registers the Function, HTTPTrigger and CronJobTrigger controllers
// with mgr. The manager's scheme must know client-go's types and
// api/v1beta1.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.Config.Name == "" {
		opts.Config = DefaultConfig
	}
	if opts.KindPoll <= 0 {
		opts.KindPoll = defaultKindPoll
	}
	src := &configSource{reader: mgr.GetClient(), key: opts.Config, defaults: opts.Render}
	ap := &applier{client: mgr.GetClient(), reader: mgr.GetAPIReader(), scheme: mgr.GetScheme()}
	isConfig := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == opts.Config.Namespace && o.GetName() == opts.Config.Name
	})

	opts.Zero.defaults(opts.Config.Namespace)
	isActivator := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetNamespace() == opts.Zero.ActivatorNamespace && o.GetLabels()["app"] == ActivatorLabel
	})
	fr := &FunctionReconciler{
		Client: mgr.GetClient(), Scheme: mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("kubeless-controller"),
		config:   src, applier: ap, zero: newZero(mgr.GetClient(), opts.Zero),
	}
	allFunctions := func(ctx context.Context, _ client.Object) []reconcile.Request {
		var l v1beta1.FunctionList
		if err := mgr.GetClient().List(ctx, &l); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(l.Items))
		for _, f := range l.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: f.Namespace, Name: f.Name}})
		}
		return reqs
	}
	podFunction := func(_ context.Context, o client.Object) []reconcile.Request {
		name := o.GetLabels()[v1beta1.LabelFunction]
		if name == "" || o.GetLabels()[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
	}
	err := ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.Function{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&corev1.Service{}).
		Owns(&appsv1.Deployment{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Owns(&discoveryv1.EndpointSlice{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podFunction)).
		// The activator's pods: the EndpointSlices of functions at zero
		// name them.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(allFunctions), builder.WithPredicates(isActivator)).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(allFunctions), builder.WithPredicates(isConfig)).
		Named("function").
		Complete(fr)
	if err != nil {
		return err
	}

	ec, err := newEventConsumers(opts.Events, mgr.GetLogger().WithName("events"))
	if err != nil {
		return err
	}
	ec.kube, ec.reader = mgr.GetClient(), mgr.GetAPIReader()
	if err := mgr.Add(ec); err != nil {
		return err
	}
	for _, kind := range v1beta1.TriggerKinds() {
		rd, ok := renderers[kind]
		if !ok {
			return fmt.Errorf("no renderer for trigger kind %s", kind.Kind)
		}
		err := mgr.GetFieldIndexer().IndexField(ctx, kind.New(), functionNameField, func(o client.Object) []string {
			if t, ok := o.(v1beta1.Trigger); ok {
				return []string{t.TargetFunction()}
			}
			return nil
		})
		if err != nil {
			return err
		}
		requests := func(l v1beta1.TriggerList) []reconcile.Request {
			var reqs []reconcile.Request
			for _, t := range l.Triggers() {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(t)})
			}
			return reqs
		}
		triggersOf := func(ctx context.Context, o client.Object) []reconcile.Request {
			l := kind.NewList()
			if err := mgr.GetClient().List(ctx, l, client.InNamespace(o.GetNamespace()), client.MatchingFields{functionNameField: o.GetName()}); err != nil {
				return nil
			}
			return requests(l)
		}
		allTriggers := func(ctx context.Context, _ client.Object) []reconcile.Request {
			l := kind.NewList()
			if err := mgr.GetClient().List(ctx, l); err != nil {
				return nil
			}
			return requests(l)
		}
		tr := &TriggerReconciler{
			Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("kubeless-controller"),
			Kind: kind.Kind, config: src, applier: ap, events: ec,
		}
		b := ctrl.NewControllerManagedBy(mgr).
			For(kind.New()).
			Named(kind.Kind)
		if rd.events {
			// A trigger may select any function of its namespace by its
			// labels; its consumers' state changes come through notify.
			b = b.Watches(&v1beta1.Function{}, handler.EnqueueRequestsFromMapFunc(eventTriggersOf(mgr, kind))).
				WatchesRawSource(source.Channel(ec.notify[kind.Kind], &handler.EnqueueRequestForObject{}))
		} else {
			b = b.Watches(&v1beta1.Function{}, handler.EnqueueRequestsFromMapFunc(triggersOf))
		}
		if rd.owned != nil {
			b = b.Owns(rd.owned())
		}
		if rd.usesConfig {
			// What it renders comes from kubeless-config (for a CronJob,
			// the provision image and cluster domain).
			b = b.Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(allTriggers), builder.WithPredicates(isConfig))
		}
		c, err := b.Build(tr)
		if err != nil {
			return err
		}
		// The companions' kinds (Traefik's Middleware) are watched once
		// the cluster serves them, like the trigger's own object.
		for _, gvk := range rd.companionKinds {
			owner := kind.New()
			err := mgr.Add(&kindWatch{
				gvk: gvk, mapper: mgr.GetRESTMapper(), every: opts.KindPoll,
				log: mgr.GetLogger().WithValues("controller", kind.Kind),
				watch: func(obj *unstructured.Unstructured) error {
					return c.Watch(source.Kind[client.Object](mgr.GetCache(), obj,
						handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), owner, handler.OnlyControllerOwner())))
				},
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// CacheOptions are the manager's cache options. Only objects labelled
// created-by=kubeless are cached (every object the controller makes carries
// it; one that does not is checked through the API server), except the
// Kubeless resources themselves and the ConfigMaps of kubeless-config's
// namespace, so that the controller's memory grows with the functions, not
// with the cluster. When namespace is not "" (the functions-namespace key),
// only that namespace is watched, plus kubeless-config's.
func CacheOptions(namespace string, config types.NamespacedName) cache.Options {
	if config.Name == "" {
		config = DefaultConfig
	}
	ours := labels.SelectorFromSet(labels.Set{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless})
	all := cache.ByObject{Label: labels.Everything()}
	o := cache.Options{
		DefaultLabelSelector: ours,
		ByObject: map[client.Object]cache.ByObject{
			&v1beta1.Function{}: all,
		},
	}
	for _, k := range v1beta1.TriggerKinds() {
		o.ByObject[k.New()] = all
	}
	cms := map[string]cache.Config{cache.AllNamespaces: {LabelSelector: ours}}
	if namespace != "" {
		o.DefaultNamespaces = map[string]cache.Config{namespace: {}, config.Namespace: {}}
		cms = map[string]cache.Config{namespace: {LabelSelector: ours}}
	}
	cms[config.Namespace] = cache.Config{LabelSelector: labels.Everything()}
	o.ByObject[&corev1.ConfigMap{}] = cache.ByObject{Namespaces: cms}
	return o
}
