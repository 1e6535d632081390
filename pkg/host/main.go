package host

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
)

// Main is the main of kubeless-host: it serves the function through the
// language workers started from FUNC_PROCESS, configured by the
// environment. It returns the process exit code.
func Main() int { return Serve(os.Environ()) }

// Serve is Main with an explicit environment: it serves the function
// through the workers of env's FUNC_PROCESS until SIGTERM.
func Serve(env []string) int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	defer startProfile(env)()
	cfg, err := FromEnv(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeless: "+err.Error())
		return 1
	}
	pool, err := NewPool(cfg, env, os.Stdout, os.Stderr, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeless: "+err.Error())
		return 1
	}
	if err := Run(cfg, pool, Options{Logger: logger}); err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			fmt.Fprintln(os.Stderr, le.Message)
		} else {
			fmt.Fprintln(os.Stderr, "kubeless: "+err.Error())
		}
		return 1
	}
	return 0
}

func lookupEnv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// startProfile writes a CPU profile to KUBELESS_CPU_PROFILE until the
// returned function is called (diagnostics, bench/README.md).
func startProfile(env []string) (stop func()) {
	path := lookupEnv(env, "KUBELESS_CPU_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
