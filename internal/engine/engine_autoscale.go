package engine

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/internal/proctree"
)

// Autoscaling on the local engine. A function with a horizontalPodAutoscaler
// runs between its minReplicas and maxReplicas instances. Every
// autoscaleInterval the engine samples its instances and sets the count to
//
//   - qps (an Object metric): ceil(calls per second over all instances ÷
//     value), the calls being read from the instances' function_calls_total;
//   - cpu (a Resource metric, a target average utilization in percent):
//     ceil(instances × observed average utilization ÷ value), the
//     utilization being the CPU time of each instance's whole process tree,
//     the workers of interpreted runtimes included (Linux
//     /proc; elsewhere the count stays as it is);
//   - concurrency (a Pods metric named v1beta1.MetricConcurrency, a target
//     average value): ceil(calls in flight ÷ value), the calls in flight
//     being the gateway's (held ones included), averaged over the samples
//     taken each second since the last evaluation, as Knative's autoscaler
//     does;
//
// clamped to [max(min, 1), max]. It scales up at once and down by one
// instance per interval. Zero instances come only from the idle window,
// with minReplicas 0 (engine_scalezero.go). Changing the autoscaler does
// not rebuild or restart the function: the running instances are kept and
// the next evaluation applies the new bounds.

// autoscaleInterval is how often the instance count is evaluated.
var autoscaleInterval = 5 * time.Second

// scalePolicy is what the engine uses of a HorizontalPodAutoscaler.
type scalePolicy struct {
	min, max int
	metric   string // "cpu", "qps" or "concurrency"
	value    float64
	idle     time.Duration // the autoscaler's idle window; 0: the engine's
}

// policyOf returns the function's scale policy, or nil without one.
func policyOf(fn *v1beta1.Function) *scalePolicy {
	h, err := fn.Spec.Autoscaler()
	if err != nil || h == nil {
		return nil
	}
	p := &scalePolicy{min: 1, max: int(h.Spec.MaxReplicas)}
	if h.Spec.MinReplicas != nil {
		p.min = int(*h.Spec.MinReplicas)
	}
	if p.max < p.min {
		p.max = p.min
	}
	p.max = min(p.max, maxReplicas) // whatever the stored spec says
	p.min = max(0, min(p.min, p.max))
	p.idle, _ = backend.IdleWindow(h)
	for _, m := range h.Spec.Metrics {
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU:
			p.metric = "cpu"
			if u := m.Resource.Target.AverageUtilization; u != nil {
				p.value = float64(*u)
			}
		case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil && m.Pods.Metric.Name == v1beta1.MetricConcurrency:
			p.metric = "concurrency"
			if v := m.Pods.Target.AverageValue; v != nil {
				p.value = v.AsApproximateFloat64()
			} else if v := m.Pods.Target.Value; v != nil {
				p.value = v.AsApproximateFloat64()
			}
		case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
			p.metric = "qps"
			if v := m.Object.Target.Value; v != nil {
				p.value = v.AsApproximateFloat64()
			} else if v := m.Object.Target.AverageValue; v != nil {
				p.value = v.AsApproximateFloat64()
			}
		}
		if p.metric != "" {
			break
		}
	}
	return p
}

// desired is the instance count for observed load: qps is the calls per
// second of all instances, cpu their average utilization in percent (< 0
// when unknown), conc the average calls in flight.
func (p *scalePolicy) desired(cur int, qps, cpu, conc float64) int {
	n := cur
	switch {
	case p.value <= 0:
	case p.metric == "qps":
		n = int(math.Ceil(qps / p.value))
	case p.metric == "cpu" && cpu >= 0:
		n = int(math.Ceil(float64(cur) * cpu / p.value))
	case p.metric == "concurrency":
		n = int(math.Ceil(conc / p.value))
	}
	if n < cur-1 {
		n = cur - 1 // down one at a time
	}
	return max(p.min, 1, min(p.max, n))
}

// why says what made the count change, for the scale events.
func (p *scalePolicy) why(qps, cpu, conc float64) string {
	switch p.metric {
	case "qps":
		return fmt.Sprintf("qps %.3g, target %.3g per instance", qps, p.value)
	case "cpu":
		return fmt.Sprintf("cpu %.0f%%, target %.0f%%", cpu, p.value)
	case "concurrency":
		return fmt.Sprintf("%.3g calls in flight, target %.3g per instance", conc, p.value)
	}
	return fmt.Sprintf("bounds %d to %d", p.min, p.max)
}

// scaleSampler turns successive samples of the instances into rates.
type scaleSampler struct {
	at    time.Time
	calls map[string]float64 // by instance URL
	cpu   map[string]float64 // CPU seconds by instance name

	inFlight float64 // sum of the calls in flight seen since the last sample
	observed int     // how many times they were seen
}

// observe records the gateway's calls in flight (once a second).
func (s *scaleSampler) observe(n int) {
	s.inFlight += float64(n)
	s.observed++
}

// concurrency returns the average calls in flight since the last call.
func (s *scaleSampler) concurrency() float64 {
	c := 0.0
	if s.observed > 0 {
		c = s.inFlight / float64(s.observed)
	}
	s.inFlight, s.observed = 0, 0
	return c
}

