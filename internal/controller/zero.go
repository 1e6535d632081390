package controller

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/render"
	"github.com/kubeless/kubeless/pkg/contract"
)

// Scale to zero on Kubernetes (docs/scale-to-zero.md). The Service of a
// function whose autoscaler has minReplicas 0 has no selector; the
// controller writes its EndpointSlice: the function's ready pods while its
// Deployment has replicas and some pod is ready, else the activator's
// ready pods on the function's own activator port (recorded in the
// Service's annotation kubeless.io/activator-port). The controller also
// decides idleness: it reads the ready pods' /metrics (function_calls_total
// and function_duration_seconds_count, whose difference is the calls in
// flight); when neither changed for the idle window and none is in flight,
// it points the EndpointSlice at the activator and then scales the
// Deployment to zero.

// ActivatorLabel, with created-by=kubeless, marks the activator's pods.
const ActivatorLabel = "kubeless-activator"

// idleFieldOwner is the field manager of the controller's scale to zero:
// not FieldOwner, so that replicas stay out of the controller's applies.
const idleFieldOwner = "kubeless-controller-idle"

// ZeroOptions configure scale to zero.
type ZeroOptions struct {
	// ActivatorNamespace is where the activator's pods run (default:
	// kubeless-config's namespace).
	ActivatorNamespace string
	// IdleWindow is the default idle window (60 s when 0); a function's
	// annotation kubeless.io/idle-window sets its own.
	IdleWindow time.Duration
	// ScrapeInterval is how often a warm function's pods are read
	// (10 s when 0, at most its idle window).
	ScrapeInterval time.Duration
	// PortBase and PortCount are the range of activator ports (20000 and
	// 10000 when 0).
	PortBase, PortCount int32
	// Transport carries the reads of the pods' /metrics (nil:
	// http.DefaultTransport).
	Transport http.RoundTripper
}

func (o *ZeroOptions) defaults(configNS string) {
	if o.ActivatorNamespace == "" {
		o.ActivatorNamespace = configNS
	}
	if o.IdleWindow <= 0 {
		o.IdleWindow = 60 * time.Second
	}
	if o.ScrapeInterval <= 0 {
		o.ScrapeInterval = 10 * time.Second
	}
	if o.PortBase <= 0 {
		o.PortBase = 20000
	}
	if o.PortCount <= 0 {
		o.PortCount = 10000
	}
}

// zero is the scale-to-zero state of the Function reconciler.
type zero struct {
	opts   ZeroOptions
	client client.Client
	http   *http.Client

	mu    sync.Mutex
	ports map[types.NamespacedName]int32 // allocated, possibly not yet in the cache
	seen  map[types.NamespacedName]activity
}

// activity is what the last reads of a function's pods found.
type activity struct {
	calls, done float64
	since       time.Time // when they last changed
}

func newZero(c client.Client, opts ZeroOptions) *zero {
	return &zero{opts: opts, client: c, http: &http.Client{Timeout: 5 * time.Second, Transport: opts.Transport},
		ports: map[types.NamespacedName]int32{}, seen: map[types.NamespacedName]activity{}}
}

// forget drops what is kept of a function that no longer scales to zero.
func (z *zero) forget(key types.NamespacedName) {
	z.mu.Lock()
	delete(z.ports, key)
	delete(z.seen, key)
	z.mu.Unlock()
}

