package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cron"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/internal/engine/store"
)

// Triggers. Every kind goes through one store (engineTriggers, over a
// triggerSet per kind); what makes a kind run is its consumer: an
// HTTPTrigger becomes a gateway route (httpConsumer), a CronJobTrigger a
// job of the engine's one cron.Scheduler (cronConsumer).
//
// Deleting a function deletes the triggers that call it (HTTP and cron),
// as the CLI's help says: a trigger of a missing function could only fail.

const (
	// conditionLastRun is the condition of a cron trigger that says how its
	// last run went; its LastTransitionTime is the run's tick.
	conditionLastRun = "LastRun"
)

// triggerSet holds the triggers of one kind, by store key
// ("<resource>/<namespace>/<name>"), and the consumer that runs them.
type triggerSet struct {
	kind  *v1beta1.TriggerKind
	items map[string]v1beta1.Trigger
	use   consumer
}

// consumer makes the triggers of one kind run on the local engine. Its
// methods are called with the engine's lock held.
type consumer interface {
	// put checks t (a new trigger, or the stored one merged with patch)
	// against the engine; when it may run, it calls store and, if that
	// succeeds, makes t run in place of what ran under key.
	put(key string, t, patch v1beta1.Trigger, store func() error) error
	// load makes a stored trigger run when the engine starts; an error is
	// logged and the trigger kept.
	load(key string, t v1beta1.Trigger) error
	// remove stops what runs under key.
	remove(key string)
}

// consumers are the local engine's consumer of each trigger kind: adding
// a trigger kind adds its consumer here.
func (e *Engine) consumers() map[*v1beta1.TriggerKind]consumer {
	return map[*v1beta1.TriggerKind]consumer{
		v1beta1.HTTPTriggerKind:    &httpConsumer{e: e, auth: map[string][]string{}},
		v1beta1.CronJobTriggerKind: &cronConsumer{e: e},
		v1beta1.KafkaTriggerKind:   newEventConsumer(e, v1beta1.KafkaTriggerKind),
		v1beta1.NATSTriggerKind:    newEventConsumer(e, v1beta1.NATSTriggerKind),
		v1beta1.KinesisTriggerKind: newEventConsumer(e, v1beta1.KinesisTriggerKind),
	}
}

// newTriggerSets returns an empty set for each trigger kind.
func (e *Engine) newTriggerSets() map[*v1beta1.TriggerKind]*triggerSet {
	use := e.consumers()
	sets := map[*v1beta1.TriggerKind]*triggerSet{}
	for _, k := range v1beta1.TriggerKinds() {
		sets[k] = &triggerSet{kind: k, items: map[string]v1beta1.Trigger{}, use: use[k]}
	}
	return sets
}

func (s *triggerSet) key(ns, name string) string { return s.kind.Resource + "/" + ns + "/" + name }

func (s *triggerSet) notFound(ns, name string) error {
	return backend.Errorf(backend.CodeNotFound, "%s %q not found in namespace %q", s.kind.What, name, ns)
}

// Triggers implements api.Backend.
func (e *Engine) Triggers(kind *v1beta1.TriggerKind) backend.TriggerStore {
	return engineTriggers{e: e, set: e.triggers[kind], kind: kind}
}

// engineTriggers serves the triggers of one kind.
type engineTriggers struct {
	e    *Engine
	set  *triggerSet
	kind *v1beta1.TriggerKind
}

// locked takes the engine's lock and checks that the engine runs and
// serves the kind.
func (t engineTriggers) locked() (unlock func(), err error) {
	t.e.mu.Lock()
	if err := t.e.activeLocked(); err != nil {
		t.e.mu.Unlock()
		return nil, err
	}
	if t.set == nil || t.set.use == nil {
		t.e.mu.Unlock()
		return nil, backend.Errorf(backend.CodeInvalid, "the local engine does not run %ss: use the Kubernetes engine", t.kind.What)
	}
	return t.e.mu.Unlock, nil
}

func validName(kind, name string) error {
	if name == "" {
		return backend.Errorf(backend.CodeInvalid, "the %s needs a name", kind)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return backend.Errorf(backend.CodeInvalid, "invalid %s name %q: %s", kind, name, dnsHint)
	}
	return nil
}

