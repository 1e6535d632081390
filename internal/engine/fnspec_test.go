package engine

import (
	"context"
	"testing"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/backend/backendtest"
	"github.com/kubeless/kubeless/internal/fnspec/fnspectest"
)

// TestDeployUsesFnspec: the local engine refuses each bad spec of the
// shared table with fnspec's exact message, on deploy and on update.
func TestDeployUsesFnspec(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("good", "v1")); err != nil {
		t.Fatal(err)
	}
	for _, c := range fnspectest.Bad {
		t.Run(c.Name, func(t *testing.T) {
			fn := testFunction("bad", "v1")
			backendtest.SetBad(fn, c)
			if _, err := e.Deploy(ctx, fn); err == nil || err.Error() != c.Message || backend.CodeOf(err) != backend.CodeInvalid {
				t.Errorf("deploy: %v (code %q), want %q", err, backend.CodeOf(err), c.Message)
			}
			fn.Name = "good"
			if _, err := e.Update(ctx, fn); err == nil || err.Error() != c.Message {
				t.Errorf("update: %v, want %q", err, c.Message)
			}
		})
	}
}
