package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/render"
	"github.com/kubeless/kubeless/internal/source"
)

// FunctionReconciler makes a Function's ConfigMap, Service, Deployment and
// HorizontalPodAutoscaler (docs/compatibility.md §3), owned by the Function
// so that deleting it deletes them, and reports in its status whether its
// pods are ready and, when not, why.
//
// Bad input (unknown runtime, malformed handler, unknown content type,
// checksum mismatch, a deployment template that does not decode or that
// asks for more than the restricted Pod Security Standard without
// kubeless-config's function-pod-allow, an unreadable kubeless-config)
// changes nothing: the Ready condition is False
// with the reason and a message that says what to fix, a Warning Event is
// recorded once, and the Function is not retried until it (or the
// ConfigMap) changes.
type FunctionReconciler struct {
	Client   client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	config   *configSource
	applier  *applier
	zero     *zero
}

// Reconcile brings one Function's objects and status up to date.
func (r *FunctionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var fn v1beta1.Function
	if err := r.Client.Get(ctx, req.NamespacedName, &fn); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// The original controller put a finalizer on every Function and
	// deleted the children itself. Owner references do that here, so a
	// Function made by the original loses its finalizer and can be deleted
	// even when no controller runs.
	if controllerutil.ContainsFinalizer(&fn, v1beta1.FunctionFinalizer) {
		// Optimistic lock: a merge patch replaces the whole list, so a
		// finalizer added meanwhile must not be lost.
		patch := client.MergeFromWithOptions(fn.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.RemoveFinalizer(&fn, v1beta1.FunctionFinalizer)
		if err := r.Client.Patch(ctx, &fn, patch); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if !fn.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	// ensure may add a scale event to fn's status: the status patch is
	// made against fn as read.
	orig := fn.DeepCopy()
	cond, d, again, err := r.ensure(ctx, &fn)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: again}, r.setStatus(ctx, orig, &fn, cond, d, r.substitution(ctx, &fn))
}

// substitution is the note "python3.7 runs on python3.9" when fn's runtime
// is a name of the original's catalog served by another version, else "".
func (r *FunctionReconciler) substitution(ctx context.Context, fn *v1beta1.Function) string {
	st, err := r.config.load(ctx)
	if err != nil {
		return ""
	}
	entry, err := render.Lookup(st.catalog, fn)
	if err != nil {
		return ""
	}
	return entry.Substitution()
}

// ensure renders and applies fn's objects. It returns the Ready condition,
// fn's Deployment as the API server has it (nil when it was not applied),
// and when to look again (0: at the next event). An error is a failure
// worth a retry.
func (r *FunctionReconciler) ensure(ctx context.Context, fn *v1beta1.Function) (metav1.Condition, *appsv1.Deployment, time.Duration, error) {
	cond, d, objs, err := r.ensureObjects(ctx, fn)
	if err != nil || d == nil {
		return cond, d, 0, err
	}
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(fn.Namespace), client.MatchingLabels(render.SelectorLabels(fn))); err != nil {
		return metav1.Condition{}, nil, 0, err
	}
	key := types.NamespacedName{Namespace: fn.Namespace, Name: fn.Name}
	if r.zero == nil || !render.ScalesToZero(fn) {
		if r.zero != nil {
			r.zero.forget(key)
		}
		if err := r.applier.deleteIfOwned(ctx, endpointSlice(fn), fn); err != nil {
			return metav1.Condition{}, nil, 0, err
		}
		return podsCondition(d, pods.Items), d, 0, nil
	}
	again, err := r.route(ctx, fn, objs.service, d, pods.Items, objs.activatorPort)
	if err != nil {
		return metav1.Condition{}, nil, 0, err
	}
	return zeroCondition(d, pods.Items), d, again, nil
}

