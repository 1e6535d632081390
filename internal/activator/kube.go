package activator

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// FieldOwner is the field manager of the activator's writes (the replicas
// of a Deployment, through its scale subresource).
const FieldOwner = "kubeless-activator"

// KubeWaker wakes functions of a Kubernetes cluster: it sets a Deployment
// at zero replicas to one through the scale subresource (a
// HorizontalPodAutoscaler leaves a Deployment at zero alone, and takes
// over from one), then waits for a ready pod of the function. It waits on
// pod events (Notify, called by a pod informer's handler), not by polling.
type KubeWaker struct {
	// Client reads Deployments and Pods (a cache-backed client is best)
	// and writes the scale subresource.
	Client client.Client

	mu      sync.Mutex
	changed map[string]chan struct{}
}

// Notify tells waiters that a pod of function name in ns changed.
func (k *KubeWaker) Notify(ns, name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := ns + "/" + name
	if ch, ok := k.changed[key]; ok {
		close(ch)
		delete(k.changed, key)
	}
}

// NotifyPod is Notify for a pod object (an informer handler's argument);
// pods Kubeless did not make are ignored.
func (k *KubeWaker) NotifyPod(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	l := m.GetLabels()
	if l[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless || l[v1beta1.LabelFunction] == "" {
		return
	}
	k.Notify(m.GetNamespace(), l[v1beta1.LabelFunction])
}

// changes returns a channel closed at the next Notify of the function.
func (k *KubeWaker) changes(ns, name string) <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.changed == nil {
		k.changed = map[string]chan struct{}{}
	}
	key := ns + "/" + name
	ch, ok := k.changed[key]
	if !ok {
		ch = make(chan struct{})
		k.changed[key] = ch
	}
	return ch
}

// Wake implements Waker.
func (k *KubeWaker) Wake(ctx context.Context, fn Function) (*url.URL, error) {
	for {
		// Taken before reading, so that a change after the read is not
		// missed.
		changed := k.changes(fn.Namespace, fn.Name)
		u, err := k.readyPod(ctx, fn)
		if u != nil || err != nil {
			return u, err
		}
		if err := k.scaleUp(ctx, fn); err != nil {
			return nil, err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// readyPod returns the URL of a ready pod of fn, nil when none is, or a
// *StartError when a pod cannot start.
func (k *KubeWaker) readyPod(ctx context.Context, fn Function) (*url.URL, error) {
	var pods corev1.PodList
	err := k.Client.List(ctx, &pods, client.InNamespace(fn.Namespace), client.MatchingLabels{
		v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, v1beta1.LabelFunction: fn.Name,
	})
	if err != nil {
		return nil, err
	}
	var problem string
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		if isReady(p) && p.Status.PodIP != "" {
			return &url.URL{Scheme: "http", Host: net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(fn.TargetPort)))}, nil
		}
		if problem == "" {
			problem = podProblem(p)
		}
	}
	if problem != "" {
		return nil, &StartError{Reason: problem}
	}
	return nil, nil
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// failing are the waiting reasons of a container that will not start by
// itself. ErrImageNeverPull (pull policy Never, the image not on the node)
// and ImageInspectError are what the controller's Ready condition calls
// ImageMissing too; without them a call waited for the hold timeout and got
// a 504 instead of the reason.
var failing = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"ErrImageNeverPull": true, "ImageInspectError": true, "CreateContainerError": true,
	"CrashLoopBackOff": true, "CreateContainerConfigError": true, "RunContainerError": true,
}

// podProblem says why p cannot start, or "".
func podProblem(p *corev1.Pod) string {
	check := func(kind string, statuses []corev1.ContainerStatus) string {
		for _, cs := range statuses {
			if w := cs.State.Waiting; w != nil && failing[w.Reason] {
				msg := fmt.Sprintf("pod %s: %s %s: %s", p.Name, kind, cs.Name, w.Reason)
				if w.Message != "" {
					msg += ": " + firstLine(w.Message)
				}
				return msg
			}
			if t := cs.State.Terminated; kind == "init container" && t != nil && t.ExitCode != 0 {
				msg := fmt.Sprintf("pod %s: init container %s failed (exit code %d)", p.Name, cs.Name, t.ExitCode)
				if t.Message != "" {
					msg += ": " + firstLine(t.Message)
				}
				return msg
			}
		}
		return ""
	}
	if s := check("init container", p.Status.InitContainerStatuses); s != "" {
		return s
	}
	return check("container", p.Status.ContainerStatuses)
}

// scaleUp sets fn's Deployment to one replica when it has none. The
// update carries the resourceVersion read, so that it never undoes a
// scale made meanwhile (by another activator replica, then the
// autoscaler): a conflict means someone else scaled it.
func (k *KubeWaker) scaleUp(ctx context.Context, fn Function) error {
	var d appsv1.Deployment
	err := k.Client.Get(ctx, client.ObjectKey{Namespace: fn.Namespace, Name: fn.Name}, &d)
	if apierrors.IsNotFound(err) {
		return &StartError{Reason: fmt.Sprintf("its Deployment %s/%s does not exist", fn.Namespace, fn.Name)}
	}
	if err != nil {
		return err
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas > 0 {
		return nil
	}
	scale := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: d.Name, ResourceVersion: d.ResourceVersion},
		Spec:       autoscalingv1.ScaleSpec{Replicas: 1},
	}
	err = k.Client.SubResource("scale").Update(ctx, &d, client.WithSubResourceBody(scale), client.FieldOwner(FieldOwner))
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}
