package engine

import (
	"log/slog"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/engine/sandbox"
	"github.com/kubeless/kubeless/internal/localrt"
)

// envSandbox set to "off" runs instances unconfined.
const envSandbox = "KUBELESS_SANDBOX"

// newSandbox probes the machine's sandboxing once per engine, and kills
// what an earlier engine on the same home left in its cgroups.
func newSandbox(home string, logger *slog.Logger) *sandbox.Sandbox {
	hide := []string{home}
	if c := localrt.CacheDir(os.Getenv); c != "" {
		hide = append(hide, c) // the daemon's build caches hold other functions' code
	}
	var existing []string
	for _, h := range hide {
		if _, err := os.Stat(h); err == nil {
			existing = append(existing, h)
		}
	}
	sb := sandbox.New(sandbox.Options{Name: home, Hide: existing, Disable: os.Getenv(envSandbox) == "off", Logger: logger})
	if n := sb.Sweep(); n > 0 {
		logger.Warn("killed processes that an earlier engine left in its cgroups", "count", n)
	}
	return sb
}

// instanceBaseEnv is where an instance's environment starts: PATH (the
// runtimes' interpreters are found through it), a home and temporary
// folder in the instance's private /tmp, and Options.InstanceEnv. Nothing
// else of the engine's environment reaches a function.
func (e *Engine) instanceBaseEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if e.sandbox != nil && e.sandbox.Namespaces() {
		env = append(env, "HOME=/tmp", "TMPDIR=/tmp", "KUBELESS_CACHE=/tmp/kubeless-cache")
	} else {
		// No private /tmp: the runtimes' files stay in the engine's cache.
		env = append(env, "HOME="+os.TempDir(), "KUBELESS_CACHE="+localrt.CacheDir(os.Getenv))
	}
	return append(env, e.opts.InstanceEnv...)
}

// limits returns the function's memory (bytes) and CPU (millicores)
// limits, from the limits or else the requests of its container.
func limits(fn *v1beta1.Function) (memBytes, cpuMillis int64) {
	d, err := fn.Spec.DeploymentTemplate()
	if err != nil || len(d.Spec.Template.Spec.Containers) == 0 {
		return 0, 0
	}
	r := d.Spec.Template.Spec.Containers[0].Resources
	for _, l := range []corev1.ResourceList{r.Requests, r.Limits} { // limits win
		if q, ok := l[corev1.ResourceMemory]; ok {
			memBytes = q.Value()
		}
		if q, ok := l[corev1.ResourceCPU]; ok {
			cpuMillis = q.MilliValue()
		}
	}
	return memBytes, cpuMillis
}

// instanceCommand returns the confined command of instance name.
func (e *Engine) instanceCommand(name string, args []string, dir string, expose []string, fn *v1beta1.Function) ([]string, error) {
	mem, cpu := limits(fn)
	return e.sandbox.Command(sandbox.Instance{Name: strings.TrimPrefix(name, "/"), Args: args, Dir: dir, Expose: expose,
		MemoryBytes: mem, CPUMillis: cpu})
}
