package events

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the counters of event delivery, labelled by trigger kind,
// namespace, trigger and function.
type Metrics struct {
	Received     *prometheus.CounterVec
	Delivered    *prometheus.CounterVec
	Failed       *prometheus.CounterVec
	Retried      *prometheus.CounterVec
	DeadLettered *prometheus.CounterVec
	Lag          *prometheus.GaugeVec
}

var metricLabels = []string{"kind", "namespace", "trigger", "function"}

// NewMetrics makes the metrics and registers them with reg (when not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, metricLabels)
	}
	m := &Metrics{
		Received:     counter("kubeless_event_messages_received_total", "Messages read from the broker, redeliveries included."),
		Delivered:    counter("kubeless_event_messages_delivered_total", "Messages the function answered with a 2xx status."),
		Failed:       counter("kubeless_event_calls_failed_total", "Calls of the function that failed (no answer, or a status other than 2xx)."),
		Retried:      counter("kubeless_event_calls_retried_total", "Calls repeated after a failed one."),
		DeadLettered: counter("kubeless_event_messages_dead_lettered_total", "Messages given up after the last retry: sent to the dead-letter topic, or logged."),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kubeless_event_consumer_lag_messages",
			Help: "Messages of the topic not yet delivered (Kafka: high watermark minus the next offset, summed over partitions)."}, metricLabels),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Received, m.Delivered, m.Failed, m.Retried, m.DeadLettered, m.Lag} {
			reg.MustRegister(c)
		}
	}
	return m
}

// Labels are the metric labels of one (trigger, function) pair.
type Labels struct{ Kind, Namespace, Trigger, Function string }

func (l Labels) values() []string { return []string{l.Kind, l.Namespace, l.Trigger, l.Function} }

// Forget removes the series of l (its trigger or function is gone).
func (m *Metrics) Forget(l Labels) {
	for _, v := range []*prometheus.CounterVec{m.Received, m.Delivered, m.Failed, m.Retried, m.DeadLettered} {
		v.DeleteLabelValues(l.values()...)
	}
	m.Lag.DeleteLabelValues(l.values()...)
}

// Init creates the series of l at zero, so that they are exported before
// the first message (a series that appears only with its first increment
// hides that increment from rate()).
func (m *Metrics) Init(l Labels) {
	for _, v := range []*prometheus.CounterVec{m.Received, m.Delivered, m.Failed, m.Retried, m.DeadLettered} {
		v.WithLabelValues(l.values()...)
	}
	m.Lag.WithLabelValues(l.values()...)
}
