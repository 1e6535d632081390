package testutil

import (
	"os/exec"
	"testing"
)

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "FALSE": false, "true": true, "1": true, "yes": true} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}

// fakeT records how a helper ended the test instead of ending it.
type fakeT struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Skipf(format string, args ...any) {
	f.skipped = true
	f.msg = format
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = format
}

func TestNeedTool(t *testing.T) {
	const missing = "kubeless-no-such-tool"
	if _, err := exec.LookPath(missing); err == nil {
		t.Fatalf("%s exists on this machine", missing)
	}

	t.Setenv("CI", "")
	ft := &fakeT{TB: t}
	NeedTool(ft, missing)
	if !ft.skipped || ft.failed {
		t.Errorf("locally, a missing tool must skip: skipped %v failed %v", ft.skipped, ft.failed)
	}

	t.Setenv("CI", "true")
	ft = &fakeT{TB: t}
	NeedTool(ft, missing)
	if ft.skipped || !ft.failed {
		t.Errorf("under CI, a missing tool must fail: skipped %v failed %v", ft.skipped, ft.failed)
	}

	ft = &fakeT{TB: t}
	if p := NeedTool(ft, "sh"); p == "" || ft.skipped || ft.failed {
		t.Errorf("sh: path %q skipped %v failed %v", p, ft.skipped, ft.failed)
	}
}
