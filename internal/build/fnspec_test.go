package build

import (
	"context"
	"testing"

	"github.com/kubeless/kubeless/internal/fnspec"
	"github.com/kubeless/kubeless/internal/fnspec/fnspectest"
)

// TestBuildUsesFnspec: the builder refuses each bad spec of the shared
// table with fnspec's exact message (its Function has no timeout), and a
// function without a handler with fnspec.ErrNoHandler.
func TestBuildUsesFnspec(t *testing.T) {
	b := newTestBuilder(t)
	for _, c := range fnspectest.Bad {
		if c.Field == fnspec.FieldTimeout {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			s := fnspec.Spec{Runtime: "fake1", Handler: "hello.foo"}
			c.Apply(&s)
			fn := Function{Name: "f", Runtime: s.Runtime, Handler: s.Handler, ContentType: s.ContentType, Checksum: s.Checksum, Function: "code"}
			_, err := b.Build(context.Background(), fn)
			if want := `build function "f": ` + c.Message; err == nil || err.Error() != want {
				t.Errorf("Build: %v, want %q", err, want)
			}
		})
	}
	_, err := b.Build(context.Background(), Function{Name: "f", Runtime: "fake1", Function: "code"})
	if want := `build function "f": You must specify handler for the runtime.`; err == nil || err.Error() != want {
		t.Errorf("Build with no handler: %v, want %q", err, want)
	}
}
