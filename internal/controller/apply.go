package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// FieldOwner is the field manager of everything the controller applies.
const FieldOwner = "kubeless-controller"

// conflictError is an object named like the one the controller makes that
// Kubeless did not make: the controller leaves it alone.
type conflictError struct {
	kind, namespace, name string
}

func (e *conflictError) Error() string {
	return fmt.Sprintf("a %s named %s already exists in namespace %s and was not made by Kubeless: rename or delete it", e.kind, e.name, e.namespace)
}

// applier applies rendered objects with server-side apply: the controller
// owns exactly the fields it renders, so fields that others manage (an
// autoscaler's replicas, a user's extra annotations) are left alone, and a
// field that the function stops setting is removed.
type applier struct {
	client client.Client
	// reader reads from the API server, past the cache (may be nil).
	reader client.Reader
	scheme *runtime.Scheme
}

// adoptable reports whether existing, an object named like one owner needs,
// may be taken over: it is controlled by owner, or by an earlier object of
// owner's kind and name (deleted and made again before the garbage
// collector ran), or by nothing and either labelled created-by=kubeless or
// owned (without controlling it) by owner itself. The last two are the
// objects of the original Kubeless: its controllers set plain owner
// references, and its trigger controllers gave an Ingress the trigger's
// labels only. Anything else belongs to someone else.
func (a *applier) adoptable(existing client.Object, owner metav1.Object) bool {
	ref := metav1.GetControllerOf(existing)
	if ref == nil {
		if existing.GetLabels()[v1beta1.LabelCreatedBy] == v1beta1.CreatedByKubeless {
			return true
		}
		for _, r := range existing.GetOwnerReferences() {
			if r.UID == owner.GetUID() {
				return true
			}
		}
		return false
	}
	if ref.UID == owner.GetUID() {
		return true
	}
	ro, ok := owner.(runtime.Object)
	if !ok {
		return false
	}
	gvk, err := apiutil.GVKForObject(ro, a.scheme)
	return err == nil && ref.Name == owner.GetName() && ref.Kind == gvk.Kind && ref.APIVersion == gvk.GroupVersion().String()
}

// apply creates or updates obj, the desired state of an object owned by
// owner, and returns the object as the API server has it. An existing object of that name that neither owner controls nor
// carries created-by=kubeless is a *conflictError.
func (a *applier) apply(ctx context.Context, obj client.Object, owner metav1.Object) (*unstructured.Unstructured, error) {
	gvk, err := apiutil.GVKForObject(obj, a.scheme)
	if err != nil {
		return nil, err
	}
	existing := obj.DeepCopyObject().(client.Object)
	err = a.client.Get(ctx, client.ObjectKeyFromObject(obj), existing)
	if apierrors.IsNotFound(err) && a.reader != nil {
		// The cache may not have seen an object created a moment ago: ask
		// the API server before creating (and owning) one.
		err = a.reader.Get(ctx, client.ObjectKeyFromObject(obj), existing)
	}
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, err
	default:
		if !a.adoptable(existing, owner) {
			return nil, &conflictError{kind: gvk.Kind, namespace: obj.GetNamespace(), name: obj.GetName()}
		}
		// An earlier Function of this name still controls it: drop that
		// reference first, as an object has only one controller.
		if ref := metav1.GetControllerOf(existing); ref != nil && ref.UID != owner.GetUID() {
			patch := client.MergeFromWithOptions(existing.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
			var keep []metav1.OwnerReference
			for _, r := range existing.GetOwnerReferences() {
				if r.UID != ref.UID {
					keep = append(keep, r)
				}
			}
			existing.SetOwnerReferences(keep)
			if err := a.client.Patch(ctx, existing, patch); err != nil {
				return nil, err
			}
		}
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	pruneNulls(m)
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return nil, err
	}
	return u, nil
}

// pruneNulls drops the null values (zero timestamps and the like) that the
// typed objects carry, so that the apply does not claim them.
func pruneNulls(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			pruneNulls(v)
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					pruneNulls(em)
				}
			}
		}
	}
}

// deleteIfOwned deletes the object of obj's kind and key when owner
// controls it.
func (a *applier) deleteIfOwned(ctx context.Context, obj client.Object, owner metav1.Object) error {
	err := a.client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ref := metav1.GetControllerOf(obj); ref == nil || ref.UID != owner.GetUID() {
		return nil
	}
	return client.IgnoreNotFound(a.client.Delete(ctx, obj))
}
