package kubeless

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/testutil"
)

// The import rules of ARCHITECTURE.md §3, checked with `go list -deps`.
var depRules = []struct {
	pkgs []string
	bad  func(dep string, std bool) bool
	why  string
}{
	{
		pkgs: []string{"./internal/langruntime", "./internal/source", "./internal/fnspec", "./internal/cron"},
		bad: func(d string, _ bool) bool {
			return d == "os/exec" || d == "net" || strings.HasPrefix(d, "net/") || isKube(d, false)
		},
		why: "pure packages run no programs, use no network and no Kubernetes client",
	},
	{
		// The Kubernetes API types bring net/http along, so render's rule
		// is about clients: it builds objects, it never talks to a cluster.
		pkgs: []string{"./internal/render"},
		bad: func(d string, _ bool) bool {
			return strings.HasPrefix(d, "k8s.io/client-go") || strings.HasPrefix(d, "sigs.k8s.io/controller-runtime") ||
				strings.HasPrefix(d, "github.com/kubeless/kubeless/internal/engine") || strings.HasPrefix(d, "github.com/kubeless/kubeless/internal/build")
		},
		why: "render is pure: Function and catalog in, objects out, no client",
	},
	{
		pkgs: []string{"./internal/build", "./internal/gobuild", "./internal/localrt",
			"./internal/engine/store", "./internal/engine/supervisor", "./internal/engine/gateway", "./internal/cron"},
		bad: isKube,
		why: "the local engine's packages work with no cluster",
	},
	{
		// It shares internal/cli/cmdutil, whose Factory names the engines'
		// interface (and so the Kubernetes API types): no client, though.
		pkgs: []string{"./internal/cli/runtime"},
		bad: func(d string, _ bool) bool {
			return strings.HasPrefix(d, "k8s.io/client-go") || strings.HasPrefix(d, "sigs.k8s.io/controller-runtime") ||
				strings.HasPrefix(d, module+"/internal/engine") || strings.HasPrefix(d, module+"/internal/kubeengine")
		},
		why: "running a runtime locally needs no cluster and no engine",
	},
	{
		pkgs: []string{"./internal/controller"},
		bad: func(d string, _ bool) bool {
			return strings.HasPrefix(d, module+"/internal/build") || strings.HasPrefix(d, module+"/internal/engine")
		},
		why: "the controller renders and applies; the builder and the local engine run on the user's machine",
	},
	{
		pkgs: []string{"./internal/kubeengine", "./internal/backend"},
		bad: func(d string, _ bool) bool {
			return strings.HasPrefix(d, module+"/internal/engine")
		},
		why: "the Kubernetes engine and the engine-neutral backend use nothing of the local engine",
	},
	{
		pkgs: []string{"./pkg/host", "./pkg/functions", "./cmd/kubeless-host"},
		bad: func(d string, _ bool) bool {
			return isKube(d, false) || strings.HasPrefix(d, "github.com/kubeless/kubeless/internal/")
		},
		why: "the host runs in every function pod and is compiled into every Go function: it stays small",
	},
	{
		pkgs: []string{"./pkg/functions"},
		bad:  func(d string, std bool) bool { return !std && d != "github.com/kubeless/kubeless/pkg/functions" },
		why:  "the Go function API imports only the standard library",
	},
	{
		pkgs: []string{"./pkg/contract"},
		bad:  func(d string, std bool) bool { return !std && d != "github.com/kubeless/kubeless/pkg/contract" },
		why:  "the contract's names are imported by the host, the engines and the conformance suite: standard library only",
	},
}

const module = "github.com/kubeless/kubeless"

func isKube(d string, _ bool) bool {
	return strings.HasPrefix(d, "k8s.io/") || strings.HasPrefix(d, "sigs.k8s.io/controller-runtime")
}

func TestImportRules(t *testing.T) {
	goBin := testutil.NeedTool(t, "go")
	for _, r := range depRules {
		for _, pkg := range r.pkgs {
			out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", pkg, err)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				dep, std, _ := strings.Cut(line, " ")
				if r.bad(dep, std == "true") {
					t.Errorf("%s depends on %s: %s", pkg, dep, r.why)
				}
			}
		}
	}
}

// TestPurePackagesReadNoEnvironment: inputs of the pure packages are
// arguments, never the process environment.
func TestPurePackagesReadNoEnvironment(t *testing.T) {
	for _, dir := range []string{"internal/langruntime", "internal/source", "internal/fnspec", "internal/cron", "internal/render"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p != "os" {
					continue
				}
				for _, call := range []string{"os.Getenv", "os.LookupEnv", "os.Environ", "os.ExpandEnv"} {
					if strings.Contains(string(src), call+"(") {
						t.Errorf("%s reads the environment (%s)", f, call)
					}
				}
			}
		}
	}
}

// TestLocalEngineBoundary: the local engine's API package is its daemon's
// protocol, spoken by the daemon (internal/engine) and its client
// (internal/engine/client) alone; of the commands, only internal/cli/local
// reaches the local engine (it starts the daemon and builds its client),
// the others see internal/backend.
func TestLocalEngineBoundary(t *testing.T) {
	goBin := testutil.NeedTool(t, "go")
	out, err := exec.Command(goBin, "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	apiPkg := module + "/internal/engine/api"
	apiUsers := map[string]bool{module + "/internal/engine": true, module + "/internal/engine/client": true}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, imp := range imports {
			if imp == apiPkg && !apiUsers[pkg] {
				t.Errorf("%s imports %s: it is the local daemon's protocol; use internal/backend", pkg, imp)
			}
			if strings.HasPrefix(pkg, module+"/internal/cli") && pkg != module+"/internal/cli/local" &&
				(imp == module+"/internal/engine" || strings.HasPrefix(imp, module+"/internal/engine/")) {
				t.Errorf("%s imports %s: of the commands only internal/cli/local reaches the local engine", pkg, imp)
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("go list listed %d packages: the check saw nothing", checked)
	}
}

// TestCommandPackagesImportNoSibling: a noun's commands share code only
// through internal/cli/cmdutil and internal/cli/iostreams (cli/cli style),
// in their tests too.
func TestCommandPackagesImportNoSibling(t *testing.T) {
	goBin := testutil.NeedTool(t, "go")
	out, err := exec.Command(goBin, "list", "-f",
		`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`,
		"./internal/cli/...").Output()
	if err != nil {
		t.Fatalf("go list ./internal/cli/...: %v", err)
	}
	cli := module + "/internal/cli/"
	shared := map[string]bool{cli + "cmdutil": true, cli + "iostreams": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if !strings.HasPrefix(pkg, cli) || shared[pkg] {
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, cli) && imp != pkg && !shared[imp] {
				t.Errorf("%s imports %s: share code through internal/cli/cmdutil", pkg, imp)
			}
		}
	}
}

// TestCrossBuild: the kubeless binary builds for macOS and Windows, so
// Linux-only calls stay behind build tags (files named *_linux.go).
func TestCrossBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the kubeless binary twice; skipped with -short")
	}
	goBin := testutil.NeedTool(t, "go")
	for _, goos := range []string{"darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			cmd := exec.Command(goBin, "build", "-o", filepath.Join(t.TempDir(), "kubeless"), "./cmd/kubeless")
			cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("GOOS=%s go build ./cmd/kubeless: %v\n%s", goos, err, out)
			}
		})
	}
}
