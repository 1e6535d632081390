package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/render"
)

// functionNameField indexes triggers by spec.function-name, so that a
// Function's change reaches the triggers that name it.
const functionNameField = "spec.function-name"

// renderer makes the object that runs the triggers of one kind on
// Kubernetes, owned by the trigger. Adding a trigger kind adds its
// renderer to renderers.
type renderer struct {
	// owned returns an empty object of the type render makes, named by
	// object in messages.
	owned  func() client.Object
	object string
	// usesConfig: render reads kubeless-config (the trigger is rendered
	// again when it changes).
	usesConfig bool
	render     func(t v1beta1.Trigger, fn *v1beta1.Function, cfg render.Config) (client.Object, error)
	// replace, when set, runs before the object is applied: it removes
	// what the original Kubeless made for the trigger under another name.
	replace func(ctx context.Context, a *applier, t v1beta1.Trigger) error
	// unsupported, when set, is the message of the Ready condition of a
	// kind that this engine does not run yet (owned and render are nil).
	unsupported string
	// events: the kind's triggers are run by the controller's consumers
	// (ensureEvents), which make no object.
	events bool
	// companions, when set, returns the objects that the trigger's object
	// needs beside it (an HTTPTrigger's Traefik Middlewares), applied
	// before it and owned by the trigger (none when fn is nil), and those
	// it may have made before and no longer wants (named, without
	// content), to delete, judging by existing, its object as it is (nil
	// when there is none). Their kinds may be absent from the cluster (a
	// CRD of the gateway's).
	companions func(t v1beta1.Trigger, fn *v1beta1.Function, existing client.Object) (want, stale []client.Object)
	// companionKinds are the kinds companions makes: the controller
	// watches those the cluster has (their CRDs installed when it starts),
	// so that an edited or deleted one is put back at once.
	companionKinds []schema.GroupVersionKind
}

// eventRenderer is the renderer of an event trigger kind that the
// controller's consumers run (events.go).
var eventRenderer = renderer{events: true, usesConfig: true}

// renderers are the renderer of each trigger kind.
var renderers = map[*v1beta1.TriggerKind]renderer{
	v1beta1.HTTPTriggerKind: {
		owned:  func() client.Object { return &networkingv1.Ingress{} },
		object: "Ingress",
		render: func(t v1beta1.Trigger, fn *v1beta1.Function, _ render.Config) (client.Object, error) {
			return render.Ingress(t.(*v1beta1.HTTPTrigger), fn)
		},
		companions:     httpTriggerCompanions,
		companionKinds: []schema.GroupVersionKind{render.TraefikMiddlewareGVK},
	},
	v1beta1.CronJobTriggerKind: {
		owned:      func() client.Object { return &batchv1.CronJob{} },
		object:     "CronJob",
		usesConfig: true,
		render: func(t v1beta1.Trigger, fn *v1beta1.Function, cfg render.Config) (client.Object, error) {
			return render.CronJob(t.(*v1beta1.CronJobTrigger), fn, cfg)
		},
		replace: func(ctx context.Context, a *applier, t v1beta1.Trigger) error {
			return a.replaceOriginalCronJob(ctx, t.(*v1beta1.CronJobTrigger))
		},
	},
	v1beta1.KafkaTriggerKind:   eventRenderer,
	v1beta1.NATSTriggerKind:    eventRenderer,
	v1beta1.KinesisTriggerKind: eventRenderer,
}

// triggerKind returns the trigger kind named kind and its renderer.
func triggerKind(kind string) (*v1beta1.TriggerKind, renderer, error) {
	for _, k := range v1beta1.TriggerKinds() {
		if k.Kind == kind {
			if r, ok := renderers[k]; ok {
				return k, r, nil
			}
			return nil, renderer{}, fmt.Errorf("no renderer for trigger kind %q", kind)
		}
	}
	return nil, renderer{}, fmt.Errorf("unknown trigger kind %q", kind)
}

