package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/gateway"
	"github.com/kubeless/kubeless/pkg/contract"
)

// topTimeout bounds a whole Top, as the original's 5 s cut-off.
var topTimeout = 5 * time.Second

// fetchMetrics reads and sums the /metrics of the given instances
// (backend.ParseMetrics), each asked with its token.
func fetchMetrics(ctx context.Context, hc *http.Client, backends []gateway.Backend) (map[string]*backend.MethodStats, error) {
	total := map[string]*backend.MethodStats{}
	for _, b := range backends {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		if b.Token != "" {
			req.Header.Set(contract.HeaderInstanceToken, b.Token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, &fetchError{err}
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, &fetchError{fmt.Errorf("GET %s/metrics: %s", b.URL, resp.Status)}
		}
		m, err := backend.ParseMetrics(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			if total[k] == nil {
				total[k] = &backend.MethodStats{}
			}
			total[k].Add(*v)
		}
	}
	return total, nil
}

type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }

var metricsClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

// Top implements api.Backend: the metrics of one function, or of every
// function of namespace ("" for all), read from their ready instances.
func (e *Engine) Top(ctx context.Context, namespace, name string) ([]backend.FunctionMetrics, error) {
	type target struct {
		ns, name string
		backends []gateway.Backend
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
		targets = append(targets, target{namespace, name, append([]gateway.Backend(nil), st.backends...)})
	} else {
		for _, st := range e.fns {
			if namespace == "" || st.fn.Namespace == namespace {
				targets = append(targets, target{st.fn.Namespace, st.fn.Name, append([]gateway.Backend(nil), st.backends...)})
			}
		}
	}
	e.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, topTimeout)
	defer cancel()
	return backend.GatherMetrics(len(targets), func(i int) []backend.FunctionMetrics {
		t := targets[i]
		row := func(msg string) []backend.FunctionMetrics {
			return []backend.FunctionMetrics{{Function: t.name, Namespace: t.ns, Message: msg}}
		}
		if len(t.backends) == 0 {
			return row(backend.MsgNoReadyInstances)
		}
		m, err := fetchMetrics(ctx, metricsClient, t.backends)
		if err != nil {
			if _, ok := err.(*fetchError); ok {
				return row(backend.MsgNoMetrics)
			}
			return row(backend.MsgUnparsedMetrics)
		}
		return backend.MetricsRows(t.ns, t.name, m)
	}), nil
}
