package host

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the contract's metrics (runtime-contract.md §7.2), with the
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
			Name: "function_calls_total",
			Help: "Number of calls to user function",
		}, []string{"method"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "function_failures_total",
			Help: "Number of exceptions in user function",
		}, []string{"method"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "function_timeouts_total",
			Help: "Number of calls to user function that exceeded the time limit",
		}, []string{"method"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "function_duration_seconds",
			Help:    "Duration of user function in seconds",
			Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
	}
	reg.MustRegister(m.calls, m.failures, m.timeouts, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
