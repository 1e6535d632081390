package kubeengine

import (
	"context"
	"testing"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/backend/backendtest"
	"github.com/kubeless/kubeless/internal/fnspec/fnspectest"
)

// TestDeployUsesFnspec: the Kubernetes engine refuses each bad spec of the
// shared table with fnspec's exact message before the API server sees it,
// on deploy and on update.
func TestDeployUsesFnspec(t *testing.T) {
	ctx := context.Background()
	f := newFakes(t, nil)
	if _, err := f.e.Deploy(ctx, function("team", "good")); err != nil {
		t.Fatal(err)
	}
	for _, c := range fnspectest.Bad {
		t.Run(c.Name, func(t *testing.T) {
			fn := function("team", "bad")
			backendtest.SetBad(fn, c)
			_, err := f.e.Deploy(ctx, fn)
			wantCode(t, err, backend.CodeInvalid, c.Message)
			var stored v1beta1.FunctionList
			if err := f.c.List(ctx, &stored); err != nil || len(stored.Items) != 1 {
				t.Errorf("stored functions: %d, %v; want only the good one", len(stored.Items), err)
			}
			fn.Name = "good"
			_, err = f.e.Update(ctx, fn)
			wantCode(t, err, backend.CodeInvalid, c.Message)
		})
	}
}