// ensureObjects renders and applies fn's objects but the EndpointSlice. It
// returns a condition only when something kept them from being applied.
func (r *FunctionReconciler) ensureObjects(ctx context.Context, fn *v1beta1.Function) (metav1.Condition, *appsv1.Deployment, *functionObjects, error) {
	st, err := r.config.load(ctx)
	if err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			return falseCondition(v1beta1.ReasonInvalidConfig, err.Error()), nil, nil, nil
		}
		return metav1.Condition{}, nil, nil, err
	}
	objs, err := renderFunction(fn, st)
	if err != nil {
		if reason := render.Reason(err); reason != "" {
			return falseCondition(reason, err.Error()), nil, nil, nil
		}
		return metav1.Condition{}, nil, nil, err
	}
	if objs.hpa != nil {
		replicas, rv, err := r.replicasUnderAutoscaler(ctx, objs.deployment)
		if err != nil {
			return metav1.Condition{}, nil, nil, err
		}
		objs.deployment.Spec.Replicas = replicas
		// Applied on that version only: if the autoscaler scales
		// meanwhile, the apply fails with a conflict and is retried with
		// what the autoscaler set.
		objs.deployment.ResourceVersion = rv
	}
	if r.zero != nil && render.ScalesToZero(fn) {
		if objs.activatorPort, err = r.zero.port(ctx, fn); err != nil {
			return falseCondition(v1beta1.ReasonInvalidAutoscaler, err.Error()), nil, nil, nil
		}
		if objs.service.Annotations == nil {
			objs.service.Annotations = map[string]string{}
		}
		objs.service.Annotations[v1beta1.AnnotationActivatorPort] = strconv.Itoa(int(objs.activatorPort))
	}
	var d *appsv1.Deployment
	for _, obj := range objs.list() {
		u, err := r.applier.apply(ctx, obj, fn)
		if cond, ok := refused(obj, err); ok {
			return cond, nil, nil, nil
		}
		if err != nil {
			return metav1.Condition{}, nil, nil, err
		}
		if _, ok := obj.(*appsv1.Deployment); ok {
			d = &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
				return metav1.Condition{}, nil, nil, err
			}
		}
	}
	if objs.hpa == nil {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: fn.Namespace, Name: fn.Name}}
		if err := r.applier.deleteIfOwned(ctx, hpa, fn); err != nil {
			return metav1.Condition{}, nil, nil, err
		}
	}
	return metav1.Condition{}, d, objs, nil
}

// replicasUnderAutoscaler is the replicas to apply to d while an autoscaler
// exists. Once another manager (the autoscaler, kubectl scale) has set
// them, none: the field is theirs. Before that, the live value, with the
// resourceVersion it was read at: applying none would drop a field the
// controller alone owned, and the Deployment would fall back to 1 pod. It
// reads the API server, not the cache.
func (r *FunctionReconciler) replicasUnderAutoscaler(ctx context.Context, d *appsv1.Deployment) (*int32, string, error) {
	var live appsv1.Deployment
	reader := client.Reader(r.Client)
	if r.applier.reader != nil {
		reader = r.applier.reader
	}
	err := reader.Get(ctx, client.ObjectKeyFromObject(d), &live)
	if apierrors.IsNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	for _, mf := range live.ManagedFields {
		if mf.Manager == FieldOwner || mf.FieldsV1 == nil {
			continue
		}
		var fields map[string]map[string]any
		if json.Unmarshal(mf.FieldsV1.Raw, &fields) == nil {
			if _, ok := fields["f:spec"]["f:replicas"]; ok {
				return nil, "", nil
			}
		}
	}
	return live.Spec.Replicas, live.ResourceVersion, nil
}

// functionObjects are the rendered objects of a Function.
type functionObjects struct {
	configMap  *corev1.ConfigMap
	service    *corev1.Service
	deployment *appsv1.Deployment
	hpa        *autoscalingv2.HorizontalPodAutoscaler // nil: no autoscaling
	// activatorPort is the function's port on the activator (0: it does
	// not scale to zero).
	activatorPort int32
}

// list returns the objects in the order they are applied: the pods read
// the ConfigMap, so it goes first.
func (o *functionObjects) list() []client.Object {
	l := []client.Object{o.configMap, o.service, o.deployment}
	if o.hpa != nil {
		l = append(l, o.hpa)
	}
	return l
}

// renderFunction builds every object of fn before any is applied, so that
// bad input changes nothing. Errors with a render.Reason are bad input.
func renderFunction(fn *v1beta1.Function, st *settings) (*functionObjects, error) {
	entry, err := render.Lookup(st.catalog, fn)
	if err != nil {
		return nil, err
	}
	if err := verifyInline(fn); err != nil {
		return nil, err
	}
	// The Function's own template, not kubeless-config's (the
	// administrator's).
	if err := render.CheckTemplate(fn, st.podAllow); err != nil {
		return nil, err
	}
	merged, err := withSharedTemplate(fn, st.deployment)
	if err != nil {
		return nil, &render.Error{Reason: v1beta1.ReasonInvalidDeployment, Err: err}
	}
	o := &functionObjects{}
	if o.configMap, err = render.ConfigMap(merged, entry); err != nil {
		return nil, err
	}
	if o.service, err = render.Service(merged); err != nil {
		return nil, err
	}
	if o.deployment, err = render.Deployment(merged, entry, st.render); err != nil {
		return nil, err
	}
	if o.hpa, err = render.HPA(merged); err != nil {
		return nil, err
	}
	return o, nil
}

