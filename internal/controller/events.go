package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/go-logr/logr"
	"github.com/twmb/franz-go/pkg/kgo"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/events"
	"github.com/kubeless/kubeless/internal/render"
	"github.com/kubeless/kubeless/pkg/contract"
)

// Event triggers (KafkaTrigger, NATSTrigger, KinesisTrigger) on Kubernetes: the controller
// manager runs their consumers itself, one per (trigger, function it
// selects), as the original's kafka-trigger and nats-trigger controllers
// did, delivering through internal/events, the same package as the local
// engine's. They run only on the elected leader: eventConsumers is a
// runnable that needs leader election, and the trigger controllers that
// start the consumers run only there too. A function is called through
// its Service. The trigger reconciler (TriggerReconciler.ensureEvents)
// starts and stops consumers from the trigger and the Functions it
// selects; a consumer's state change enqueues its trigger again, whose
// Ready condition then says whether it consumes, and if not why.
//
// A Kinesis consumer's checkpoint (the sequence number of the last record
// delivered) is kept in the ConfigMap <trigger>-kinesis-checkpoint of the
// trigger's namespace, owned by the trigger (deleted with it), one key per
// function: not in the trigger's status, which the reconciler rewrites
// from what it observes and which a status update may lose to a conflict,
// nor in the controller's memory, which a restart or a new leader loses.
// Its credentials are read from the trigger's Secret (keys
// aws_access_key_id and aws_secret_access_key) when the consumer signs its
// calls, again every 5 minutes; with no secret, the controller's own
// (the AWS SDK's default chain: its environment, its service account's
// role).

// EventOptions configure the consumers of event triggers.
type EventOptions struct {
	// KafkaBrokers are the brokers (host:port,...) of the Kafka triggers
	// that name none (the controller's KAFKA_BROKERS, as the original's
	// kafka-trigger controller read them).
	KafkaBrokers string
	// NATSURL is the server of the NATS triggers that name none (the
	// controller's NATS_URL, as the original's nats-trigger read it).
	NATSURL string
	// Kafka is the TLS and SASL of the Kafka brokers.
	Kafka events.KafkaSecurity
	// Transport carries the calls of the functions (nil: a copy of
	// http.DefaultTransport). Tests give one whose dialer reaches local
	// servers for the functions' Service addresses.
	Transport http.RoundTripper
}

// eventMetrics are the delivery metrics, on the controller manager's
// registry (served at its /metrics), made once per process.
var eventMetrics = sync.OnceValue(func() *events.Metrics { return events.NewMetrics(ctrlmetrics.Registry) })

// eventConsumers runs the consumers of the event triggers.
type eventConsumers struct {
	opts    EventOptions
	kafka   []kgo.Opt // from opts.Kafka
	client  *http.Client
	metrics *events.Metrics
	logger  *slog.Logger
	// kube writes the Kinesis checkpoints; reader reads them and the
	// triggers' Secrets from the API server (neither is cached).
	kube   client.Client
	reader client.Reader

	mu      sync.Mutex
	ctx     context.Context // the leader's; nil until Start
	started chan struct{}   // closed by Start
	runs    map[runKey]*eventRun
	// notify, by trigger kind, takes the triggers to reconcile again (a
	// consumer's state changed).
	notify map[string]chan event.GenericEvent
	wg     sync.WaitGroup
}

type runKey struct {
	kind string
	key  types.NamespacedName
}

// eventRun is what runs for one trigger.
type eventRun struct {
	inFlight chan struct{}
	config   string // what inFlight was made from
	fns      map[string]*fnConsumer
}

// fnConsumer is the consumer of one (trigger, function) pair.
type fnConsumer struct {
	config string // what it was started with; a change restarts it
	cancel context.CancelFunc
	err    error // its last state; nil once it consumes
	ok     bool  // it reported a state
	labels events.Labels
}

func newEventConsumers(opts EventOptions, logger logr.Logger) (*eventConsumers, error) {
	kafka, err := opts.Kafka.Opts()
	if err != nil {
		return nil, err
	}
	rt := opts.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	c := &eventConsumers{
		opts: opts, kafka: kafka, client: &http.Client{Transport: rt}, metrics: eventMetrics(),
		logger:  slog.New(logr.ToSlogHandler(logger)),
		started: make(chan struct{}), runs: map[runKey]*eventRun{},
		notify: map[string]chan event.GenericEvent{},
	}
	for _, k := range []*v1beta1.TriggerKind{v1beta1.KafkaTriggerKind, v1beta1.NATSTriggerKind, v1beta1.KinesisTriggerKind} {
		c.notify[k.Kind] = make(chan event.GenericEvent, 64)
	}
	return c, nil
}