// checkLocked validates tr's name and spec.
func (t engineTriggers) checkLocked(tr v1beta1.Trigger) error {
	if err := validName(t.kind.What, tr.GetName()); err != nil {
		return err
	}
	if err := tr.ValidateSpec(); err != nil {
		return &backend.Error{Code: backend.CodeInvalid, Message: err.Error()}
	}
	return nil
}

// Create implements backend.TriggerStore.
func (t engineTriggers) Create(ctx context.Context, in v1beta1.Trigger) (v1beta1.Trigger, error) {
	tr := in.DeepCopyObject().(v1beta1.Trigger)
	tr.SetNamespace(defaultNS(tr.GetNamespace()))
	unlock, err := t.locked()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := t.checkLocked(tr); err != nil {
		return nil, err
	}
	k := t.set.key(tr.GetNamespace(), tr.GetName())
	if _, ok := t.set.items[k]; ok {
		return nil, backend.Errorf(backend.CodeAlreadyExists, "%s %q already exists in namespace %q: use kubeless trigger %s update", t.kind.What, tr.GetName(), tr.GetNamespace(), t.kind.Command)
	}
	if err := t.e.needTargetLocked(tr); err != nil {
		return nil, err
	}
	stamp(tr, t.kind.Kind)
	tr.SetGeneration(1)
	*tr.TriggerStatus() = v1beta1.TriggerStatus{ObservedGeneration: 1}
	if err := t.set.use.put(k, tr, tr, t.storeLocked(k, tr)); err != nil {
		return nil, err
	}
	t.e.logger.Info(t.kind.What+" created", "trigger", tr.GetName(), "namespace", tr.GetNamespace(), "function", tr.TargetFunction())
	return tr.DeepCopyObject().(v1beta1.Trigger), nil
}

// Update implements backend.TriggerStore: the non-empty fields of in's
// spec replace the stored ones (v1beta1.Trigger.MergeSpec).
func (t engineTriggers) Update(ctx context.Context, in v1beta1.Trigger) (v1beta1.Trigger, error) {
	ns := defaultNS(in.GetNamespace())
	unlock, err := t.locked()
	if err != nil {
		return nil, err
	}
	defer unlock()
	k := t.set.key(ns, in.GetName())
	old, ok := t.set.items[k]
	if !ok {
		return nil, t.set.notFound(ns, in.GetName())
	}
	tr := old.MergeSpec(in)
	if err := t.checkLocked(tr); err != nil {
		return nil, err
	}
	if err := t.e.needTargetLocked(tr); err != nil {
		return nil, err
	}
	tr.SetGeneration(tr.GetGeneration() + 1)
	tr.TriggerStatus().ObservedGeneration = tr.GetGeneration()
	if err := t.set.use.put(k, tr, in, t.storeLocked(k, tr)); err != nil {
		return nil, err
	}
	t.e.logger.Info(t.kind.What+" updated", "trigger", tr.GetName(), "namespace", tr.GetNamespace())
	return tr.DeepCopyObject().(v1beta1.Trigger), nil
}

// storeLocked returns the store function of put: it persists tr and keeps
// it under k.
func (t engineTriggers) storeLocked(k string, tr v1beta1.Trigger) func() error {
	return func() error {
		if err := t.e.putLocked(k, tr); err != nil {
			return err
		}
		t.set.items[k] = tr
		return nil
	}
}

// Delete implements backend.TriggerStore.
func (t engineTriggers) Delete(ctx context.Context, namespace, name string) error {
	namespace = defaultNS(namespace)
	unlock, err := t.locked()
	if err != nil {
		return err
	}
	defer unlock()
	k := t.set.key(namespace, name)
	if _, ok := t.set.items[k]; !ok {
		return t.set.notFound(namespace, name)
	}
	return t.e.deleteTriggerLocked(t.set, k)
}

func (e *Engine) deleteTriggerLocked(s *triggerSet, k string) error {
	if err := e.store.Delete(k); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	delete(s.items, k)
	s.use.remove(k)
	e.logger.Info(s.kind.What+" deleted", "trigger", strings.TrimPrefix(k, s.kind.Resource+"/"))
	return nil
}

