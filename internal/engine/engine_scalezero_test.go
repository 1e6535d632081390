package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// zeroFunction is testFunction with an autoscaler from 0 to maxR
// instances, idle after window; target > 0 scales on concurrency.
func zeroFunction(t *testing.T, name, code string, maxR int32, window string, target int64) *v1beta1.Function {
	t.Helper()
	fn := testFunction(name, code)
	zero := int32(0)
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{v1beta1.AnnotationIdleWindow: window}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &zero, MaxReplicas: maxR,
		},
	}
	if target > 0 {
		q := resource.NewQuantity(target, resource.DecimalSI)
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: v1beta1.MetricConcurrency},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q}}}}
	}
	if err := fn.Spec.SetAutoscaler(h); err != nil {
		t.Fatal(err)
	}
	return fn
}

// scaleEvents makes the engine send its scale events of function name.
func scaleEvents(e *Engine, name string) <-chan v1beta1.ScaleEvent {
	ch := make(chan v1beta1.ScaleEvent, 64)
	e.scaleHook = func(k string, ev v1beta1.ScaleEvent) {
		if k == fnKey("default", name) {
			ch <- ev
		}
	}
	return ch
}

// nextScale waits for a scale event to `to` instances, skipping others.
func nextScale(t *testing.T, ch <-chan v1beta1.ScaleEvent, to int32) v1beta1.ScaleEvent {
	t.Helper()
	deadline := time.After(2 * time.Minute) // a failure bound only
	for {
		select {
		case ev := <-ch:
			if ev.To == to {
				return ev
			}
		case <-deadline:
			t.Fatalf("no scale event to %d", to)
		}
	}
}

// runningInstances counts the function's processes that run.
func runningInstances(e *Engine, name string) int {
	n := 0
	for _, s := range e.sup.List() {
		if strings.HasPrefix(s.Name, fnKey("default", name)+"/") && s.State == "running" {
			n++
		}
	}
	return n
}

// waitHeld waits until the gateway holds n calls of the function.
func waitHeld(t *testing.T, e *Engine, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a failure bound only
	for e.gw.Activity("default", name).Held < n {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway holds %d calls, want %d", e.gw.Activity("default", name).Held, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestScaleToZeroAndBack(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	events := scaleEvents(e, "idle")
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "idle", "v1", 2, "100ms", 0)); err != nil {
		t.Fatal(err)
	}
	fn := waitReason(t, e, "idle", reasonIdle)
	if fn.Status.Ready != "0/0" || readyCondition(fn).Status != metav1.ConditionTrue {
		t.Errorf("built at zero: ready %q, condition %+v", fn.Status.Ready, readyCondition(fn))
	}
	if n := runningInstances(e, "idle"); n != 0 {
		t.Fatalf("%d instances run before any call", n)
	}
	if code, body := call(t, e, "/idle", "ping"); code != 200 || body != "v1||ping" {
		t.Fatalf("first call = %d %q", code, body)
	}
	if ev := nextScale(t, events, 1); ev.From != 0 || ev.Reason != "a call came" {
		t.Errorf("wake event = %+v", ev)
	}
	// No call for the window: the instance stops.
	if ev := nextScale(t, events, 0); ev.From != 1 || !strings.HasPrefix(ev.Reason, "no call for 100ms") {
		t.Errorf("idle event = %+v", ev)
	}
	if n := runningInstances(e, "idle"); n != 0 {
		t.Errorf("%d instances run after the idle window", n)
	}
	fn, _ = e.Get(ctx, "default", "idle")
	if c := readyCondition(fn); c.Reason != reasonIdle || fn.Status.Ready != "0/0" {
		t.Errorf("after the idle window: %s %q", c.Reason, fn.Status.Ready)
	}
	if len(fn.Status.ScaleEvents) < 2 {
		t.Errorf("scale events = %+v", fn.Status.ScaleEvents)
	}
	// The next call is answered again.
	if code, body := call(t, e, "/idle", "again"); code != 200 || body != "v1||again" {
		t.Fatalf("call after zero = %d %q", code, body)
	}
	nextScale(t, events, 1)

	// An update of a function at zero goes on at zero with the new code.
	nextScale(t, events, 0)
	if _, err := e.Update(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "idle"}, Spec: v1beta1.FunctionSpec{Function: "v2"}}); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "idle", reasonIdle)
	if code, body := call(t, e, "/idle", "x"); code != 200 || body != "v2||x" {
		t.Fatalf("call after update = %d %q", code, body)
	}
}