// NeedLeaderElection makes the consumers run on the leader only.
func (c *eventConsumers) NeedLeaderElection() bool { return true }

// Start runs until ctx ends, then stops every consumer and waits for them
// (their commits of delivered messages included).
func (c *eventConsumers) Start(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	close(c.started)
	c.mu.Unlock()
	<-ctx.Done()
	c.mu.Lock()
	for k := range c.runs {
		c.stopLocked(k)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

// runCtx waits for Start and returns its context.
func (c *eventConsumers) runCtx(ctx context.Context) (context.Context, error) {
	select {
	case <-c.started:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ctx, nil
}

// stop stops the consumers of a trigger (deleted).
func (c *eventConsumers) stop(kind string, key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked(runKey{kind, key})
}

func (c *eventConsumers) stopLocked(k runKey) {
	r, ok := c.runs[k]
	if !ok {
		return
	}
	for _, fc := range r.fns {
		fc.cancel()
		c.metrics.Forget(fc.labels)
	}
	delete(c.runs, k)
}

// target is a function a trigger selects, and where it is called.
type target struct {
	name, url string
	// timeout bounds each call: the function's timeout plus
	// eventCallGrace.
	timeout time.Duration
}

// eventCallGrace is added to a function's timeout to bound an event call,
// as the local engine's gateway does (gateway.DefaultTimeoutGrace): the
// function's own timeout answers 408 first, and a call that got no answer
// by then (the pod hung, the connection was lost without a reset) fails
// and is retried instead of holding its in-flight slot, and the
// partition's order, until the consumer stops.
const eventCallGrace = time.Second

// targetOf is function fn as called at url.
func targetOf(fn *v1beta1.Function, url string) target {
	secs, err := strconv.Atoi(fn.Spec.Timeout)
	if err != nil || secs <= 0 {
		secs = contract.DefaultTimeoutSeconds
	}
	return target{name: fn.Name, url: url, timeout: time.Duration(secs)*time.Second + eventCallGrace}
}

// sync starts the consumers of trigger t for the functions targets and
// stops the others; a consumer whose settings changed is restarted. It
// returns t's Ready condition.
func (c *eventConsumers) sync(ctx context.Context, kind string, t v1beta1.EventTrigger, source string, targets []target) (metav1.Condition, error) {
	runCtx, err := c.runCtx(ctx)
	if err != nil {
		return metav1.Condition{}, err
	}
	k := runKey{kind, client.ObjectKeyFromObject(t)}
	c.mu.Lock()
	defer c.mu.Unlock()
	d := t.DeliverySpec()
	runConfig := fmt.Sprint(d.InFlight())
	r := c.runs[k]
	if r != nil && r.config != runConfig {
		c.stopLocked(k)
		r = nil
	}
	if r == nil {
		r = &eventRun{inFlight: events.NewInFlight(d), config: runConfig, fns: map[string]*fnConsumer{}}
		c.runs[k] = r
	}
	want := map[string]target{}
	for _, tg := range targets {
		want[tg.name] = tg
	}
	for name, fc := range r.fns {
		tg, ok := want[name]
		if !ok || fc.config != consumerConfig(t, source, tg) {
			fc.cancel()
			delete(r.fns, name)
			if !ok {
				c.metrics.Forget(fc.labels)
			}
		}
	}
	for name, tg := range want {
		if _, ok := r.fns[name]; !ok && runCtx.Err() == nil {
			r.fns[name] = c.run(runCtx, k, r, t, source, tg)
		}
	}
	return readyCondition(t, source, r), nil
}

// consumerConfig is what a consumer runs from: a change restarts it.
func consumerConfig(t v1beta1.EventTrigger, source string, tg target) string {
	return fmt.Sprintf("%d|%s|%s|%s", t.GetGeneration(), source, tg.url, tg.timeout)
}

// run starts the consumer of trigger t (key k) for function tg, reading
// source (the Kafka brokers or the NATS URL).
func (c *eventConsumers) run(ctx context.Context, k runKey, r *eventRun, t v1beta1.EventTrigger, source string, tg target) *fnConsumer {
	// The consumer keeps its own copy: the reconciler goes on writing
	// into t (its status update decodes the API server's answer into it)
	// while the consumer's goroutines read it.
	t = t.DeepCopyObject().(v1beta1.EventTrigger)
	ctx, cancel := context.WithCancel(ctx)
	labels := events.Labels{Kind: k.kind, Namespace: t.GetNamespace(), Trigger: t.GetName(), Function: tg.name}
	fc := &fnConsumer{config: consumerConfig(t, source, tg), cancel: cancel, labels: labels}
	log := c.logger.With("kind", k.kind)
	d := &events.Deliverer{
		Function: tg.name, EventNamespace: t.EventNamespace(), Delivery: t.DeliverySpec(),
		Invoke: c.invoker(tg.url, tg.timeout), InFlight: r.inFlight,
		Metrics: c.metrics, Labels: labels, Logger: log,
	}
	state := func(err error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if cur, ok := c.runs[k]; !ok || cur != r || r.fns[tg.name] != fc {
			return // replaced or stopped
		}
		if fc.ok && (fc.err == nil) == (err == nil) && (err == nil || fc.err.Error() == err.Error()) {
			return
		}
		fc.err, fc.ok = err, true
		c.enqueue(ctx, k, t)
	}
	group := events.GroupID(t.GetNamespace(), t.GetName(), tg.name, t.Source())
	var runner interface{ Run(context.Context) error }
	switch t := t.(type) {
	case *v1beta1.KafkaTrigger:
		runner = &events.KafkaConsumer{Brokers: events.SplitBrokers(source), Topic: t.Spec.Topic, Group: group,
			Deliverer: d, State: state, Logger: log, Opts: c.kafka}
	case *v1beta1.NATSTrigger:
		runner = &events.NATSConsumer{URL: source, Subject: t.Spec.Topic, Queue: group, Deliverer: d, State: state, Logger: log}
	case *v1beta1.KinesisTrigger:
		runner = &events.KinesisConsumer{
			Config: events.KinesisConfig{Region: t.Spec.Region, Endpoint: t.Spec.Endpoint, Credentials: c.secretCredentials(t)},
			Stream: t.Spec.Stream, Shard: t.Spec.ShardID, Checkpoints: &configMapCheckpoints{c: c, t: t, fn: tg.name},
			Deliverer: d, State: state, Logger: log,
		}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := runner.Run(ctx); err != nil {
			log.Error("event consumer stopped", "trigger", t.GetName(), "namespace", t.GetNamespace(), "function", tg.name, "err", err)
			state(err)
		}
	}()
	return fc
}

// enqueue has trigger t reconciled again, without blocking the caller
// (which holds c.mu).
func (c *eventConsumers) enqueue(ctx context.Context, k runKey, t v1beta1.EventTrigger) {
	obj := t.DeepCopyObject().(client.Object)
	ch := c.notify[k.kind]
	select {
	case ch <- event.GenericEvent{Object: obj}:
	default:
		go func() {
			select {
			case ch <- event.GenericEvent{Object: obj}:
			case <-ctx.Done():
			}
		}()
	}
}

// invoker returns the Invoker of the function served at url: a POST that
// fails with context.DeadlineExceeded when it got no whole answer within
// timeout.
func (c *eventConsumers) invoker(url string, timeout time.Duration) events.Invoker {
	return func(ctx context.Context, _ string, h http.Header, body []byte) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header = h.Clone()
		resp, err := c.client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil && ctx.Err() != nil {
			return 0, ctx.Err() // the body did not come in time
		}
		return resp.StatusCode, nil
	}
}

// readyCondition is trigger t's Ready condition from its consumers'
// states, as on the local engine.
func readyCondition(t v1beta1.EventTrigger, source string, r *eventRun) metav1.Condition {
	states := make([]events.ConsumerState, 0, len(r.fns))
	for name, fc := range r.fns {
		states = append(states, events.ConsumerState{Function: name, Reported: fc.ok, Err: fc.err})
	}
	return events.ReadyCondition(t, source, states)
}

// ensureEvents reconciles an event trigger: its consumers and its Ready
// condition.
func (r *TriggerReconciler) ensureEvents(ctx context.Context, t v1beta1.EventTrigger) (metav1.Condition, error) {
	// What the CLI refuses, a manifest may hold: an invalid selector would
	// otherwise select nothing, silently.
	if err := t.ValidateSpec(); err != nil {
		r.events.stop(r.Kind, client.ObjectKeyFromObject(t))
		return falseCondition(v1beta1.ReasonInvalidTrigger, err.Error()), nil
	}
	var source string
	switch t := t.(type) {
	case *v1beta1.KafkaTrigger:
		source = t.Spec.Brokers
		if source == "" {
			source = r.events.opts.KafkaBrokers
		}
		if source == "" {
			r.events.stop(r.Kind, client.ObjectKeyFromObject(t))
			return falseCondition(v1beta1.ReasonInvalidTrigger, fmt.Sprintf(
				"Kafka trigger %q names no brokers: set spec.brokers (host:port,...), or kafka-brokers in kubeless-config (the controller's KAFKA_BROKERS) and restart the controller", t.Name)), nil
		}
	case *v1beta1.KinesisTrigger:
		source = t.Spec.Endpoint
		if source == "" {
			source = "Kinesis in " + t.Spec.Region
		}
	case *v1beta1.NATSTrigger:
		source = t.Spec.URL
		if source == "" {
			source = r.events.opts.NATSURL
		}
		if source == "" {
			r.events.stop(r.Kind, client.ObjectKeyFromObject(t))
			return falseCondition(v1beta1.ReasonInvalidTrigger, fmt.Sprintf(
				"NATS trigger %q names no server: set spec.url (nats://host:port), or nats-url in kubeless-config (the controller's NATS_URL) and restart the controller", t.Name)), nil
		}
	}
	st, err := r.config.load(ctx)
	var cfg render.Config
	if err == nil {
		cfg = st.render
	} else if _, ok := err.(*configError); !ok {
		return metav1.Condition{}, err
	} else {
		cfg = r.config.defaults
	}
	var fns v1beta1.FunctionList
	if err := r.Client.List(ctx, &fns, client.InNamespace(t.GetNamespace())); err != nil {
		return metav1.Condition{}, err
	}
	var targets []target
	for i := range fns.Items {
		fn := &fns.Items[i]
		if fn.DeletionTimestamp.IsZero() && v1beta1.Selects(t, fn) {
			targets = append(targets, targetOf(fn, render.FunctionURL(fn, cfg)))
		}
	}
	return r.events.sync(ctx, r.Kind, t, source, targets)
}

// eventTriggersOf maps a Function to the event triggers of kind in its
// namespace (any may select it by its labels).
func eventTriggersOf(mgr ctrl.Manager, kind *v1beta1.TriggerKind) func(context.Context, client.Object) []ctrl.Request {
	return func(ctx context.Context, o client.Object) []ctrl.Request {
		l := kind.NewList()
		if err := mgr.GetClient().List(ctx, l, client.InNamespace(o.GetNamespace())); err != nil {
			return nil
		}
		var reqs []ctrl.Request
		for _, t := range l.Triggers() {
			reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(t)})
		}
		return reqs
	}
}