// Get implements backend.TriggerStore.
func (t engineTriggers) Get(ctx context.Context, namespace, name string) (v1beta1.Trigger, error) {
	namespace = defaultNS(namespace)
	unlock, err := t.locked()
	if err != nil {
		return nil, err
	}
	defer unlock()
	tr, ok := t.set.items[t.set.key(namespace, name)]
	if !ok {
		return nil, t.set.notFound(namespace, name)
	}
	return tr.DeepCopyObject().(v1beta1.Trigger), nil
}

// List implements backend.TriggerStore.
func (t engineTriggers) List(ctx context.Context, namespace string) ([]v1beta1.Trigger, error) {
	unlock, err := t.locked()
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []v1beta1.Trigger{}
	for _, tr := range t.set.items {
		if namespace == "" || tr.GetNamespace() == namespace {
			out = append(out, tr.DeepCopyObject().(v1beta1.Trigger))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return fnKey(out[i].GetNamespace(), out[i].GetName()) < fnKey(out[j].GetNamespace(), out[j].GetName())
	})
	return out, nil
}

// needTargetLocked checks that the function a trigger names exists; an
// event trigger with a functionSelector may select none yet.
func (e *Engine) needTargetLocked(tr v1beta1.Trigger) error {
	if et, ok := tr.(v1beta1.EventTrigger); ok && et.Selector() != nil {
		return nil
	}
	return e.needFunctionLocked(tr.GetNamespace(), tr.TargetFunction())
}

func (e *Engine) needFunctionLocked(ns, fn string) error {
	if fn == "" {
		return backend.Errorf(backend.CodeInvalid, "the trigger names no function: give one with --function-name")
	}
	if _, ok := e.fns[fnKey(ns, fn)]; !ok {
		nsArg := ""
		if ns != gateway.DefaultNamespace {
			nsArg = " -n " + ns
		}
		return backend.Errorf(backend.CodeNotFound, "function %q not found in namespace %q: deploy it first with kubeless function deploy %s%s", fn, ns, fn, nsArg)
	}
	return nil
}

func (e *Engine) putLocked(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := e.store.Put(key, b); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func stamp(o v1beta1.Trigger, kind string) {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1beta1.LabelCreatedBy] = v1beta1.CreatedByKubeless
	o.SetLabels(labels)
	o.GetObjectKind().SetGroupVersionKind(v1beta1.GroupVersion.WithKind(kind))
	o.SetCreationTimestamp(nowMeta())
	o.SetResourceVersion("")
}

// deleteTriggersOfLocked deletes the triggers that call function ns/name.
func (e *Engine) deleteTriggersOfLocked(ns, name string) {
	for _, s := range e.triggers {
		for k, t := range s.items {
			if t.GetNamespace() == ns && t.TargetFunction() == name {
				if err := e.deleteTriggerLocked(s, k); err != nil {
					e.logger.Error("delete "+s.kind.What+" of deleted function", "trigger", k, "err", err)
					continue
				}
				e.logger.Info(s.kind.What+" deleted with its function", "trigger", t.GetName(), "namespace", ns, "function", name)
			}
		}
	}
}

// loadTriggersLocked reads the stored triggers.
func (e *Engine) loadTriggersLocked() {
	for _, s := range e.triggers {
		entries, err := e.store.List(s.kind.Resource + "/")
		if err != nil {
			e.logger.Error("load stored "+s.kind.What+"s", "err", err)
		}
		for _, ent := range entries {
			t := s.kind.New()
			if err := json.Unmarshal(ent.Value, t); err != nil || t.GetName() == "" {
				e.logger.Error("unreadable stored "+s.kind.What, "key", ent.Key, "err", err)
				continue
			}
			t.SetNamespace(defaultNS(t.GetNamespace()))
			s.items[ent.Key] = t
			if s.use == nil {
				continue
			}
			if err := s.use.load(ent.Key, t); err != nil {
				e.logger.Error(s.kind.What+" cannot run", "trigger", t.GetName(), "err", err)
			}
		}
	}
}

// httpConsumer routes the gateway's requests by HTTP trigger; the
// basic-auth-secret is, on the local engine, the absolute path of an
// htpasswd file, read when the trigger is created or updated and when the
// engine starts.
type httpConsumer struct {
	e    *Engine
	auth map[string][]string // htpasswd lines by trigger key
}

