// Package cmdutil holds what the kubeless commands share: typed errors that
// decide the exit code.
package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"
)

// FlagError is a wrong flag or argument: Main prints it with the command's
// usage and exits 2.
type FlagError struct {
	Cmd *cobra.Command
	Err error
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf returns a FlagError for cmd.
func FlagErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &FlagError{Cmd: cmd, Err: fmt.Errorf(format, args...)}
}

// ExactArgs requires n arguments, saying what is missing.
func ExactArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return FlagErrorf(cmd, "%s", msg)
		}
		if len(args) > n {
			return FlagErrorf(cmd, "too many arguments: %q", args[n:])
		}
		return nil
	}
}

// SilentExitError ends the command with Code after the command has already
// said why (a runtime that printed its own load error, a failed check).
type SilentExitError struct{ Code int }

func (e *SilentExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// SilentExit returns a SilentExitError.
func SilentExit(code int) error { return &SilentExitError{Code: code} }
