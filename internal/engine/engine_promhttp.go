package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// EnvMetricsAddr names a TCP address (host:port) where the daemon serves
// its /metrics for Prometheus, besides its API socket.
const EnvMetricsAddr = "KUBELESS_METRICS_ADDR"

// The daemon's Prometheus metrics: the event triggers' (internal/events),
// and the Go runtime's and the process's. They are served at GET /metrics
// on the API socket, and on $KUBELESS_METRICS_ADDR when set.

// newRegistry returns the registry of an engine given none, with the Go
// and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsHandler serves the engine's registry, or nil when the registry
// given in Options.Metrics cannot be read.
func (e *Engine) metricsHandler() http.Handler {
	if e.gatherer == nil {
		return nil
	}
	return promhttp.HandlerFor(e.gatherer, promhttp.HandlerOpts{})
}

// withMetrics adds GET /metrics to the API handler.
func (e *Engine) withMetrics(api http.Handler) http.Handler {
	h := e.metricsHandler()
	if h == nil {
		return api
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	mux.Handle("/", api)
	return mux
}

// listenMetrics listens on addr for /metrics; addr "" means
// $KUBELESS_METRICS_ADDR, and it returns nil when both are empty.
func (e *Engine) listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		addr = os.Getenv(EnvMetricsAddr)
	}
	if addr == "" || e.gatherer == nil {
		return nil, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s (set %s to use another address): %w", addr, EnvMetricsAddr, err)
	}
	e.metricsAddr = l.Addr().String()
	return l, nil
}

// serveMetrics serves /metrics on l until ctx ends.
func (e *Engine) serveMetrics(ctx context.Context, l net.Listener) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", e.metricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	e.logger.Info("serving metrics", "addr", l.Addr().String())
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.logger.Error("serve metrics", "addr", l.Addr().String(), "err", err)
		}
	}()
}

// MetricsAddr is where the engine serves /metrics over TCP once Ready, or
// "".
func (e *Engine) MetricsAddr() string { return e.metricsAddr }
