package host

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// Main is the main of kubeless-host: it serves the function through the
// language workers started from FUNC_PROCESS, configured by the
// environment. It returns the process exit code.
func Main() int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := FromEnv(os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeless-host: "+err.Error())
		return 1
	}
	pool, err := NewPool(cfg, os.Environ(), os.Stdout, os.Stderr, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeless-host: "+err.Error())
		return 1
	}
	if err := Run(cfg, pool, Options{Logger: logger}); err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			fmt.Fprintln(os.Stderr, le.Message)
		} else {
			fmt.Fprintln(os.Stderr, "kubeless-host: "+err.Error())
		}
		return 1
	}
	return 0
}
