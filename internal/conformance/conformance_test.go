package conformance_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/cli"
	runtimecmd "github.com/kubeless/kubeless/internal/cli/runtime"
	"github.com/kubeless/kubeless/internal/conformance"
	"github.com/kubeless/kubeless/internal/testutil"
)

// TestMain lets the test binary act as the kubeless command, so the suite
// starts runtimes exactly as `kubeless runtime verify` does.
func TestMain(m *testing.M) {
	if os.Getenv("KUBELESS_TEST_AS_CLI") == "1" {
		os.Args = append([]string{"kubeless"}, os.Args[1:]...)
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Setenv("KUBELESS_TEST_AS_CLI", "1")
	os.Exit(m.Run())
}

// runtimes lists every runtime checked: the demo worker behind the host
// (proof that the host alone supplies docs/runtime-contract.md §4–§8) and one version of each
// language that this machine has.
var runtimes = []struct {
	name string
	rt   string
	tool string   // interpreter the runtime needs
	env  []string // added to the runtime's environment
}{
	{"demo", "demo", "python3", nil},
	{"go1.26", "go1.26", "go", nil},
	{"python3.11", "python3.11", "python3", nil},
	{"nodejs20", "nodejs20", "node", nil},
	// Node.js in the host's http mode: native request and response objects.
	{"nodejs20-http", "nodejs20", "node", []string{"KUBELESS_WORKER_MODE=http"}},
	{"ruby3.1", "ruby3.1", "ruby", nil},
	{"php8.2", "php8.2", "php", nil},
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
		t.Run(r.name, func(t *testing.T) {
			testutil.NeedTool(t, r.tool)
			target, err := runtimecmd.Target(r.rt, self)
			if err != nil {
				t.Fatal(err)
			}
			target.Env = append(target.Env, r.env...)
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
