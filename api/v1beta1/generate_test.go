package v1beta1_test

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/testutil"
)

const codegenScript = "../../hack/update-codegen.sh"

// TestGeneratedFilesAreCurrent runs hack/update-codegen.sh into a temporary
// folder and compares the result with zz_generated.deepcopy.go,
// config/crd/bases and config/rbac/role.yaml (markers in internal/controller):
// it fails when a marker or a type changed without
// regenerating. controller-gen is built from the Go module proxy (or Go's
// caches); when that fails the test is skipped, except in CI.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	script, err := os.ReadFile(codegenScript)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`CONTROLLER_TOOLS_VERSION:-(v[0-9][^}]*)\}`).FindSubmatch(script)
	if m == nil {
		t.Fatalf("%s: no default CONTROLLER_TOOLS_VERSION", codegenScript)
	}
	version := string(m[1])

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	install := exec.Command("go", "install", "sigs.k8s.io/controller-tools/cmd/controller-gen@"+version)
	install.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := install.CombinedOutput(); err != nil {
		testutil.Unavailable(t, "cannot build controller-gen %s: %v\n%s", version, err, out)
	}

	out := filepath.Join(tmp, "out")
	gen := exec.Command("bash", codegenScript)
	gen.Env = append(os.Environ(), "CONTROLLER_GEN="+filepath.Join(bin, "controller-gen"), "OUT_DIR="+out)
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", codegenScript, err, b)
	}

	compare := func(rel string) {
		t.Helper()
		want, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("../..", rel))
		if err != nil {
			t.Errorf("%s: %v; run hack/update-codegen.sh", rel, err)
			return
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%s is stale; run hack/update-codegen.sh", rel)
		}
	}
	compare("api/v1beta1/zz_generated.deepcopy.go")
	compare("config/rbac/role.yaml")
	generated, err := filepath.Glob(filepath.Join(out, "config/crd/bases/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob(filepath.Join("../../config/crd/bases/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	names := func(paths []string) string {
		var n []string
		for _, p := range paths {
			n = append(n, filepath.Base(p))
		}
		return strings.Join(n, " ")
	}
	if names(generated) != names(committed) {
		t.Errorf("config/crd/bases holds [%s], generation gives [%s]; run hack/update-codegen.sh", names(committed), names(generated))
	}
	for _, p := range generated {
		compare(filepath.Join("config/crd/bases", filepath.Base(p)))
	}
}

// TestImports: the API package imports only the standard library,
// k8s.io/apimachinery and k8s.io/api (ARCHITECTURE.md §3), so that every part of
// the project, the local engine included, can use it.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.SplitN(path, "/", 2)[0], ".")
			if !std && !strings.HasPrefix(path, "k8s.io/apimachinery/") && !strings.HasPrefix(path, "k8s.io/api/") {
				t.Errorf("%s imports %s; api/v1beta1 may import only the standard library, k8s.io/apimachinery and k8s.io/api", f, path)
			}
		}
	}
}
