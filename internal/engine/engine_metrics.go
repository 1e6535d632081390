package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubeless/kubeless/internal/engine/api"
)

// topTimeout bounds a whole Top, as the original's 5 s cut-off.
var topTimeout = 5 * time.Second

// Metric names of the runtime contract (kubeless-reference.md §5.4).
const (
	metricCalls    = "function_calls_total"
	metricFailures = "function_failures_total"
	metricDuration = "function_duration_seconds"
)

// methodStats are the sums of one method.
type methodStats struct {
	calls, failures, duration float64
}

// parseMetrics reads Prometheus text and sums the function metrics by the
// method label.
func parseMetrics(r io.Reader) (map[string]*methodStats, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := map[string]*methodStats{}
	get := func(m *dto.Metric) *methodStats {
		method := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == "method" {
				method = l.GetValue()
			}
		}
		s, ok := out[method]
		if !ok {
			s = &methodStats{}
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
			case metricCalls:
				get(m).calls += value(m)
			case metricFailures:
				get(m).failures += value(m)
			case metricDuration:
				if h := m.GetHistogram(); h != nil {
					get(m).duration += h.GetSampleSum()
				} else if s := m.GetSummary(); s != nil {
					get(m).duration += s.GetSampleSum()
				}
			}
		}
	}
	return out, nil
}

// fetchMetrics reads and sums the /metrics of the given instances.
func fetchMetrics(ctx context.Context, hc *http.Client, backends []string) (map[string]*methodStats, error) {
	total := map[string]*methodStats{}
	for _, b := range backends {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, &fetchError{err}
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, &fetchError{fmt.Errorf("GET %s/metrics: %s", b, resp.Status)}
		}
		m, err := parseMetrics(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			s, ok := total[k]
			if !ok {
				s = &methodStats{}
				total[k] = s
			}
			s.calls += v.calls
			s.failures += v.failures
			s.duration += v.duration
		}
	}
	return total, nil
}

type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }

var metricsClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

// Top implements api.Backend: the metrics of one function, or of every
// function of namespace ("" for all), read from their ready instances.
func (e *Engine) Top(ctx context.Context, namespace, name string) ([]api.FunctionMetrics, error) {
	type target struct {
		ns, name string
		backends []string
	}
	var targets []target
	e.mu.Lock()
	if err := e.activeLocked(); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if name != "" {
		namespace = defaultNS(namespace)
		st, ok := e.fns[fnKey(namespace, name)]
		if !ok {
			e.mu.Unlock()
			return nil, notFound(namespace, name)
		}
		targets = append(targets, target{namespace, name, append([]string(nil), st.backends...)})
	} else {
		for _, st := range e.fns {
			if namespace == "" || st.fn.Namespace == namespace {
				targets = append(targets, target{st.fn.Namespace, st.fn.Name, append([]string(nil), st.backends...)})
			}
		}
	}
	e.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, topTimeout)
	defer cancel()
	rows := make([][]api.FunctionMetrics, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := api.FunctionMetrics{Function: t.name, Namespace: t.ns}
			if len(t.backends) == 0 {
				base.Message = api.MsgNoReadyInstances
				rows[i] = []api.FunctionMetrics{base}
				return
			}
			m, err := fetchMetrics(ctx, metricsClient, t.backends)
			if err != nil {
				base.Message = api.MsgUnparsedMetrics
				if _, ok := err.(*fetchError); ok {
					base.Message = api.MsgNoMetrics
				}
				rows[i] = []api.FunctionMetrics{base}
				return
			}
			if len(m) == 0 {
				rows[i] = []api.FunctionMetrics{base}
				return
			}
			for method, s := range m {
				r := base
				r.Method = method
				r.TotalCalls, r.TotalFailures, r.TotalDurationSeconds = s.calls, s.failures, s.duration
				if s.calls > 0 {
					r.AvgDurationSeconds = s.duration / s.calls
				}
				rows[i] = append(rows[i], r)
			}
		}()
	}
	wg.Wait()
	out := []api.FunctionMetrics{}
	for _, r := range rows {
		out = append(out, r...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Function != b.Function {
			return a.Function < b.Function
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Method < b.Method
	})
	return out, nil
}
