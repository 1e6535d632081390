package host

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubeless/kubeless/pkg/functions"
)

// BenchmarkHandlerOverhead measures what the host adds to one in-process Go
// invocation (handler chain only, no network), against a bare handler.
func BenchmarkHandlerOverhead(b *testing.B) {
	hello := func(functions.Event, functions.Context) (string, error) { return "hello world", nil }
	cfg := testConfig()
	s := NewServer(cfg, NewGoInvoker(cfg, hello, discard), prometheus.NewRegistry(), io.Discard, discard)
	s.SetReady()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello world")
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"host", s}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest("GET", "/", nil)
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
