package host

import (
	"context"
	"testing"

	"github.com/kubeless/kubeless/pkg/contract"
)

// TestHealthzInstanceToken: /healthz returns the instance token it was
// given (KUBELESS_INSTANCE_TOKEN), and no such header without one.
func TestHealthzInstanceToken(t *testing.T) {
	for _, tt := range []struct {
		name, token string
	}{
		{"with a token", "tok-123"},
		{"without", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(contract.EnvInstanceToken + "=" + tt.token)
			if cfg.InstanceToken != tt.token {
				t.Fatalf("InstanceToken = %q, want %q", cfg.InstanceToken, tt.token)
			}
			s, _, _, ts := newTestServer(t, cfg, &fakeInvoker{fn: func(context.Context, *Call) error { return nil }})
			s.SetReady()
			status, _, hdr := get(t, ts.URL+"/healthz")
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if got := hdr.Get(contract.HeaderInstanceToken); got != tt.token {
				t.Errorf("%s = %q, want %q", contract.HeaderInstanceToken, got, tt.token)
			}
		})
	}
}