// verifyInline decodes code carried in the Function (text or base64) and
// checks it against spec.checksum, so that a mismatch shows in the status
// at once. Code behind a URL is checked by the prepare init container, and
// a mismatch there shows as InitContainerFailed with its message.
func verifyInline(fn *v1beta1.Function) error {
	ct, err := render.ContentType(fn)
	if err != nil {
		return err
	}
	if ct.Encoding == source.EncodingURL || fn.Spec.Function == "" {
		return nil
	}
	_, err = source.Decode(context.Background(), fn.Spec.Function, ct, fn.Spec.Checksum, nil)
	var mismatch *source.ChecksumMismatchError
	var format *source.ChecksumFormatError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mismatch), errors.As(err, &format):
		return &render.Error{Reason: v1beta1.ReasonInvalidChecksum, Err: err}
	default:
		return &render.Error{Reason: v1beta1.ReasonInvalidContentType, Err: err}
	}
}

// refused turns an apply error that no retry can fix into the Ready
// condition: an object named like the function that Kubeless did not make,
// or an object the API server refuses (a template with invalid values, such
// as a bad resource quantity or a too long port name).
func refused(obj client.Object, err error) (metav1.Condition, bool) {
	var ce *conflictError
	if errors.As(err, &ce) {
		return falseCondition(v1beta1.ReasonConflict, err.Error()), true
	}
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsRequestEntityTooLargeError(err) {
		reason := v1beta1.ReasonInvalidDeployment
		switch obj.(type) {
		case *autoscalingv2.HorizontalPodAutoscaler:
			reason = v1beta1.ReasonInvalidAutoscaler
		case *appsv1.Deployment, *corev1.ConfigMap, *corev1.Service:
		default:
			reason = v1beta1.ReasonInvalidTrigger
		}
		return falseCondition(reason, fmt.Sprintf("the API server refused the %T: %v", obj, err)), true
	}
	return metav1.Condition{}, false
}

func falseCondition(reason, msg string) metav1.Condition {
	return metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: msg}
}

// setStatus writes cond, observedGeneration and the replica counts, and
// records an Event when the Ready condition changes.
func (r *FunctionReconciler) setStatus(ctx context.Context, orig, fn *v1beta1.Function, cond metav1.Condition, d *appsv1.Deployment, substitution string) error {
	old := meta.FindStatusCondition(orig.Status.Conditions, v1beta1.ConditionReady)
	cond.ObservedGeneration = fn.Generation
	meta.SetStatusCondition(&fn.Status.Conditions, cond)
	fn.Status.SetRuntimeSubstitution(substitution, fn.Generation)
	fn.Status.ObservedGeneration = fn.Generation
	if d != nil {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		fn.Status.SetReplicas(want, d.Status.ReadyReplicas)
	}
	if equality.Semantic.DeepEqual(orig.Status, fn.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, fn, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(err)
	}
	// One Event per new reason: a crash loop or an image pull back-off
	// changes the message's details on every retry, and must not flood.
	if old == nil || old.Reason != cond.Reason || old.Status != cond.Status {
		recordCondition(ctx, r.Recorder, fn, cond)
	}
	return nil
}

// recordCondition records an Event for a new Ready condition: Warning for
// False, Normal otherwise.
func recordCondition(ctx context.Context, rec events.EventRecorder, obj runtime.Object, cond metav1.Condition) {
	typ := corev1.EventTypeNormal
	if cond.Status == metav1.ConditionFalse {
		typ = corev1.EventTypeWarning
		log.FromContext(ctx).Info("not ready", "reason", cond.Reason, "message", cond.Message)
	}
	if rec != nil {
		// events.k8s.io refuses notes over 1 KiB.
		note := cond.Message
		if len(note) > 1000 {
			note = note[:997] + "..."
		}
		rec.Eventf(obj, nil, typ, cond.Reason, "Reconcile", "%s", note)
	}
}
