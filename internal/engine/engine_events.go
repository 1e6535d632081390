package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/twmb/franz-go/pkg/kgo"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/internal/engine/store"
	"github.com/kubeless/kubeless/internal/events"
)

// kafkaGroupOpts are the local engine's consumer-group timings. A daemon
// killed with SIGKILL does not leave its groups: the broker holds their
// partitions for the dead member until its session times out, and the next
// daemon's consumers wait that long before they deliver again. The Kafka
// client's default session (45s) would stop delivery for 45s after each
// crash; 10s, with a heartbeat each second, still bears a loaded machine.
var kafkaGroupOpts = []kgo.Opt{kgo.SessionTimeout(10 * time.Second), kgo.HeartbeatInterval(time.Second)}

// EnvKafkaBrokers is the daemon's variable that names the Kafka brokers of
// the Kafka triggers that name none.
const EnvKafkaBrokers = "KUBELESS_KAFKA_BROKERS"

// Event triggers (Kafka, NATS, Kinesis) on the local engine: an eventConsumer per
// kind runs, for each trigger, one consumer per function it selects (the
// original's one consumer group per trigger and function), delivering
// through the gateway handler in process (internal/events). The functions
// a trigger selects are looked at again whenever the functions change
// (updateRoutesLocked calls syncEventsLocked). The trigger's Ready
// condition says whether it consumes, and if not why.
//
// A Kinesis consumer's checkpoint (the sequence number of the last record
// delivered) is kept in the engine's store, under
// kinesis-checkpoints/<namespace>/<trigger>/<function>: the daemon's state
// folder, written atomically and durably like the triggers themselves, so
// that a daemon killed and started again resumes where it was; it is
// deleted with its trigger.

// eventConsumer runs the event triggers of one kind.
type eventConsumer struct {
	e    *Engine
	kind *v1beta1.TriggerKind
	runs map[string]*eventRun // by trigger key
}

// eventRun is what runs for one trigger.
type eventRun struct {
	t        v1beta1.EventTrigger
	inFlight chan struct{}
	fns      map[string]*fnConsumer // by function name
	wg       *sync.WaitGroup
}

// fnConsumer is the consumer of one (trigger, function) pair.
type fnConsumer struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // its last state; nil once it consumes
	ok     bool  // it reported a state
}

func newEventConsumer(e *Engine, kind *v1beta1.TriggerKind) *eventConsumer {
	return &eventConsumer{e: e, kind: kind, runs: map[string]*eventRun{}}
}

// check refuses what the engine cannot run: a Kafka trigger with no
// brokers, a name-selected function that does not exist.
func (c *eventConsumer) check(t v1beta1.EventTrigger) error {
	switch t := t.(type) {
	case *v1beta1.KafkaTrigger:
		if c.e.kafkaBrokers(t) == "" {
			return backend.Errorf(backend.CodeInvalid, "Kafka trigger %q names no brokers: give --brokers host:port, or start the local engine with %s=host:port", t.Name, EnvKafkaBrokers)
		}
	case *v1beta1.NATSTrigger:
		if t.Spec.URL == "" && c.e.busURL == "" {
			return backend.Errorf(backend.CodeInvalid, "NATS trigger %q names no server and the engine has no event bus: give --url nats://host:port", t.Name)
		}
	case *v1beta1.KinesisTrigger:
		if _, err := awsCredentials(t.Spec.Secret); err != nil {
			return &backend.Error{Code: backend.CodeInvalid, Message: fmt.Sprintf("Kinesis trigger %q: %v", t.Name, err)}
		}
	}
	return nil
}

// awsCredentials returns the credentials of a Kinesis trigger on the local
// engine: its secret is the path of a folder holding the files
// aws_access_key_id and aws_secret_access_key (the layout of a mounted
// Kubernetes Secret); with none, the AWS SDK's default chain of the daemon
// (AWS_ACCESS_KEY_ID..., ~/.aws).
func awsCredentials(dir string) (aws.CredentialsProvider, error) {
	if dir == "" {
		return nil, nil
	}
	return events.CredentialsFromFolder(dir)
}

// storeCheckpoints keeps a Kinesis consumer's checkpoint in the engine's
// store, under key, while its trigger (the engine's trigger) exists: a
// consumer that finishes a batch after its trigger was deleted must not
// write the checkpoint back.
type storeCheckpoints struct {
	e       *Engine
	st      store.Store
	trigger string // the trigger's key
	key     string
}

