package build

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoKubernetes keeps this package usable by the local engine, which runs
// with no cluster (STYLE.md §11.2).
func TestNoKubernetes(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go not on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/controller-runtime") {
			t.Errorf("the package depends on %s", dep)
		}
	}
}