// secretCredentials returns the credentials of Kinesis trigger t: read
// from its Secret each time they are needed (the SDK keeps them 5
// minutes), nil (the controller's own) when it names none.
func (c *eventConsumers) secretCredentials(t *v1beta1.KinesisTrigger) aws.CredentialsProvider {
	if t.Spec.Secret == "" {
		return nil
	}
	key := types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.Secret}
	return aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		var s corev1.Secret
		if err := c.reader.Get(ctx, key, &s); err != nil {
			return aws.Credentials{}, fmt.Errorf("read the trigger's Secret %s: %w", key, err)
		}
		id, secret := strings.TrimSpace(string(s.Data[events.SecretAccessKeyID])), strings.TrimSpace(string(s.Data[events.SecretSecretAccessKey]))
		if id == "" || secret == "" {
			return aws.Credentials{}, fmt.Errorf("Secret %s needs the keys %s and %s", key, events.SecretAccessKeyID, events.SecretSecretAccessKey)
		}
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "Secret " + key.String(),
			CanExpire: true, Expires: time.Now().Add(5 * time.Minute)}, nil
	})
}

// configMapCheckpoints keep the checkpoint of the consumer of Kinesis
// trigger t for function fn in the ConfigMap <trigger>-kinesis-checkpoint,
// under the key fn.
type configMapCheckpoints struct {
	c  *eventConsumers
	t  *v1beta1.KinesisTrigger
	fn string
}