// port returns fn's activator port: the one its Service has, else the
// lowest of the range that no other Service has.
func (z *zero) port(ctx context.Context, fn *v1beta1.Function) (int32, error) {
	key := types.NamespacedName{Namespace: fn.Namespace, Name: fn.Name}
	var svcs corev1.ServiceList
	if err := z.client.List(ctx, &svcs, client.MatchingLabels{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless}); err != nil {
		return 0, err
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	used := map[int32]bool{}
	for k, p := range z.ports {
		if k != key {
			used[p] = true
		}
	}
	for _, s := range svcs.Items {
		p, err := strconv.ParseInt(s.Annotations[v1beta1.AnnotationActivatorPort], 10, 32)
		if err != nil {
			continue
		}
		if s.Namespace == key.Namespace && s.Name == key.Name && !used[int32(p)] {
			z.ports[key] = int32(p)
			return int32(p), nil
		}
		used[int32(p)] = true
	}
	if p, ok := z.ports[key]; ok {
		return p, nil
	}
	for p := z.opts.PortBase; p < z.opts.PortBase+z.opts.PortCount; p++ {
		if !used[p] {
			z.ports[key] = p
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free activator port in %d-%d: every one serves a function that scales to zero", z.opts.PortBase, z.opts.PortBase+z.opts.PortCount-1)
}

// targetPort is the pods' port of svc's first port.
func targetPort(svc *corev1.Service) int32 {
	if len(svc.Spec.Ports) == 0 {
		return render.DefaultPort
	}
	p := svc.Spec.Ports[0]
	if tp := p.TargetPort.IntValue(); tp > 0 {
		return int32(tp)
	}
	return p.Port
}

func podReady(p *corev1.Pod) bool {
	ip := net.ParseIP(p.Status.PodIP)
	// An EndpointSlice takes IPv4 addresses, and no loopback or
	// link-local ones.
	if p.DeletionTimestamp != nil || ip.To4() == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// route writes fn's EndpointSlice, and scales fn's Deployment d to zero
// when its pods have been idle for the window. It returns when to look
// again (0: at the next event).
func (r *FunctionReconciler) route(ctx context.Context, fn *v1beta1.Function, svc *corev1.Service, d *appsv1.Deployment, pods []corev1.Pod, port int32) (time.Duration, error) {
	z := r.zero
	key := types.NamespacedName{Namespace: fn.Namespace, Name: fn.Name}
	var ready []string
	var readyPods []corev1.Pod
	for i := range pods {
		if podReady(&pods[i]) {
			ready = append(ready, pods[i].Status.PodIP)
			readyPods = append(readyPods, pods[i])
		}
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	if replicas == 0 || len(ready) == 0 {
		z.mu.Lock()
		delete(z.seen, key)
		z.mu.Unlock()
		return 0, r.toActivator(ctx, fn, svc, port)
	}
	if _, err := r.applier.apply(ctx, render.EndpointSlice(fn, svc, readyPods, targetPort(svc)), fn); err != nil {
		return 0, err
	}
	h, _ := fn.Spec.Autoscaler()
	window, err := backend.IdleWindow(h)
	if err != nil || window == 0 {
		window = z.opts.IdleWindow
	}
	idleFor := z.observe(ctx, key, ready, targetPort(svc))
	if idleFor < window {
		return min(z.opts.ScrapeInterval, window-idleFor), nil
	}
	// Calls go to the activator first; those already sent to the pods
	// finish while the pods drain.
	if err := r.toActivator(ctx, fn, svc, port); err != nil {
		return 0, err
	}
	scale := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: d.Name, ResourceVersion: d.ResourceVersion},
		Spec:       autoscalingv1.ScaleSpec{Replicas: 0},
	}
	live := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: d.Name}}
	err = r.Client.SubResource("scale").Update(ctx, live, client.WithSubResourceBody(scale), client.FieldOwner(idleFieldOwner))
	if apierrors.IsConflict(err) {
		return 0, nil // scaled meanwhile: the next event decides again
	}
	if err != nil {
		return 0, err
	}
	z.forgetSeen(key)
	why := fmt.Sprintf("idle for %s", window)
	fn.Status.AddScaleEvent(v1beta1.ScaleEvent{Time: metav1.Now(), From: replicas, To: 0, Reason: why})
	log.FromContext(ctx).Info("scaled to zero", "reason", why)
	if r.Recorder != nil {
		r.Recorder.Eventf(fn, nil, corev1.EventTypeNormal, "ScaledToZero", "Scale", "%s: scaled from %d to 0 pods", why, replicas)
	}
	return 0, nil
}

func (z *zero) forgetSeen(key types.NamespacedName) {
	z.mu.Lock()
	delete(z.seen, key)
	z.mu.Unlock()
}

// toActivator points fn's EndpointSlice at the ready activator pods.
func (r *FunctionReconciler) toActivator(ctx context.Context, fn *v1beta1.Function, svc *corev1.Service, port int32) error {
	var pods corev1.PodList
	err := r.Client.List(ctx, &pods, client.InNamespace(r.zero.opts.ActivatorNamespace),
		client.MatchingLabels{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, "app": ActivatorLabel})
	if err != nil {
		return err
	}
	var ready []corev1.Pod
	for i := range pods.Items {
		if podReady(&pods.Items[i]) {
			ready = append(ready, pods.Items[i])
		}
	}
	_, err = r.applier.apply(ctx, render.EndpointSlice(fn, svc, ready, port), fn)
	return err
}

// observe reads the metrics of the pods at addrs and returns for how long
// they have not changed with no call in flight (0 when they just changed,
// or could not be read).
func (z *zero) observe(ctx context.Context, key types.NamespacedName, addrs []string, port int32) time.Duration {
	var calls, done float64
	for _, a := range addrs {
		c, d, err := z.scrape(ctx, &url.URL{Scheme: "http", Host: net.JoinHostPort(a, strconv.Itoa(int(port))), Path: "/metrics"})
		if err != nil {
			log.FromContext(ctx).V(1).Info("read a pod's metrics", "pod_ip", a, "err", err.Error())
			z.forgetSeen(key)
			return 0
		}
		calls += c
		done += d
	}
	now := time.Now()
	z.mu.Lock()
	defer z.mu.Unlock()
	st, ok := z.seen[key]
	if !ok || st.calls != calls || st.done != done || calls > done {
		z.seen[key] = activity{calls: calls, done: done, since: now}
		return 0
	}
	return now.Sub(st.since)
}

// scrape returns the sums of function_calls_total (counted when a call
// begins) and function_duration_seconds_count (when it ends) at u.
func (z *zero) scrape(ctx context.Context, u *url.URL) (calls, done float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := z.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	// Typed as the host exposes them, or untyped.
	for _, m := range mfs[contract.MetricCalls].GetMetric() {
		calls += m.GetCounter().GetValue() + m.GetUntyped().GetValue()
	}
	for _, m := range mfs[contract.MetricDuration].GetMetric() {
		done += float64(m.GetHistogram().GetSampleCount())
	}
	for _, m := range mfs[contract.MetricDuration+"_count"].GetMetric() {
		done += m.GetUntyped().GetValue()
	}
	return calls, done, nil
}

// endpointSlice is the EndpointSlice object of fn, for deleteIfOwned.
func endpointSlice(fn *v1beta1.Function) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: fn.Namespace, Name: fn.Name}}
}

// zeroCondition is the Ready condition of a function that scales to zero:
// at zero replicas, True with reason Idle (a call will start a pod); else
// that of its pods. A pod that fails to start shows as for any function.
func zeroCondition(d *appsv1.Deployment, pods []corev1.Pod) metav1.Condition {
	if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
		for i := range pods {
			if c, bad := podProblem(&pods[i]); bad {
				return c
			}
		}
		return metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonIdle,
			Message: "idle at 0 pods: the next call starts one through the activator"}
	}
	return podsCondition(d, pods)
}