func (c *httpConsumer) put(key string, tr, patch v1beta1.Trigger, store func() error) error {
	t := tr.(*v1beta1.HTTPTrigger)
	if t.Spec.TLSAcme || t.Spec.TLSSecret != "" {
		return backend.Errorf(backend.CodeInvalid, "HTTP trigger %q asks for TLS (tls or tls-secret), which the local gateway does not serve: it serves plain HTTP on this machine", t.Name)
	}
	auth, hadAuth := c.auth[key]
	if p := patch.(*v1beta1.HTTPTrigger).Spec.BasicAuthSecret; p != "" || !hadAuth {
		var err error
		if auth, err = readAuth(p); err != nil {
			return err
		}
	}
	host := strings.ToLower(t.Spec.HostName)
	path := "/" + strings.Trim(t.Spec.Path, "/")
	for k, o := range c.e.triggers[v1beta1.HTTPTriggerKind].items {
		o := o.(*v1beta1.HTTPTrigger)
		if k == key {
			continue
		}
		if strings.ToLower(o.Spec.HostName) == host && "/"+strings.Trim(o.Spec.Path, "/") == path {
			return backend.Errorf(backend.CodeAlreadyExists, "host %q and path %q are already used by HTTP trigger %s in namespace %q", t.Spec.HostName, path, o.Name, o.Namespace)
		}
	}
	if err := store(); err != nil {
		return err
	}
	c.auth[key] = auth
	c.e.updateRoutesLocked()
	return nil
}

func (c *httpConsumer) load(key string, tr v1beta1.Trigger) error {
	auth, err := readAuth(tr.(*v1beta1.HTTPTrigger).Spec.BasicAuthSecret)
	c.auth[key] = auth
	if err != nil {
		return fmt.Errorf("basic auth unusable: it answers 500 until fixed: %w", err)
	}
	return nil
}

func (c *httpConsumer) remove(key string) {
	delete(c.auth, key)
	c.e.updateRoutesLocked()
}

// readAuth reads an htpasswd file and checks that the gateway can use it.
func readAuth(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, backend.Errorf(backend.CodeInvalid, "basic auth: %v: give the path of an htpasswd file (htpasswd -cB FILE USER)", err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, backend.Errorf(backend.CodeInvalid, "basic auth: %s has no user: add one with htpasswd -B %s USER", path, path)
	}
	check := gateway.New(gateway.Options{})
	if err := check.SetRoutes(gateway.Routes{Triggers: []gateway.HTTPTrigger{{Name: "check", Function: "f", BasicAuth: lines}}}); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return nil, backend.Errorf(backend.CodeInvalid, "basic auth file %s: %s", path, msg)
	}
	return lines, nil
}

