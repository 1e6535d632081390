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
	scheme *runtime.Scheme
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
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, err
	default:
		ref := metav1.GetControllerOf(existing)
		ours := ref != nil && ref.UID == owner.GetUID()
		if !ours && existing.GetLabels()[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless {
			return nil, &conflictError{kind: gvk.Kind, namespace: obj.GetNamespace(), name: obj.GetName()}
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