func TestCallsHeldWhileStarting(t *testing.T) {
	// The gate file is shared with the instance: no private /tmp.
	t.Setenv(envSandbox, "off")
	// The calls are held from the first one until the gate opens: on a
	// loaded machine that may take long, and it must not reach the hold
	// timeout (the start timeout).
	defer func(d time.Duration) { testStartTimeout = d }(testStartTimeout)
	testStartTimeout = 5 * time.Minute
	e, _ := newTestEngine(t, t.TempDir())
	gate := filepath.Join(t.TempDir(), "gate")
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "slow", "startgate "+gate, 1, "1h", 0)); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "slow", reasonIdle)
	const n = 5
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, n)
	for i := range n {
		go func() {
			code, body := call(t, e, "/slow", fmt.Sprint(i))
			answers <- answer{code, body}
		}()
	}
	// All are held while the instance does not serve; then all are
	// answered by it.
	waitHeld(t, e, "slow", n)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range n {
		a := <-answers
		if a.code != 200 {
			t.Errorf("held call = %d %q", a.code, a.body)
		}
		got[a.body] = true
	}
	if len(got) != n {
		t.Errorf("answers = %v", got)
	}
}

func TestFailedStartFromZero(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "bad", "crash", 1, "1h", 0)); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "bad", reasonIdle)
	code, body := call(t, e, "/bad", "")
	if code != 503 || !strings.Contains(body, `function "bad" could not start: starting an instance for a call failed: the instance exited`) ||
		!strings.Contains(body, "crash on purpose") {
		t.Errorf("call = %d %q", code, body)
	}
	fn, _ := e.Get(ctx, "default", "bad")
	c := readyCondition(fn)
	if c.Reason != reasonInstanceFailed || !strings.Contains(c.Message, "module hello cannot load") {
		t.Errorf("condition = %+v", c)
	}
	if n := runningInstances(e, "bad"); n != 0 {
		t.Errorf("%d instances left running", n)
	}
	// The next call tries again, and says why again.
	if code, body := call(t, e, "/bad", ""); code != 503 || !strings.Contains(body, "could not start") {
		t.Errorf("second call = %d %q", code, body)
	}
}

func TestCronWakesFunctionAtZero(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	events := scaleEvents(e, "tick")
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "tick", "v1", 1, "1h", 0)); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "tick", reasonIdle)
	status, msg := e.callFunction(ctx, "default", "tick", nil, time.Now())
	if status != 200 {
		t.Fatalf("cron call = %d %s", status, msg)
	}
	if ev := nextScale(t, events, 1); ev.Reason != "a call came" {
		t.Errorf("event = %+v", ev)
	}
}

func TestConcurrencyScalesFromZeroUpAndDown(t *testing.T) {
	// The gate file is shared with the instance: no private /tmp.
	t.Setenv(envSandbox, "off")
	e, _ := newTestEngine(t, t.TempDir())
	events := scaleEvents(e, "busy")
	gate := filepath.Join(t.TempDir(), "gate")
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "busy", "callgate "+gate, 3, "300ms", 1)); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "busy", reasonIdle)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := call(t, e, "/busy", fmt.Sprint(i)); code != 200 {
				t.Errorf("call = %d %q", code, body)
			}
		}()
	}
	nextScale(t, events, 1)
	// Three calls in flight, one per instance: up to the maximum.
	nextScale(t, events, 3)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	nextScale(t, events, 0)
	fn, _ := e.Get(ctx, "default", "busy")
	var tos []int32
	for _, ev := range fn.Status.ScaleEvents {
		tos = append(tos, ev.To)
	}
	if len(tos) < 3 || tos[0] != 1 || tos[len(tos)-1] != 0 {
		t.Errorf("scale events = %+v", fn.Status.ScaleEvents)
	}
}

func TestScaleToZeroValidation(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	fn := zeroFunction(t, "v", "v1", 1, "soon", 0)
	if _, err := e.Deploy(ctx, fn); err == nil {
		t.Fatal("deploy with a bad idle window: no error")
	}
	if _, err := e.Deploy(ctx, testFunction("w", "v1")); err != nil {
		t.Fatal(err)
	}
	zero := int32(0)
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &zero, MaxReplicas: 2}}
	h.Annotations = map[string]string{v1beta1.AnnotationIdleWindow: "-1s"}
	if _, err := e.SetAutoscaler(ctx, "default", "w", h); !backend.IsInvalid(err) || !strings.Contains(err.Error(), "invalid idle window") {
		t.Errorf("bad window: %v", err)
	}
	h.Annotations = nil
	if _, err := e.SetAutoscaler(ctx, "default", "w", h); err != nil {
		t.Errorf("--min 0: %v", err)
	}
}