// TriggerReconciler makes the object of a trigger with its kind's renderer
// (the Ingress of an HTTPTrigger, the CronJob of a CronJobTrigger,
// docs/compatibility.md §1.3, §1.4), owned by the trigger. A
// trigger whose function-name names no Function in its namespace gets the
// Ready condition False with reason FunctionNotFound and a Warning Event;
// it is reconciled again when that Function appears.
type TriggerReconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	// Kind is the trigger kind, for example "HTTPTrigger".
	Kind    string
	config  *configSource
	applier *applier
	events  *eventConsumers
}

// Reconcile brings one trigger's object and status up to date.
func (r *TriggerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	kind, rd, err := triggerKind(r.Kind)
	if err != nil {
		return ctrl.Result{}, err
	}
	t := kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, t); err != nil {
		if apierrors.IsNotFound(err) && rd.events {
			r.events.stop(r.Kind, req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if err := removeOriginalFinalizers(ctx, r.Client, t, originalHTTPTriggerFinalizer, originalCronJobTriggerFinalizer); err != nil {
		return ctrl.Result{}, err
	}
	if !t.GetDeletionTimestamp().IsZero() {
		if rd.events {
			r.events.stop(r.Kind, req.NamespacedName)
		}
		return ctrl.Result{}, nil
	}
	cond, err := r.ensure(ctx, t, rd)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.setStatus(ctx, t, cond)
}

func (r *TriggerReconciler) ensure(ctx context.Context, t v1beta1.Trigger, rd renderer) (metav1.Condition, error) {
	if rd.unsupported != "" {
		return falseCondition(v1beta1.ReasonUnsupported, rd.unsupported), nil
	}
	if rd.events {
		return r.ensureEvents(ctx, t.(v1beta1.EventTrigger))
	}
	var fn v1beta1.Function
	ns, functionName := t.GetNamespace(), t.TargetFunction()
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: functionName}, &fn)
	if apierrors.IsNotFound(err) {
		// Its object would fail (a CronJob on every schedule, an Ingress
		// with 503): remove it until the function exists (again).
		existing, err := r.existing(ctx, rd, t)
		if err != nil {
			return metav1.Condition{}, err
		}
		if existing != nil {
			if err := r.applier.deleteIfOwned(ctx, existing.DeepCopyObject().(client.Object), t); err != nil {
				return metav1.Condition{}, err
			}
		}
		if err := r.deleteCompanions(ctx, t, rd, nil, existing); err != nil {
			return metav1.Condition{}, err
		}
		return falseCondition(v1beta1.ReasonFunctionNotFound, fmt.Sprintf(
			"function %q does not exist in namespace %s: deploy it (kubeless function deploy %s -n %s) or fix spec.function-name",
			functionName, ns, functionName, ns)), nil
	}
	if err != nil {
		return metav1.Condition{}, err
	}
	var cfg render.Config
	if rd.usesConfig {
		st, lerr := r.config.load(ctx)
		if lerr != nil {
			var ce *configError
			if errors.As(lerr, &ce) {
				return falseCondition(v1beta1.ReasonInvalidConfig, lerr.Error()), nil
			}
			return metav1.Condition{}, lerr
		}
		cfg = st.render
	}
	obj, err := rd.render(t, &fn, cfg)
	if err != nil {
		if reason := render.Reason(err); reason != "" {
			return falseCondition(reason, err.Error()), nil
		}
		return metav1.Condition{}, err
	}
	if rd.replace != nil {
		if err := rd.replace(ctx, r.applier, t); err != nil {
			return metav1.Condition{}, err
		}
	}
	var want []client.Object
	var existing client.Object
	if rd.companions != nil {
		if existing, err = r.existing(ctx, rd, t); err != nil {
			return metav1.Condition{}, err
		}
		want, _ = rd.companions(t, &fn, existing)
	}
	for _, c := range want {
		if _, err := r.applier.apply(ctx, c, t); err != nil {
			if cond, ok := missingKind(c, err); ok {
				return cond, nil
			}
			if cond, ok := refused(c, err); ok {
				return cond, nil
			}
			return metav1.Condition{}, err
		}
	}
	if err := r.deleteCompanions(ctx, t, rd, &fn, existing); err != nil {
		return metav1.Condition{}, err
	}
	if _, err := r.applier.apply(ctx, obj, t); err != nil {
		if cond, ok := refused(obj, err); ok {
			return cond, nil
		}
		return metav1.Condition{}, err
	}
	return metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonReady,
		Message: fmt.Sprintf("%s %s calls function %s", rd.object, obj.GetName(), fn.Name)}, nil
}

