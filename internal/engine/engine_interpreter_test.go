package engine

import (
	"context"
	"testing"

	"github.com/kubeless/kubeless/internal/langruntime"
)

func TestInterpretersFoundOncePerRuntime(t *testing.T) {
	found := map[string]string{"python3.11": "/real/python3.11", "nodejs20": "/usr/bin/node"}
	asked := map[string]int{}
	in := interpreters{detect: func(ctx context.Context, e langruntime.Entry) string {
		asked[e.Name()]++
		return found[e.Name()]
	}}
	lookup := func(rt string) langruntime.Entry {
		e, err := langruntime.Default().Lookup(rt)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for range 3 {
		if got := in.get(context.Background(), lookup("python3.11")); got != "/real/python3.11" {
			t.Fatalf("python3.11: %q", got)
		}
		if got := in.get(context.Background(), lookup("nodejs20")); got != "/usr/bin/node" {
			t.Fatalf("nodejs20: %q", got)
		}
		// Not found: asked again next time (it may be installed since).
		if got := in.get(context.Background(), lookup("ruby3.1")); got != "" {
			t.Fatalf("ruby3.1: %q, want none", got)
		}
		// Go has no interpreter: nothing to find.
		if got := in.get(context.Background(), lookup("go1.26")); got != "" {
			t.Fatalf("go1.26: %q, want none", got)
		}
	}
	want := map[string]int{"python3.11": 1, "nodejs20": 1, "ruby3.1": 3}
	for k, n := range want {
		if asked[k] != n {
			t.Errorf("%s detected %d times, want %d", k, asked[k], n)
		}
	}
	if len(asked) != len(want) {
		t.Errorf("detected %v, want only %v", asked, want)
	}
}
