package controller

import (
	"context"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// What the original Kubeless (v1.0.x) left that this controller takes over
// when it replaces it (docs/migration.md).
const (
	// The finalizers of the original's trigger controllers. With those
	// controllers gone, nothing would ever remove them and the triggers
	// could not be deleted; owner references do their work here.
	originalHTTPTriggerFinalizer    = "kubeless.io/httptrigger"
	originalCronJobTriggerFinalizer = "kubeless.io/cronjobtrigger"
	// originalCronJobPrefix: the original's cron trigger controller named
	// the CronJob of a trigger "trigger-<function>" (not after the
	// trigger), labelled it with the function's labels and
	// created-by=kubeless, and gave it a plain (non-controller) owner
	// reference of kind "Trigger" to the trigger.
	originalCronJobPrefix = "trigger-"
)

// removeOriginalFinalizers drops the finalizers of the original's
// controllers from obj (a Function or a trigger), with an optimistic lock:
// a merge patch replaces the whole list, so a finalizer added meanwhile
// must not be lost. obj is updated in place.
func removeOriginalFinalizers(ctx context.Context, c client.Client, obj client.Object, finalizers ...string) error {
	if !slices.ContainsFunc(finalizers, func(f string) bool { return controllerutil.ContainsFinalizer(obj, f) }) {
		return nil
	}
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	for _, f := range finalizers {
		controllerutil.RemoveFinalizer(obj, f)
	}
	return client.IgnoreNotFound(c.Patch(ctx, obj, patch))
}

// isOriginalCronJob reports whether cj is the CronJob that the original
// Kubeless made for a cron trigger of function fn, for trigger tr: named
// trigger-<function>, labelled created-by=kubeless, with no controller (this
// controller always sets one), and owned by tr (the same object: same UID)
// or by an object of the original's kind "Trigger" (a trigger since
// deleted and made again).
func isOriginalCronJob(cj *batchv1.CronJob, fn string, tr metav1.Object) bool {
	if cj.Name != originalCronJobPrefix+fn || cj.Labels[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless ||
		metav1.GetControllerOf(cj) != nil {
		return false
	}
	for _, ref := range cj.OwnerReferences {
		if ref.UID == tr.GetUID() || (ref.Kind == "Trigger" && ref.APIVersion == v1beta1.GroupVersion.String()) {
			return true
		}
	}
	return false
}

// replaceOriginalCronJob deletes the original's CronJob trigger-<function>
// of tr, before the trigger's own CronJob is applied, so that the schedule
// never fires twice (a missed run, if the apply then fails and is retried,
// is the lesser harm). Its jobs go with it (background propagation). A
// trigger named trigger-<function> keeps it: apply adopts it in place.
func (a *applier) replaceOriginalCronJob(ctx context.Context, tr *v1beta1.CronJobTrigger) error {
	name := originalCronJobPrefix + tr.Spec.FunctionName
	if tr.Name == name {
		return nil
	}
	var cj batchv1.CronJob
	key := types.NamespacedName{Namespace: tr.Namespace, Name: name}
	err := a.client.Get(ctx, key, &cj)
	if apierrors.IsNotFound(err) && a.reader != nil {
		err = a.reader.Get(ctx, key, &cj)
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isOriginalCronJob(&cj, tr.Spec.FunctionName, tr) {
		return nil
	}
	log.FromContext(ctx).Info("deleting the original Kubeless's CronJob of this trigger", "cronjob", name)
	uid := cj.UID
	err = a.client.Delete(ctx, &cj, client.PropagationPolicy(metav1.DeletePropagationBackground),
		client.Preconditions{UID: &uid})
	return client.IgnoreNotFound(err)
}