func (s storeCheckpoints) Load(context.Context) ([]byte, error) {
	b, err := s.st.Get(s.key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

func (s storeCheckpoints) Save(_ context.Context, b []byte) error {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if _, ok := s.e.triggers[v1beta1.KinesisTriggerKind].items[s.trigger]; !ok {
		return nil
	}
	return s.st.Put(s.key, b)
}

// checkpointKey is the store key of the checkpoints of trigger t's
// consumer for function fn ("" for every function of t).
func checkpointKey(t v1beta1.Trigger, fn string) string {
	k := "kinesis-checkpoints/" + t.GetNamespace() + "/" + t.GetName()
	if fn != "" {
		k += "/" + fn
	}
	return k
}

func (c *eventConsumer) put(key string, tr, _ v1beta1.Trigger, store func() error) error {
	t := tr.(v1beta1.EventTrigger)
	if err := c.check(t); err != nil {
		return err
	}
	if err := store(); err != nil {
		return err
	}
	c.stop(key)
	c.start(key, t)
	return nil
}

func (c *eventConsumer) load(key string, tr v1beta1.Trigger) error {
	t := tr.(v1beta1.EventTrigger)
	if err := c.check(t); err != nil {
		return err
	}
	c.start(key, t)
	return nil
}

func (c *eventConsumer) remove(key string) {
	r, ok := c.runs[key]
	if ok {
		for fn := range r.fns {
			c.e.eventMetrics.Forget(events.Labels{Kind: c.kind.Kind, Namespace: r.t.GetNamespace(), Trigger: r.t.GetName(), Function: fn})
		}
	}
	c.stop(key)
	if ok && c.kind == v1beta1.KinesisTriggerKind && c.e.store != nil {
		entries, err := c.e.store.List(checkpointKey(r.t, "") + "/")
		if err != nil {
			c.e.logger.Error("list the checkpoints of a deleted Kinesis trigger", "trigger", key, "err", err)
		}
		for _, ent := range entries {
			if err := c.e.store.Delete(ent.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
				c.e.logger.Error("delete the checkpoint of a deleted Kinesis trigger", "key", ent.Key, "err", err)
			}
		}
	}
}

func (c *eventConsumer) start(key string, t v1beta1.EventTrigger) {
	c.runs[key] = &eventRun{t: t, inFlight: events.NewInFlight(t.DeliverySpec()), fns: map[string]*fnConsumer{}, wg: &c.e.eventsWG}
	c.sync(key)
}

// stop stops the consumers of a trigger; they end on their own (their
// commits of delivered messages included).
func (c *eventConsumer) stop(key string) {
	r, ok := c.runs[key]
	if !ok {
		return
	}
	for _, fc := range r.fns {
		fc.cancel()
	}
	delete(c.runs, key)
}

// sync starts the consumers of the functions the trigger selects now and
// stops the others, then updates its Ready condition.
func (c *eventConsumer) sync(key string) {
	r := c.runs[key]
	want := map[string]bool{}
	for _, st := range c.e.fns {
		if v1beta1.Selects(r.t, st.fn) {
			want[st.fn.Name] = true
		}
	}
	for name, fc := range r.fns {
		if !want[name] {
			fc.cancel()
			delete(r.fns, name)
		}
	}
	for name := range want {
		if _, ok := r.fns[name]; !ok && c.e.runCtx != nil {
			r.fns[name] = c.run(key, r, name)
		}
	}
	c.setReadyLocked(key, r)
}

// run starts the consumer of trigger key for function fn.
func (c *eventConsumer) run(key string, r *eventRun, fn string) *fnConsumer {
	e := c.e
	t := r.t
	ctx, cancel := context.WithCancel(e.runCtx)
	fc := &fnConsumer{cancel: cancel, done: make(chan struct{})}
	d := &events.Deliverer{
		Function: fn, EventNamespace: t.EventNamespace(), Delivery: t.DeliverySpec(),
		Invoke: e.invokeEvent(t.GetNamespace()), InFlight: r.inFlight,
		Metrics: e.eventMetrics, Labels: events.Labels{Kind: c.kind.Kind, Namespace: t.GetNamespace(), Trigger: t.GetName(), Function: fn},
		Logger: e.logger,
	}
	e.eventMetrics.Init(d.Labels)
	state := func(err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if cur, ok := c.runs[key]; !ok || cur != r || r.fns[fn] != fc {
			return // replaced or stopped
		}
		fc.err, fc.ok = err, true
		c.setReadyLocked(key, r)
	}
	group := events.GroupID(t.GetNamespace(), t.GetName(), fn, t.Source())
	var runner interface{ Run(context.Context) error }
	switch t := t.(type) {
	case *v1beta1.KafkaTrigger:
		runner = &events.KafkaConsumer{Brokers: events.SplitBrokers(e.kafkaBrokers(t)), Topic: t.Spec.Topic, Group: group,
			Deliverer: d, State: state, Logger: e.logger, Opts: kafkaGroupOpts}
	case *v1beta1.NATSTrigger:
		url := t.Spec.URL
		if url == "" {
			url = e.busURL // the engine's event bus
		}
		runner = &events.NATSConsumer{URL: url, Subject: t.Spec.Topic, Queue: group, Deliverer: d, State: state, Logger: e.logger}
	case *v1beta1.KinesisTrigger:
		creds, err := awsCredentials(t.Spec.Secret)
		if err != nil {
			runner = failedRunner{fmt.Errorf("Kinesis trigger %q: %w", t.Name, err)}
			break
		}
		runner = &events.KinesisConsumer{
			Config: events.KinesisConfig{Region: t.Spec.Region, Endpoint: t.Spec.Endpoint, Credentials: creds},
			Stream: t.Spec.Stream, Shard: t.Spec.ShardID, Checkpoints: storeCheckpoints{e: e, st: e.store, trigger: key, key: checkpointKey(t, fn)},
			Deliverer: d, State: state, Logger: e.logger,
		}
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(fc.done)
		if err := runner.Run(ctx); err != nil {
			e.logger.Error("event consumer stopped", "trigger", t.GetName(), "namespace", t.GetNamespace(), "function", fn, "err", err)
			state(err)
		}
	}()
	return fc
}

// failedRunner is a consumer that cannot start: its Run returns err.
type failedRunner struct{ err error }

func (f failedRunner) Run(context.Context) error { return f.err }

// setReadyLocked writes the trigger's Ready condition from its consumers'
// states, when it changed.
func (c *eventConsumer) setReadyLocked(key string, r *eventRun) {
	stored, ok := c.e.triggers[c.kind].items[key]
	if !ok || c.e.store == nil {
		return
	}
	states := make([]events.ConsumerState, 0, len(r.fns))
	for name, fc := range r.fns {
		states = append(states, events.ConsumerState{Function: name, Reported: fc.ok, Err: fc.err})
	}
	cond := events.ReadyCondition(r.t, "", states)
	cur := stored.TriggerStatus()
	if old := meta.FindStatusCondition(cur.Conditions, v1beta1.ConditionReady); old != nil &&
		old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message {
		return
	}
	cond.ObservedGeneration = stored.GetGeneration()
	cond.LastTransitionTime = nowMeta()
	meta.SetStatusCondition(&cur.Conditions, cond)
	if err := c.e.putLocked(key, stored); err != nil {
		c.e.logger.Error("persist event trigger status", "trigger", key, "err", err)
	}
}

// syncEventsLocked looks again at the functions each event trigger
// selects (a function was deployed, updated or deleted).
func (e *Engine) syncEventsLocked() {
	for _, s := range e.triggers {
		if c, ok := s.use.(*eventConsumer); ok {
			for key := range c.runs {
				c.sync(key)
			}
		}
	}
}

// kafkaBrokers returns the brokers of a Kafka trigger: its own, or the
// engine's.
func (e *Engine) kafkaBrokers(t *v1beta1.KafkaTrigger) string {
	if t.Spec.Brokers != "" {
		return t.Spec.Brokers
	}
	if e.opts.KafkaBrokers != "" {
		return e.opts.KafkaBrokers
	}
	return os.Getenv(EnvKafkaBrokers)
}

// invokeEvent returns the Invoker of functions of namespace ns: a POST
// through the gateway handler, in process.
func (e *Engine) invokeEvent(ns string) events.Invoker {
	return func(ctx context.Context, fn string, h http.Header, body []byte) (int, error) {
		path := "/" + fn + "/"
		if ns != gateway.DefaultNamespace {
			path = "/" + ns + "/" + fn + "/"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://kubeless-events"+path, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.RemoteAddr = "127.0.0.1:0"
		req.Header = h.Clone()
		w := &captureWriter{header: http.Header{}}
		e.gw.ServeHTTP(w, req)
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if w.status == 0 {
			w.status = http.StatusOK
		}
		return w.status, nil
	}
}