func TestBuildSlotsBoundBuilds(t *testing.T) {
	e := New(Options{Home: t.TempDir()})
	var releases []func()
	for range cap(e.builds) {
		r, err := e.buildSlot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	// All slots taken: a build waits until its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.buildSlot(ctx); err == nil {
		t.Fatal("a build slot beyond the bound")
	}
	releases[0]()
	r, err := e.buildSlot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r()
}

func TestFailedBuildOfFunctionAtZeroAnswersAtOnce(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "upd", "v1", 1, "1h", 0)); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "upd", reasonIdle)
	if _, err := e.Update(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "upd"}, Spec: v1beta1.FunctionSpec{Deps: "fail\n"}}); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "upd", reasonBuildFailed)
	// The hold timeout is the start timeout (10s here): an answer without
	// the 504 proves the call was not held.
	code, body := call(t, e, "/upd", "")
	if code != 503 || !strings.Contains(body, `function "upd" could not start:`) {
		t.Errorf("call = %d %q", code, body)
	}
}

func TestFunctionAtZeroSurvivesEngineRestart(t *testing.T) {
	home := t.TempDir()
	e, stop := newTestEngine(t, home)
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "keep", "v1", 1, "1h", 0)); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "keep", reasonIdle)
	stop()
	e, stopCurrent := newTestEngine(t, home)
	waitReason(t, e, "keep", reasonIdle)
	if n := runningInstances(e, "keep"); n != 0 {
		t.Errorf("%d instances after the restart", n)
	}
	if code, body := call(t, e, "/keep", "x"); code != 200 || body != "v1||x" {
		t.Errorf("call after restart = %d %q", code, body)
	}
	// Called at once after a restart, while it is built again: held, then
	// answered (not 503 "Building").
	stopCurrent()
	e, _ = newTestEngine(t, home)
	if code, body := call(t, e, "/keep", "y"); code != 200 || body != "v1||y" {
		t.Errorf("call during the rebuild = %d %q", code, body)
	}
	rows, err := e.Top(ctx, "default", "keep")
	if err != nil || len(rows) != 1 {
		t.Errorf("top = %+v, %v", rows, err)
	}
}

func TestUpdateOfWarmFunctionThatScalesToZero(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "warm", "v1", 1, "1h", 0)); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "warm", reasonIdle)
	if code, body := call(t, e, "/warm", "a"); code != 200 || body != "v1||a" {
		t.Fatalf("call = %d %q", code, body)
	}
	if _, err := e.Update(ctx, &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "warm"}, Spec: v1beta1.FunctionSpec{Function: "v2"}}); err != nil {
		t.Fatal(err)
	}
	// Until the new generation is built the old instance answers; then
	// the new one starts for the next call.
	fn := waitReason(t, e, "warm", reasonIdle)
	if fn.Generation != 2 {
		t.Fatalf("generation %d", fn.Generation)
	}
	if code, body := call(t, e, "/warm", "b"); code != 200 || body != "v2||b" {
		t.Errorf("call after the update = %d %q", code, body)
	}
}

// `autoscale create` without --idle-window keeps the idle window that
// `function deploy --idle-window` set; with one, it replaces it.
func TestSetAutoscalerKeepsIdleWindow(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, zeroFunction(t, "w", "v1", 1, "7m", 0)); err != nil {
		t.Fatal(err)
	}
	zero := int32(0)
	q := resource.MustParse("5")
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &zero, MaxReplicas: 3,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: v1beta1.MetricConcurrency},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}}}}}}
	fn, err := e.SetAutoscaler(ctx, "default", "w", h)
	if err != nil {
		t.Fatal(err)
	}
	if p := policyOf(fn); p == nil || p.idle != 7*time.Minute || p.max != 3 || p.metric != "concurrency" {
		t.Errorf("after autoscale create without --idle-window: policy %+v, want idle 7m, max 3, concurrency", p)
	}
	if h.Annotations != nil {
		t.Errorf("the caller's autoscaler was modified: %v", h.Annotations)
	}
	h.Annotations = map[string]string{v1beta1.AnnotationIdleWindow: "2m"}
	if fn, err = e.SetAutoscaler(ctx, "default", "w", h); err != nil {
		t.Fatal(err)
	}
	if p := policyOf(fn); p == nil || p.idle != 2*time.Minute {
		t.Errorf("after autoscale create --idle-window 2m: policy %+v", p)
	}
	stored, _ := e.Get(ctx, "default", "w")
	if p := policyOf(stored); p == nil || p.idle != 2*time.Minute {
		t.Errorf("stored policy %+v, want idle 2m", p)
	}
}
