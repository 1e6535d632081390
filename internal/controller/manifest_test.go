package controller_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeless/kubeless/internal/kubetest"
)

var update = flag.Bool("update", false, "rewrite kubeless.yaml from config/")

// manifestParts are the files of config/ that make kubeless.yaml, in the
// order kubectl applies them: the namespace first, then the CRDs, the
// permissions, the catalog and the controller.
var manifestParts = []string{
	"config/manager/namespace.yaml",
	"config/crd/bases/kubeless.io_functions.yaml",
	"config/crd/bases/kubeless.io_httptriggers.yaml",
	"config/crd/bases/kubeless.io_cronjobtriggers.yaml",
	"config/crd/bases/kubeless.io_kafkatriggers.yaml",
	"config/crd/bases/kubeless.io_natstriggers.yaml",
	"config/crd/bases/kubeless.io_kinesistriggers.yaml",
	"config/rbac/service_account.yaml",
	"config/rbac/role.yaml",
	"config/rbac/role_binding.yaml",
	"config/rbac/leader_election_role.yaml",
	"config/rbac/activator_role.yaml",
	"config/manager/kubeless-config.yaml",
	"config/manager/controller.yaml",
	"config/manager/activator.yaml",
}

// kubelessYAML joins the parts into one multi-document file.
func kubelessYAML(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# Kubeless: everything the Kubernetes engine needs, in one file:\n" +
		"#   kubectl apply -f kubeless.yaml\n" +
		"# Generated from config/ by hack/update-codegen.sh; edit those files instead.\n")
	for _, p := range manifestParts {
		data, err := os.ReadFile(filepath.Join(kubetest.RepoRoot(), p))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			doc = strings.TrimPrefix(strings.TrimSpace(doc), "---\n")
			if strings.TrimSpace(doc) == "" {
				continue
			}
			b.WriteString("---\n# Source: " + p + "\n" + doc + "\n")
		}
	}
	return b.Bytes()
}

// TestKubelessYAMLIsCurrent fails when a file of config/ changed and
// kubeless.yaml was not regenerated (go test -run TestKubelessYAMLIsCurrent
// -update, which hack/update-codegen.sh runs).
func TestKubelessYAMLIsCurrent(t *testing.T) {
	want := kubelessYAML(t)
	path := filepath.Join(kubetest.RepoRoot(), "kubeless.yaml")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("kubeless.yaml is not the join of config/ (-want +got); run hack/update-codegen.sh:\n%s", d)
	}
}
