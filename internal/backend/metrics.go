package backend

import (
	"io"
	"sort"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubeless/kubeless/pkg/contract"
)

// MethodStats are the sums of the function metrics of one HTTP method.
type MethodStats struct {
	Calls, Failures, DurationSeconds float64
}

// Add adds o to s.
func (s *MethodStats) Add(o MethodStats) {
	s.Calls += o.Calls
	s.Failures += o.Failures
	s.DurationSeconds += o.DurationSeconds
}

// ParseMetrics reads a Prometheus text exposition and sums the function
// metrics by their method label (the duration is the histogram's, or
// summary's, sample sum).
func ParseMetrics(r io.Reader) (map[string]*MethodStats, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := map[string]*MethodStats{}
	get := func(m *dto.Metric) *MethodStats {
		method := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == "method" {
				method = l.GetValue()
			}
		}
		s, ok := out[method]
		if !ok {
			s = &MethodStats{}
			out[method] = s
		}
		return s
	}
	value := func(m *dto.Metric) float64 {
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		if u := m.GetUntyped(); u != nil {
			return u.GetValue()
		}
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		return 0
	}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			switch name {
			case contract.MetricCalls:
				get(m).Calls += value(m)
			case contract.MetricFailures:
				get(m).Failures += value(m)
			case contract.MetricDuration:
				if h := m.GetHistogram(); h != nil {
					get(m).DurationSeconds += h.GetSampleSum()
				} else if s := m.GetSummary(); s != nil {
					get(m).DurationSeconds += s.GetSampleSum()
				}
			}
		}
	}
	return out, nil
}

// MetricsRows returns the rows of one function: one per method, sorted, or
// a single row without a method when there are no samples.
func MetricsRows(namespace, name string, stats map[string]*MethodStats) []FunctionMetrics {
	base := FunctionMetrics{Function: name, Namespace: namespace}
	if len(stats) == 0 {
		return []FunctionMetrics{base}
	}
	var rows []FunctionMetrics
	for method, s := range stats {
		r := base
		r.Method = method
		r.TotalCalls, r.TotalFailures, r.TotalDurationSeconds = s.Calls, s.Failures, s.DurationSeconds
		if s.Calls > 0 {
			r.AvgDurationSeconds = s.DurationSeconds / s.Calls
		}
		rows = append(rows, r)
	}
	SortMetrics(rows)
	return rows
}

// GatherMetrics calls rowsOf(i) for each i below n, concurrently, and
// returns all their rows, sorted by SortMetrics: the Top of both engines.
func GatherMetrics(n int, rowsOf func(i int) []FunctionMetrics) []FunctionMetrics {
	rows := make([][]FunctionMetrics, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows[i] = rowsOf(i)
		}()
	}
	wg.Wait()
	out := []FunctionMetrics{}
	for _, r := range rows {
		out = append(out, r...)
	}
	SortMetrics(out)
	return out
}

// SortMetrics sorts rows by function, namespace and method.
func SortMetrics(rows []FunctionMetrics) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Function != b.Function {
			return a.Function < b.Function
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Method < b.Method
	})
}

// FunctionMetrics is one row of `kubeless function top`: the calls of one
// HTTP method of a function, summed over its instances
// (docs/compatibility.md §4.4). A function without samples has one row with
// an empty Method; one whose metrics could not be read has Message set.
type FunctionMetrics struct {
	Function             string  `json:"function"`
	Namespace            string  `json:"namespace"`
	Method               string  `json:"method,omitempty"`
	Message              string  `json:"message,omitempty"`
	TotalCalls           float64 `json:"total_calls,omitempty"`
	TotalFailures        float64 `json:"total_failures,omitempty"`
	TotalDurationSeconds float64 `json:"total_duration_seconds,omitempty"`
	AvgDurationSeconds   float64 `json:"avg_duration_seconds,omitempty"`
}

// Messages of FunctionMetrics, as the original's.
const (
	MsgNoMetrics        = "Function does not expose metrics"
	MsgUnparsedMetrics  = "Unable to get function metrics"
	MsgNoReadyInstances = "Function has no ready instance"
)