// existing returns t's object as the client has it, nil when there is none.
func (r *TriggerReconciler) existing(ctx context.Context, rd renderer, t v1beta1.Trigger) (client.Object, error) {
	obj := rd.owned()
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: t.GetNamespace(), Name: t.GetName()}, obj)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// deleteCompanions deletes the stale companions of t (for fn, nil when the
// function is gone) that t controls; a kind that the cluster does not have
// has none.
func (r *TriggerReconciler) deleteCompanions(ctx context.Context, t v1beta1.Trigger, rd renderer, fn *v1beta1.Function, existing client.Object) error {
	if rd.companions == nil {
		return nil
	}
	_, stale := rd.companions(t, fn, existing)
	for _, c := range stale {
		if err := r.applier.deleteIfOwned(ctx, c, t); err != nil && !meta.IsNoMatchError(err) {
			return err
		}
	}
	return nil
}

// httpTriggerCompanions are the Traefik Middlewares of an HTTPTrigger with
// gateway traefik (render.TraefikMiddlewares). Those not wanted are stale
// when some are wanted or when the Ingress chains Middlewares (the trigger
// was a traefik one): so the triggers of other gateways cost no lookup of
// a kind that the cluster may not have.
func httpTriggerCompanions(t v1beta1.Trigger, fn *v1beta1.Function, existing client.Object) (want, stale []client.Object) {
	tr := t.(*v1beta1.HTTPTrigger)
	if fn != nil {
		for _, m := range render.TraefikMiddlewares(tr, fn) {
			want = append(want, m)
		}
	}
	if len(want) == 0 && (existing == nil || existing.GetAnnotations()[render.AnnotationTraefikMiddlewares] == "") {
		return want, nil
	}
	for _, name := range render.TraefikMiddlewareNames(tr) {
		if slices.ContainsFunc(want, func(w client.Object) bool { return w.GetName() == name }) {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(render.TraefikMiddlewareGVK)
		u.SetNamespace(tr.Namespace)
		u.SetName(name)
		stale = append(stale, u)
	}
	return want, stale
}

// missingKind is the Ready condition of a trigger whose companion's kind
// the cluster does not have (its CRD is not installed).
func missingKind(obj client.Object, err error) (metav1.Condition, bool) {
	if !meta.IsNoMatchError(err) {
		return metav1.Condition{}, false
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk == render.TraefikMiddlewareGVK {
		return falseCondition(v1beta1.ReasonUnsupported, fmt.Sprintf(
			"gateway traefik needs Traefik's Middleware CRD (%s), which this cluster does not have: install Traefik (v2.10 or later) with its CRDs, or choose another gateway",
			gvk.GroupVersion())), true
	}
	return falseCondition(v1beta1.ReasonUnsupported, fmt.Sprintf("this cluster has no %s (%s): install its CRD", gvk.Kind, gvk.GroupVersion())), true
}

func (r *TriggerReconciler) setStatus(ctx context.Context, t v1beta1.Trigger, cond metav1.Condition) error {
	orig := t.DeepCopyObject().(client.Object)
	s := t.TriggerStatus()
	oldStatus := *s.DeepCopy()
	old := meta.FindStatusCondition(s.Conditions, v1beta1.ConditionReady)
	changed := old == nil || old.Reason != cond.Reason || old.Message != cond.Message
	cond.ObservedGeneration = t.GetGeneration()
	meta.SetStatusCondition(&s.Conditions, cond)
	s.ObservedGeneration = t.GetGeneration()
	if equality.Semantic.DeepEqual(oldStatus, *s) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, t, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(err)
	}
	if changed {
		recordCondition(ctx, r.Recorder, t, cond)
	}
	return nil
}
