package host

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kubeless/kubeless/pkg/contract"
)

// metrics are the contract's metrics (docs/runtime-contract.md §7.2), with the
// original Kubeless names and help texts, on an explicit registry.
type metrics struct {
	calls    *prometheus.CounterVec
	failures *prometheus.CounterVec
	timeouts *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newMetrics registers the contract metrics, plus the Go and process
// collectors, on reg.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: contract.MetricCalls,
			Help: "Number of calls to user function",
		}, []string{"method"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: contract.MetricFailures,
			Help: "Number of exceptions in user function",
		}, []string{"method"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "function_timeouts_total",
			Help: "Number of calls to user function that exceeded the time limit",
		}, []string{"method"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    contract.MetricDuration,
			Help:    "Duration of user function in seconds",
			Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
	}
	reg.MustRegister(m.calls, m.failures, m.timeouts, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// methodMetrics are one method's series, resolved on the method's first
// call (so unused methods show no series) and then without label lookups.
type methodMetrics struct {
	once                      sync.Once
	vecs                      *metrics
	method                    string
	calls, failures, timeouts prometheus.Counter
	duration                  prometheus.Observer
}

func (mm *methodMetrics) get() *methodMetrics {
	mm.once.Do(func() {
		mm.calls = mm.vecs.calls.WithLabelValues(mm.method)
		mm.failures = mm.vecs.failures.WithLabelValues(mm.method)
		mm.timeouts = mm.vecs.timeouts.WithLabelValues(mm.method)
		mm.duration = mm.vecs.duration.WithLabelValues(mm.method)
	})
	return mm
}

// forMethods prepares the series of every method that invokes the function.
func (m *metrics) forMethods() map[string]*methodMetrics {
	out := map[string]*methodMetrics{}
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} {
		out[method] = &methodMetrics{vecs: m, method: method}
	}
	return out
}
