package engine

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/pkg/contract"
)

// An interpreted function whose interpreter the engine found runs the host
// alone (kubeless-host) with the environment runtime run would give it;
// the function's own settings win; without kubeless-host or an interpreter
// nothing changes.
func TestHostCommandRunsTheHostAlone(t *testing.T) {
	t.Setenv("KUBELESS_CACHE", t.TempDir())
	entry, err := langruntime.Default().Lookup("php8.2")
	if err != nil {
		t.Fatal(err)
	}
	res := &build.Result{Dir: t.TempDir(), Entry: entry}
	e := &Engine{opts: Options{SelfExe: "/bin/kubeless", HostExe: "/bin/kubeless-host"}, logger: slog.New(slog.DiscardHandler)}
	runtimeRun := []string{"/bin/kubeless", "runtime", "run", "php8.2"}

	cmd := slices.Clone(runtimeRun)
	env, expose := e.hostCommand("/usr/bin/php8.2", res, &cmd, e.logger)
	if !slices.Equal(cmd, []string{"/bin/kubeless-host"}) {
		t.Fatalf("command %q, want the host alone", cmd)
	}
	worker := filepath.Join(expose[0], "php", "kubeless.php")
	if len(expose) != 1 || !strings.HasPrefix(filepath.Base(expose[0]), "runtimes-") {
		t.Fatalf("exposed %q, want the runtimes' folder", expose)
	}
	if _, err := os.Stat(worker); err != nil {
		t.Fatalf("the PHP worker is not in the exposed folder: %v", err)
	}
	if !slices.Contains(env, contract.EnvFuncProcess+"=/usr/bin/php8.2 "+worker) {
		t.Errorf("env %q lacks FUNC_PROCESS with the interpreter and the worker", env)
	}
	// The function's own KUBELESS_WORKERS wins over the runtime's default.
	got := setDefaults([]string{contract.EnvWorkers + "=2"}, env)
	if !slices.Contains(got, contract.EnvWorkers+"=2") || slices.Contains(got, contract.EnvWorkers+"=4") {
		t.Errorf("setDefaults = %q, want the function's KUBELESS_WORKERS=2 only", got)
	}
	for k, v := range map[string]string{contract.EnvWorkers: "4", contract.EnvWorkerConcurrency: "1"} {
		if !slices.Contains(setDefaults(nil, env), k+"="+v) {
			t.Errorf("no %s=%s default in %q", k, v, env)
		}
	}

	for name, tc := range map[string]struct {
		interp string
		host   string
	}{
		"no interpreter found": {"", "/bin/kubeless-host"},
		"no kubeless-host":     {"/usr/bin/php8.2", ""},
	} {
		e := &Engine{opts: Options{SelfExe: "/bin/kubeless", HostExe: tc.host}, logger: slog.New(slog.DiscardHandler)}
		cmd := slices.Clone(runtimeRun)
		env, expose := e.hostCommand(tc.interp, res, &cmd, e.logger)
		if !slices.Equal(cmd, runtimeRun) || env != nil || expose != nil {
			t.Errorf("%s: command %q env %q expose %q, want runtime run unchanged", name, cmd, env, expose)
		}
	}
}
