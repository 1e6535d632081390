package build

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeless/kubeless/internal/langruntime"
)

func TestOnPhase(t *testing.T) {
	b := newTestBuilder(t)
	var got []langruntime.BuildStep
	b.OnPhase = func(p langruntime.BuildStep) { got = append(got, p) }
	counter := filepath.Join(t.TempDir(), "counter")
	ctx := context.Background()
	for _, tt := range []struct {
		fn   Function
		want []langruntime.BuildStep
	}{
		{Function{Name: "hello", Runtime: "fake1", Handler: "hello.foo", Function: "x", Deps: "dep==1\n", Env: []string{"COUNTER=" + counter}}, []langruntime.BuildStep{langruntime.StepPrepare, langruntime.StepInstall}},
		{Function{Name: "hello", Runtime: "fake1", Handler: "hello.foo", Function: "y", Env: []string{"COUNTER=" + counter}}, []langruntime.BuildStep{langruntime.StepPrepare}},
		{Function{Name: "f", Runtime: "fake4", Handler: "hello.Handler", Function: "package kubeless", Env: []string{"COUNTER=" + counter}}, []langruntime.BuildStep{langruntime.StepPrepare, langruntime.StepCompile}},
		// A cache hit reports nothing.
		{Function{Name: "hello", Runtime: "fake1", Handler: "hello.foo", Function: "y", Env: []string{"COUNTER=" + counter}}, nil},
	} {
		got = nil
		if _, err := b.Build(ctx, tt.fn); err != nil {
			t.Fatalf("Build: %v", err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s %q: phases %q, want %q", tt.fn.Runtime, tt.fn.Function, got, tt.want)
		}
	}
}
