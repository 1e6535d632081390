package engine

import (
	"context"
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
//
// clamped to [min, max]. It scales up at once and down by one instance per
// interval. Changing the autoscaler does not rebuild or restart the
// function: the running instances are kept and the next evaluation applies
// the new bounds.

// autoscaleInterval is how often the instance count is evaluated.
var autoscaleInterval = 5 * time.Second

// scalePolicy is what the engine uses of a HorizontalPodAutoscaler.
type scalePolicy struct {
	min, max int
	metric   string // "cpu" or "qps"
	value    float64
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
	p.min = min(p.min, p.max)
	for _, m := range h.Spec.Metrics {
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU:
			p.metric = "cpu"
			if u := m.Resource.Target.AverageUtilization; u != nil {
				p.value = float64(*u)
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
// when unknown).
func (p *scalePolicy) desired(cur int, qps, cpu float64) int {
	n := cur
	switch {
	case p.value <= 0:
	case p.metric == "qps":
		n = int(math.Ceil(qps / p.value))
	case p.metric == "cpu" && cpu >= 0:
		n = int(math.Ceil(float64(cur) * cpu / p.value))
	}
	if n < cur-1 {
		n = cur - 1 // down one at a time
	}
	return max(p.min, min(p.max, n))
}

// scaleSampler turns successive samples of the instances into rates.
type scaleSampler struct {
	at    time.Time
	calls map[string]float64 // by instance URL
	cpu   map[string]float64 // CPU seconds by instance name
}

// sample returns the calls per second and average CPU utilization (percent,
// -1 when unknown) since the previous sample; ok is false on the first.
func (s *scaleSampler) sample(ctx context.Context, e *Engine, insts []instance) (qps, cpu float64, ok bool) {
	now := time.Now()
	calls := map[string]float64{}
	cpus := map[string]float64{}
	for _, in := range insts {
		c, cctx := 0.0, ctx
		if m, err := fetchMetrics(cctx, metricsClient, []gateway.Backend{in.backend()}); err == nil {
			for _, v := range m {
				c += v.Calls
			}
			calls[in.url] = c
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
func (e *Engine) rescale(ctx context.Context, k string, s *scaleSampler, insts *[]instance, start func(int) error, log *slog.Logger) bool {
	p, fixed := e.currentPolicy(k)
	cur := len(*insts)
	want := int(fixed)
	if p != nil {
		qps, cpu, ok := s.sample(ctx, e, *insts)
		if !ok {
			want = max(p.min, min(p.max, cur))
		} else {
			want = p.desired(cur, qps, cpu)
		}
	}
	if want == cur {
		return false
	}
	log.Info("scaling function", "from", cur, "to", want)
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