// sample returns the calls per second and average CPU utilization (percent,
// -1 when unknown) since the previous sample; ok is false on the first.
//
// Only what metric needs is read ("qps": the instances' metrics, "cpu":
// their process trees, which means reading every process's /proc entry):
// a function that scales on concurrency, or only between bounds, costs
// nothing here.
func (s *scaleSampler) sample(ctx context.Context, e *Engine, insts []instance, metric string) (qps, cpu float64, ok bool) {
	now := time.Now()
	calls := map[string]float64{}
	cpus := map[string]float64{}
	for _, in := range insts {
		if metric == "qps" {
			if m, err := fetchMetrics(ctx, metricsClient, []gateway.Backend{in.backend()}); err == nil {
				c := 0.0
				for _, v := range m {
					c += v.Calls
				}
				calls[in.url] = c
			}
		}
		if metric != "cpu" {
			continue
		}
		if st, err := e.sup.Status(in.name); err == nil && st.PID > 0 {
			if sec, ok := proctree.TreeCPUSeconds(st.PID); ok {
				cpus[in.name] = sec
			}
		}
	}
	prevAt, prevCalls, prevCPU := s.at, s.calls, s.cpu
	s.at, s.calls, s.cpu = now, calls, cpus
	if prevAt.IsZero() {
		return 0, -1, false
	}
	dt := now.Sub(prevAt).Seconds()
	if dt <= 0 {
		return 0, -1, false
	}
	var dc float64
	for u, c := range calls {
		if p, ok := prevCalls[u]; ok && c >= p {
			dc += c - p
		}
	}
	cpu = -1
	var dcpu float64
	n := 0
	for name, c := range cpus {
		if p, ok := prevCPU[name]; ok && c >= p {
			dcpu += c - p
			n++
		}
	}
	if n > 0 {
		cpu = dcpu / dt / float64(n) * 100
	}
	return dc / dt, cpu, true
}

// SetAutoscaler implements api.Backend.
func (e *Engine) SetAutoscaler(ctx context.Context, namespace, name string, h *autoscalingv2.HorizontalPodAutoscaler) (*v1beta1.Function, error) {
	namespace = defaultNS(namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.activeLocked(); err != nil {
		return nil, err
	}
	st, ok := e.fns[fnKey(namespace, name)]
	if !ok {
		return nil, notFound(namespace, name)
	}
	fn := st.fn.DeepCopy()
	if h == nil {
		if p := policyOf(fn); p == nil {
			return nil, backend.Errorf(backend.CodeNotFound, "Not found an autoscale definition for %s", name)
		}
	} else {
		var err error
		if h, err = backend.NormalizeAutoscaler(h, namespace, name, maxReplicas, "local"); err != nil {
			return nil, err
		}
		if cur, err := fn.Spec.Autoscaler(); err == nil {
			h = backend.KeepIdleWindow(cur, h)
		}
	}
	if err := fn.Spec.SetAutoscaler(h); err != nil {
		return nil, &backend.Error{Code: backend.CodeInvalid, Message: err.Error()}
	}
	if h != nil && policyOf(fn) == nil {
		return nil, backend.Errorf(backend.CodeInvalid, "the autoscaler of %s is not usable", name)
	}
	if err := e.persistLocked(fn); err != nil {
		return nil, err
	}
	st.fn = fn
	select {
	case st.wakeChanLocked() <- struct{}{}: // a function at zero rereads its bounds
	default:
	}
	e.logger.Info("function autoscaler set", "function", name, "namespace", namespace, "removed", h == nil)
	return fn.DeepCopy(), nil
}

// currentPolicy returns the stored function's policy (it may change while
// a generation runs).
func (e *Engine) currentPolicy(k string) (*scalePolicy, int32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.fns[k]
	if !ok {
		return nil, 1
	}
	return policyOf(st.fn), replicas(st.fn)
}

// rescale evaluates the function's policy and starts or stops instances;
// it reports whether the count changed.
func (e *Engine) rescale(ctx context.Context, k string, gen int64, s *scaleSampler, insts *[]instance, start func(int) error, log *slog.Logger) bool {
	p, fixed := e.currentPolicy(k)
	cur := len(*insts)
	want := int(fixed)
	why := "replicas"
	if p != nil {
		qps, cpu, ok := s.sample(ctx, e, *insts, p.metric)
		conc := s.concurrency()
		if !ok {
			want = max(p.min, 1, min(p.max, cur))
			why = p.why(0, 0, 0)
		} else {
			want = p.desired(cur, qps, cpu, conc)
			why = p.why(qps, cpu, conc)
		}
	}
	if want == cur {
		return false
	}
	defer func() { e.recordScale(ctx, k, gen, cur, len(*insts), why, log) }()
	for len(*insts) < want {
		if err := start(len(*insts)); err != nil {
			log.Warn("scale up", "err", err)
			break
		}
	}
	for len(*insts) > want && len(*insts) > 0 {
		last := (*insts)[len(*insts)-1]
		*insts = (*insts)[:len(*insts)-1]
		if err := e.sup.Remove(last.name, e.opts.StopGrace); err != nil {
			log.Warn("scale down", "instance", last.name, "err", err)
		}
		e.sandbox.Kill(last.name)
	}
	return len(*insts) != cur
}
