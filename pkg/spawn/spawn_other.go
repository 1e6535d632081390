//go:build !unix

package spawn

import (
	"errors"
	"os/exec"
)

func setDeathSignal(*exec.Cmd) {}

// Exec is not supported on this system.
func Exec(argv0 string, argv, env []string) error {
	return errors.New("spawn: exec is not supported on this system")
}