// routes returns the gateway's triggers.
func (c *httpConsumer) routes() []gateway.HTTPTrigger {
	var out []gateway.HTTPTrigger
	for k, t := range c.e.triggers[v1beta1.HTTPTriggerKind].items {
		h := t.(*v1beta1.HTTPTrigger)
		auth := c.auth[k]
		if h.Spec.BasicAuthSecret != "" && len(auth) == 0 {
			// Unreadable at start: refuse rather than route without auth.
			auth = []string{"unreadable-basic-auth-file"}
		}
		out = append(out, gateway.HTTPTrigger{
			Name: h.Name, Namespace: h.Namespace, Function: h.Spec.FunctionName,
			Host: h.Spec.HostName, Path: h.Spec.Path, BasicAuth: auth, CORS: h.Spec.CorsEnable,
			CORSOrigins: strings.Split(h.Spec.CorsDomain, ","),
			OpenByName:  h.Annotations[annotationBasicAuthScope] == basicAuthScopeTrigger,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		return fnKey(out[i].Namespace, out[i].Name) < fnKey(out[j].Namespace, out[j].Name)
	})
	return out
}

// httpRoutesLocked returns the gateway's triggers.
func (e *Engine) httpRoutesLocked() []gateway.HTTPTrigger {
	return e.triggers[v1beta1.HTTPTriggerKind].use.(*httpConsumer).routes()
}

// cronConsumer runs each cron trigger as a job of the engine's one
// cron.Scheduler, which calls its function through the gateway handler, in
// process, with the cron event headers; the outcome of the last run is kept
// in the trigger's LastRun condition.
type cronConsumer struct{ e *Engine }

func (c *cronConsumer) put(key string, tr, _ v1beta1.Trigger, store func() error) error {
	if _, err := cron.Parse(tr.(*v1beta1.CronJobTrigger).Spec.Schedule); err != nil {
		return &backend.Error{Code: backend.CodeInvalid, Message: err.Error()}
	}
	if err := store(); err != nil {
		return err
	}
	if err := c.load(key, tr); err != nil {
		c.e.logger.Error("schedule cron trigger", "trigger", key, "err", err)
	}
	return nil
}

func (c *cronConsumer) load(key string, tr v1beta1.Trigger) error {
	return c.e.sched.Set(key, tr.(*v1beta1.CronJobTrigger).Spec.Schedule, func(ctx context.Context, tick time.Time) { c.e.runCron(ctx, key, tick) })
}

func (c *cronConsumer) remove(key string) { c.e.sched.Remove(key) }

// runCron calls the trigger's function once, through the gateway handler.
func (e *Engine) runCron(ctx context.Context, k string, tick time.Time) {
	e.mu.Lock()
	stored, ok := e.triggers[v1beta1.CronJobTriggerKind].items[k]
	var t *v1beta1.CronJobTrigger
	if ok {
		t = stored.(*v1beta1.CronJobTrigger).DeepCopy()
	}
	e.mu.Unlock()
	if !ok {
		return
	}
	var payload []byte
	if t.Spec.Payload != nil {
		payload = t.Spec.Payload.Raw
	}
	status, msg := e.callFunction(ctx, t.Namespace, t.Spec.FunctionName, payload, tick)
	ok = status >= 200 && status < 300
	log := e.logger.With("trigger", t.Name, "namespace", t.Namespace, "function", t.Spec.FunctionName)
	if ok {
		log.Info("cron trigger ran", "status", status)
	} else {
		log.Warn("cron trigger call failed", "status", status, "err", msg)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	stored, still := e.triggers[v1beta1.CronJobTriggerKind].items[k]
	if !still || e.store == nil || stored.GetGeneration() != t.Generation {
		return
	}
	cur := stored.(*v1beta1.CronJobTrigger)
	cond := metav1.Condition{Type: conditionLastRun, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonCallSucceeded,
		Message: msg, ObservedGeneration: cur.Generation, LastTransitionTime: metav1.NewTime(tick.UTC().Truncate(time.Second))}
	if !ok {
		cond.Status, cond.Reason = metav1.ConditionFalse, v1beta1.ReasonCallFailed
	}
	meta.RemoveStatusCondition(&cur.Status.Conditions, conditionLastRun)
	meta.SetStatusCondition(&cur.Status.Conditions, cond)
	if err := e.putLocked(k, cur); err != nil {
		log.Error("persist cron trigger status", "err", err)
	}
}

// callFunction sends a cron request to the function through the gateway
// handler and returns the answer's status (0 when none) and a summary.
func (e *Engine) callFunction(ctx context.Context, ns, name string, payload []byte, tick time.Time) (int, string) {
	cr, err := cron.NewRequest(payload, tick)
	if err != nil {
		return 0, err.Error()
	}
	path := "/" + name + "/"
	if ns != gateway.DefaultNamespace {
		path = "/" + ns + "/" + name + "/"
	}
	req, err := http.NewRequestWithContext(ctx, cr.Method, "http://kubeless-cron"+path, bytes.NewReader(cr.Body))
	if err != nil {
		return 0, err.Error()
	}
	req.RemoteAddr = "127.0.0.1:0"
	for k, v := range cr.Header {
		req.Header.Set(k, v)
	}
	w := &captureWriter{header: http.Header{}}
	e.gw.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	msg := fmt.Sprintf("%s / answered %d %s", cr.Method, w.status, http.StatusText(w.status))
	if w.status >= 300 {
		if body := strings.TrimSpace(w.body.String()); body != "" {
			msg += ": " + strings.SplitN(body, "\n", 2)[0]
		}
	}
	return w.status, msg
}

// captureWriter is the ResponseWriter of in-process calls: it keeps the
// status and the first KiB of the body.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *captureWriter) Header() http.Header { return w.header }
func (w *captureWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if n := 1024 - w.body.Len(); n > 0 {
		w.body.Write(b[:min(n, len(b))])
	}
	return len(b), nil
}
func (w *captureWriter) Flush() {}

var _ io.Writer = (*captureWriter)(nil)
