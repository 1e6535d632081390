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

// Triggers. An HTTPTrigger becomes a gateway route; its basic-auth-secret
// is, on the local engine, the absolute path of an htpasswd file, read when
// the trigger is created or updated and when the engine starts. A
// CronJobTrigger becomes a job of the engine's one cron.Scheduler that
// calls its function through the gateway handler, in process, with the
// cron event headers; the outcome of the last run is kept in the trigger's
// LastRun condition.
//
// Deleting a function deletes the triggers that call it (HTTP and cron),
// as the CLI's help says: a trigger of a missing function could only fail.

const (
	httpPrefix = "httptriggers/"
	cronPrefix = "cronjobtriggers/"

	// conditionLastRun is the condition of a cron trigger that says how its
	// last run went; its LastTransitionTime is the run's tick.
	conditionLastRun = "LastRun"
)

type httpTrig struct {
	t    *v1beta1.HTTPTrigger
	auth []string // htpasswd lines read from the secret file
}

func triggerKey(prefix, ns, name string) string { return prefix + ns + "/" + name }

func validName(kind, name string) error {
	if name == "" {
		return backend.Errorf(backend.CodeInvalid, "the %s needs a name", kind)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return backend.Errorf(backend.CodeInvalid, "invalid %s name %q: %s", kind, name, dnsHint)
	}
	return nil
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

// checkHTTPLocked validates t against the other triggers.
func (e *Engine) checkHTTPLocked(t *v1beta1.HTTPTrigger) error {
	if err := validName("HTTP trigger", t.Name); err != nil {
		return err
	}
	if err := e.needFunctionLocked(t.Namespace, t.Spec.FunctionName); err != nil {
		return err
	}
	host := strings.ToLower(t.Spec.HostName)
	path := "/" + strings.Trim(t.Spec.Path, "/")
	for k, o := range e.https {
		if k == triggerKey(httpPrefix, t.Namespace, t.Name) {
			continue
		}
		if strings.ToLower(o.t.Spec.HostName) == host && "/"+strings.Trim(o.t.Spec.Path, "/") == path {
			return backend.Errorf(backend.CodeAlreadyExists, "host %q and path %q are already used by HTTP trigger %s in namespace %q", t.Spec.HostName, path, o.t.Name, o.t.Namespace)
		}
	}
	return nil
}

// CreateHTTPTrigger implements api.Backend.
func (e *Engine) CreateHTTPTrigger(ctx context.Context, in *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error) {
	t := in.DeepCopy()
	t.Namespace = defaultNS(t.Namespace)
	auth, err := readAuth(t.Spec.BasicAuthSecret)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	k := triggerKey(httpPrefix, t.Namespace, t.Name)
	if _, ok := e.https[k]; ok {
		return nil, backend.Errorf(backend.CodeAlreadyExists, "HTTP trigger %q already exists in namespace %q: use kubeless trigger http update", t.Name, t.Namespace)
	}
	if err := e.checkHTTPLocked(t); err != nil {
		return nil, err
	}
	stamp(&t.ObjectMeta, "HTTPTrigger", &t.TypeMeta)
	t.Generation = 1
	t.Status = v1beta1.TriggerStatus{ObservedGeneration: 1}
	if err := e.putLocked(k, t); err != nil {
		return nil, err
	}
	e.https[k] = &httpTrig{t: t, auth: auth}
	e.updateRoutesLocked()
	e.logger.Info("HTTP trigger created", "trigger", t.Name, "namespace", t.Namespace, "function", t.Spec.FunctionName)
	return t.DeepCopy(), nil
}

// UpdateHTTPTrigger implements api.Backend: the non-empty fields of in's
// spec (and its booleans) replace the stored ones (backend.MergeHTTPTrigger).
func (e *Engine) UpdateHTTPTrigger(ctx context.Context, in *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error) {
	ns := defaultNS(in.Namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	k := triggerKey(httpPrefix, ns, in.Name)
	old, ok := e.https[k]
	if !ok {
		return nil, backend.Errorf(backend.CodeNotFound, "HTTP trigger %q not found in namespace %q", in.Name, ns)
	}
	t := backend.MergeHTTPTrigger(old.t, in)
	auth := old.auth
	if in.Spec.BasicAuthSecret != "" {
		var err error
		if auth, err = readAuth(in.Spec.BasicAuthSecret); err != nil {
			return nil, err
		}
	}
	if err := e.checkHTTPLocked(t); err != nil {
		return nil, err
	}
	t.Generation++
	t.Status.ObservedGeneration = t.Generation
	if err := e.putLocked(k, t); err != nil {
		return nil, err
	}
	e.https[k] = &httpTrig{t: t, auth: auth}
	e.updateRoutesLocked()
	e.logger.Info("HTTP trigger updated", "trigger", t.Name, "namespace", t.Namespace)
	return t.DeepCopy(), nil
}

// DeleteHTTPTrigger implements api.Backend.
func (e *Engine) DeleteHTTPTrigger(ctx context.Context, namespace, name string) error {
	namespace = defaultNS(namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return err
	}
	k := triggerKey(httpPrefix, namespace, name)
	if _, ok := e.https[k]; !ok {
		return backend.Errorf(backend.CodeNotFound, "HTTP trigger %q not found in namespace %q", name, namespace)
	}
	if err := e.store.Delete(k); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete HTTP trigger %q: %w", name, err)
	}
	delete(e.https, k)
	e.updateRoutesLocked()
	e.logger.Info("HTTP trigger deleted", "trigger", name, "namespace", namespace)
	return nil
}

// GetHTTPTrigger implements api.Backend.
func (e *Engine) GetHTTPTrigger(ctx context.Context, namespace, name string) (*v1beta1.HTTPTrigger, error) {
	namespace = defaultNS(namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	t, ok := e.https[triggerKey(httpPrefix, namespace, name)]
	if !ok {
		return nil, backend.Errorf(backend.CodeNotFound, "HTTP trigger %q not found in namespace %q", name, namespace)
	}
	return t.t.DeepCopy(), nil
}

// ListHTTPTriggers implements api.Backend.
func (e *Engine) ListHTTPTriggers(ctx context.Context, namespace string) ([]v1beta1.HTTPTrigger, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	out := []v1beta1.HTTPTrigger{}
	for _, t := range e.https {
		if namespace == "" || t.t.Namespace == namespace {
			out = append(out, *t.t.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return fnKey(out[i].Namespace, out[i].Name) < fnKey(out[j].Namespace, out[j].Name)
	})
	return out, nil
}

// httpRoutesLocked returns the gateway's triggers.
func (e *Engine) httpRoutesLocked() []gateway.HTTPTrigger {
	var out []gateway.HTTPTrigger
	for _, h := range e.https {
		auth := h.auth
		if h.t.Spec.BasicAuthSecret != "" && len(auth) == 0 {
			// Unreadable at start: refuse rather than route without auth.
			auth = []string{"unreadable-basic-auth-file"}
		}
		out = append(out, gateway.HTTPTrigger{
			Name: h.t.Name, Namespace: h.t.Namespace, Function: h.t.Spec.FunctionName,
			Host: h.t.Spec.HostName, Path: h.t.Spec.Path, BasicAuth: auth, CORS: h.t.Spec.CorsEnable,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		return fnKey(out[i].Namespace, out[i].Name) < fnKey(out[j].Namespace, out[j].Name)
	})
	return out
}

func stamp(m *metav1.ObjectMeta, kind string, tm *metav1.TypeMeta) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[v1beta1.LabelCreatedBy] = v1beta1.CreatedByKubeless
	tm.APIVersion = v1beta1.GroupVersion.String()
	tm.Kind = kind
	m.CreationTimestamp = nowMeta()
	m.ResourceVersion = ""
}

// checkCron validates a cron trigger's spec.
func checkCron(t *v1beta1.CronJobTrigger) error {
	if err := validName("cron trigger", t.Name); err != nil {
		return err
	}
	if t.Spec.Schedule == "" {
		return backend.Errorf(backend.CodeInvalid, "cron trigger %q has no schedule: give one with --schedule, for example --schedule '*/5 * * * *'", t.Name)
	}
	if _, err := cron.Parse(t.Spec.Schedule); err != nil {
		return &backend.Error{Code: backend.CodeInvalid, Message: err.Error()}
	}
	if t.Spec.Payload != nil && len(t.Spec.Payload.Raw) > 0 && !json.Valid(t.Spec.Payload.Raw) {
		return backend.Errorf(backend.CodeInvalid, "cron trigger %q: the payload is not valid JSON", t.Name)
	}
	return nil
}

// CreateCronJobTrigger implements api.Backend.
func (e *Engine) CreateCronJobTrigger(ctx context.Context, in *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error) {
	t := in.DeepCopy()
	t.Namespace = defaultNS(t.Namespace)
	if err := checkCron(t); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	k := triggerKey(cronPrefix, t.Namespace, t.Name)
	if _, ok := e.crons[k]; ok {
		return nil, backend.Errorf(backend.CodeAlreadyExists, "cron trigger %q already exists in namespace %q: use kubeless trigger cronjob update", t.Name, t.Namespace)
	}
	if err := e.needFunctionLocked(t.Namespace, t.Spec.FunctionName); err != nil {
		return nil, err
	}
	stamp(&t.ObjectMeta, "CronJobTrigger", &t.TypeMeta)
	t.Generation = 1
	t.Status = v1beta1.TriggerStatus{ObservedGeneration: 1}
	if err := e.putLocked(k, t); err != nil {
		return nil, err
	}
	e.crons[k] = t
	e.scheduleLocked(k, t)
	e.logger.Info("cron trigger created", "trigger", t.Name, "namespace", t.Namespace, "function", t.Spec.FunctionName, "schedule", t.Spec.Schedule)
	return t.DeepCopy(), nil
}

// UpdateCronJobTrigger implements api.Backend: the non-empty fields of in's
// spec replace the stored ones (backend.MergeCronJobTrigger).
func (e *Engine) UpdateCronJobTrigger(ctx context.Context, in *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error) {
	ns := defaultNS(in.Namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	k := triggerKey(cronPrefix, ns, in.Name)
	old, ok := e.crons[k]
	if !ok {
		return nil, backend.Errorf(backend.CodeNotFound, "cron trigger %q not found in namespace %q", in.Name, ns)
	}
	t := backend.MergeCronJobTrigger(old, in)
	if err := checkCron(t); err != nil {
		return nil, err
	}
	if err := e.needFunctionLocked(t.Namespace, t.Spec.FunctionName); err != nil {
		return nil, err
	}
	t.Generation++
	t.Status.ObservedGeneration = t.Generation
	if err := e.putLocked(k, t); err != nil {
		return nil, err
	}
	e.crons[k] = t
	e.scheduleLocked(k, t)
	e.logger.Info("cron trigger updated", "trigger", t.Name, "namespace", t.Namespace)
	return t.DeepCopy(), nil
}

// DeleteCronJobTrigger implements api.Backend.
func (e *Engine) DeleteCronJobTrigger(ctx context.Context, namespace, name string) error {
	namespace = defaultNS(namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return err
	}
	k := triggerKey(cronPrefix, namespace, name)
	if _, ok := e.crons[k]; !ok {
		return backend.Errorf(backend.CodeNotFound, "cron trigger %q not found in namespace %q", name, namespace)
	}
	return e.deleteCronLocked(k)
}

func (e *Engine) deleteCronLocked(k string) error {
	if err := e.store.Delete(k); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	delete(e.crons, k)
	e.sched.Remove(k)
	e.logger.Info("cron trigger deleted", "trigger", strings.TrimPrefix(k, cronPrefix))
	return nil
}

// GetCronJobTrigger implements api.Backend.
func (e *Engine) GetCronJobTrigger(ctx context.Context, namespace, name string) (*v1beta1.CronJobTrigger, error) {
	namespace = defaultNS(namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	t, ok := e.crons[triggerKey(cronPrefix, namespace, name)]
	if !ok {
		return nil, backend.Errorf(backend.CodeNotFound, "cron trigger %q not found in namespace %q", name, namespace)
	}
	return t.DeepCopy(), nil
}

// ListCronJobTriggers implements api.Backend.
func (e *Engine) ListCronJobTriggers(ctx context.Context, namespace string) ([]v1beta1.CronJobTrigger, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	out := []v1beta1.CronJobTrigger{}
	for _, t := range e.crons {
		if namespace == "" || t.Namespace == namespace {
			out = append(out, *t.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return fnKey(out[i].Namespace, out[i].Name) < fnKey(out[j].Namespace, out[j].Name)
	})
	return out, nil
}

// deleteTriggersOfLocked deletes the triggers that call function ns/name.
func (e *Engine) deleteTriggersOfLocked(ns, name string) {
	for k, h := range e.https {
		if h.t.Namespace == ns && h.t.Spec.FunctionName == name {
			if err := e.store.Delete(k); err != nil && !errors.Is(err, store.ErrNotFound) {
				e.logger.Error("delete HTTP trigger of deleted function", "trigger", k, "err", err)
				continue
			}
			delete(e.https, k)
			e.logger.Info("HTTP trigger deleted with its function", "trigger", h.t.Name, "namespace", ns, "function", name)
		}
	}
	for k, t := range e.crons {
		if t.Namespace == ns && t.Spec.FunctionName == name {
			if err := e.deleteCronLocked(k); err != nil {
				e.logger.Error("delete cron trigger of deleted function", "trigger", k, "err", err)
			}
		}
	}
}

// loadTriggersLocked reads the stored triggers.
func (e *Engine) loadTriggersLocked() {
	entries, err := e.store.List(httpPrefix)
	if err != nil {
		e.logger.Error("load stored HTTP triggers", "err", err)
	}
	for _, ent := range entries {
		var t v1beta1.HTTPTrigger
		if err := json.Unmarshal(ent.Value, &t); err != nil || t.Name == "" {
			e.logger.Error("unreadable stored HTTP trigger", "key", ent.Key, "err", err)
			continue
		}
		t.Namespace = defaultNS(t.Namespace)
		auth, err := readAuth(t.Spec.BasicAuthSecret)
		if err != nil {
			e.logger.Error("HTTP trigger basic auth unusable: it answers 500 until fixed", "trigger", t.Name, "err", err)
		}
		e.https[ent.Key] = &httpTrig{t: &t, auth: auth}
	}
	entries, err = e.store.List(cronPrefix)
	if err != nil {
		e.logger.Error("load stored cron triggers", "err", err)
	}
	for _, ent := range entries {
		var t v1beta1.CronJobTrigger
		if err := json.Unmarshal(ent.Value, &t); err != nil || t.Name == "" {
			e.logger.Error("unreadable stored cron trigger", "key", ent.Key, "err", err)
			continue
		}
		t.Namespace = defaultNS(t.Namespace)
		e.crons[ent.Key] = &t
		e.scheduleLocked(ent.Key, &t)
	}
}

func (e *Engine) scheduleLocked(k string, t *v1beta1.CronJobTrigger) {
	if err := e.sched.Set(k, t.Spec.Schedule, func(ctx context.Context, tick time.Time) { e.runCron(ctx, k, tick) }); err != nil {
		e.logger.Error("schedule cron trigger", "trigger", k, "err", err)
	}
}

// runCron calls the trigger's function once, through the gateway handler.
func (e *Engine) runCron(ctx context.Context, k string, tick time.Time) {
	e.mu.Lock()
	t, ok := e.crons[k]
	if ok {
		t = t.DeepCopy()
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
	cur, still := e.crons[k]
	if !still || e.store == nil || cur.Generation != t.Generation {
		return
	}
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
