package controller

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// trigger is an HTTPTrigger or a CronJobTrigger with what the reconciler
// needs of it.
type trigger struct {
	obj          client.Object // *v1beta1.HTTPTrigger or *v1beta1.CronJobTrigger
	functionName string
	status       *v1beta1.TriggerStatus
}

func newTrigger(kind string) (trigger, error) {
	switch kind {
	case "HTTPTrigger":
		t := &v1beta1.HTTPTrigger{}
		return trigger{obj: t, status: &t.Status}, nil
	case "CronJobTrigger":
		t := &v1beta1.CronJobTrigger{}
		return trigger{obj: t, status: &t.Status}, nil
	}
	return trigger{}, fmt.Errorf("unknown trigger kind %q", kind)
}

// TriggerReconciler makes the Ingress of an HTTPTrigger or the CronJob of a
// CronJobTrigger (kubeless-reference.md §1.3, §1.4), owned by the trigger. A
// trigger whose function-name names no Function in its namespace gets the
// Ready condition False with reason FunctionNotFound and a Warning Event;
// it is reconciled again when that Function appears.
type TriggerReconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	// Kind is "HTTPTrigger" or "CronJobTrigger".
	Kind    string
	config  *configSource
	applier *applier
}

// Reconcile brings one trigger's object and status up to date.
func (r *TriggerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	t, err := newTrigger(r.Kind)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Client.Get(ctx, req.NamespacedName, t.obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	switch o := t.obj.(type) {
	case *v1beta1.HTTPTrigger:
		t.functionName = o.Spec.FunctionName
	case *v1beta1.CronJobTrigger:
		t.functionName = o.Spec.FunctionName
	}
	if !t.obj.GetDeletionTimestamp().IsZero() {
		return ctrl.Result{}, nil
	}
	cond, err := r.ensure(ctx, t)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.setStatus(ctx, t, cond)
}

func (r *TriggerReconciler) ensure(ctx context.Context, t trigger) (metav1.Condition, error) {
	var fn v1beta1.Function
	ns := t.obj.GetNamespace()
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: t.functionName}, &fn)
	if apierrors.IsNotFound(err) {
		// Its CronJob would fail on every schedule and its Ingress answer
		// 503: remove them until the function exists (again).
		var owned client.Object = &networkingv1.Ingress{}
		if _, cron := t.obj.(*v1beta1.CronJobTrigger); cron {
			owned = &batchv1.CronJob{}
		}
		owned.SetNamespace(ns)
		owned.SetName(t.obj.GetName())
		if err := r.applier.deleteIfOwned(ctx, owned, t.obj); err != nil {
			return metav1.Condition{}, err
		}
		return falseCondition(v1beta1.ReasonFunctionNotFound, fmt.Sprintf(
			"function %q does not exist in namespace %s: deploy it (kubeless function deploy %s -n %s) or fix spec.function-name",
			t.functionName, ns, t.functionName, ns)), nil
	}
	if err != nil {
		return metav1.Condition{}, err
	}
	var obj client.Object
	switch o := t.obj.(type) {
	case *v1beta1.HTTPTrigger:
		obj, err = render.Ingress(o, &fn)
	case *v1beta1.CronJobTrigger:
		st, lerr := r.config.load(ctx)
		if lerr != nil {
			var ce *configError
			if errors.As(lerr, &ce) {
				return falseCondition(v1beta1.ReasonInvalidConfig, lerr.Error()), nil
			}
			return metav1.Condition{}, lerr
		}
		obj, err = render.CronJob(o, &fn, st.render)
	}
	if err != nil {
		if reason := render.Reason(err); reason != "" {
			return falseCondition(reason, err.Error()), nil
		}
		return metav1.Condition{}, err
	}
	if _, err := r.applier.apply(ctx, obj, t.obj); err != nil {
		if cond, ok := refused(obj, err); ok {
			return cond, nil
		}
		return metav1.Condition{}, err
	}
	what := "Ingress"
	if _, ok := obj.(*batchv1.CronJob); ok {
		what = "CronJob"
	}
	return metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonReady,
		Message: fmt.Sprintf("%s %s calls function %s", what, obj.GetName(), fn.Name)}, nil
}

func (r *TriggerReconciler) setStatus(ctx context.Context, t trigger, cond metav1.Condition) error {
	orig := t.obj.DeepCopyObject().(client.Object)
	s := t.status
	oldStatus := *s.DeepCopy()
	old := meta.FindStatusCondition(s.Conditions, v1beta1.ConditionReady)
	changed := old == nil || old.Reason != cond.Reason || old.Message != cond.Message
	cond.ObservedGeneration = t.obj.GetGeneration()
	meta.SetStatusCondition(&s.Conditions, cond)
	s.ObservedGeneration = t.obj.GetGeneration()
	if equality.Semantic.DeepEqual(oldStatus, *s) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, t.obj, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(err)
	}
	if changed {
		recordCondition(ctx, r.Recorder, t.obj, cond)
	}
	return nil
}
