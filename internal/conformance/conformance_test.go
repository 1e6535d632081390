package conformance_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/cli"
	runtimecmd "github.com/kubeless/kubeless/internal/cli/runtime"
	"github.com/kubeless/kubeless/internal/conformance"
)

// TestMain lets the test binary act as the kubeless command, so the suite
// starts runtimes exactly as `kubeless runtime verify` does.
func TestMain(m *testing.M) {
	if os.Getenv("KUBELESS_TEST_AS_CLI") == "1" {
		os.Args = append([]string{"kubeless"}, os.Args[1:]...)
		os.Exit(cli.Main())
	}
	os.Setenv("KUBELESS_TEST_AS_CLI", "1")
	os.Exit(m.Run())
}

// runtimes lists every runtime checked: the demo worker behind the host
// (proof that the host alone supplies §4–§8) and one version of each
// language that this machine has.
var runtimes = []struct {
	rt   string
	tool string // interpreter the runtime needs
}{
	{"demo", "python3"},
	{"go1.26", "go"},
	{"python3.11", "python3"},
	{"nodejs20", "node"},
	{"ruby3.1", "ruby"},
	{"php8.2", "php"},
}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance starts real runtimes; skipped with -short")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runtimes {
		t.Run(r.rt, func(t *testing.T) {
			if _, err := exec.LookPath(r.tool); err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s is not installed: .ci/run must install it", r.tool)
				}
				t.Skipf("%s is not installed (CI installs it)", r.tool)
			}
			target, err := runtimecmd.Target(r.rt, self)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			ok, err := conformance.Run(context.Background(), target, &out)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(line, "FAIL") {
					t.Error(line)
				}
			}
			if !ok {
				t.Errorf("runtime %s does not conform:\n%s", r.rt, out.String())
			}
		})
	}
}