func (k *configMapCheckpoints) key() types.NamespacedName {
	return types.NamespacedName{Namespace: k.t.Namespace, Name: k.t.Name + "-kinesis-checkpoint"}
}

func (k *configMapCheckpoints) Load(ctx context.Context) ([]byte, error) {
	var cm corev1.ConfigMap
	err := k.c.reader.Get(ctx, k.key(), &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ConfigMap %s: %w", k.key(), err)
	}
	if v, ok := cm.Data[k.fn]; ok {
		return []byte(v), nil
	}
	return nil, nil
}

func (k *configMapCheckpoints) Save(ctx context.Context, b []byte) error {
	patch, err := json.Marshal(map[string]any{"data": map[string]string{k.fn: string(b)}})
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: k.t.Namespace, Name: k.key().Name}}
	err = k.c.kube.Patch(ctx, cm, client.RawPatch(types.MergePatchType, patch))
	if !apierrors.IsNotFound(err) {
		return err
	}
	cm.Labels = map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless}
	cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1beta1.GroupVersion.String(), Kind: v1beta1.KinesisTriggerKind.Kind,
		Name: k.t.Name, UID: k.t.UID, Controller: ptr.To(true)}}
	cm.Data = map[string]string{k.fn: string(b)}
	return k.c.kube.Create(ctx, cm)
}
