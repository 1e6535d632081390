package local

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// checkNewCmd runs the command newCmd makes on "" (which must reach runF
// with cfg) and on a stray argument (which must fail, without reaching
// runF, with cobra's exact message).
func checkNewCmd(t *testing.T, name string, newCmd func(cfg *Config, reached func(*Config)) *cobra.Command) {
	t.Helper()
	for argv, wantErr := range map[string]string{
		"":  "",
		"x": `unknown command "x" for "` + name + `"`,
	} {
		ios, _, _, _ := iostreams.Test()
		cfg := &Config{IO: ios, Home: "/nowhere"}
		var got *Config
		cmd := newCmd(cfg, func(c *Config) { got = c })
		cmd.SetArgs(strings.Fields(argv))
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if wantErr != "" {
			if err == nil || err.Error() != wantErr || got != nil {
				t.Errorf("%s %q: err = %v, want %q", name, argv, err, wantErr)
			}
			continue
		}
		if err != nil || got != cfg {
			t.Errorf("%s %q: err = %v, config %p, want %p", name, argv, err, got, cfg)
		}
	}
}

func TestNewCmdStart(t *testing.T) {
	checkNewCmd(t, "start", func(cfg *Config, reached func(*Config)) *cobra.Command {
		return NewCmdStart(cfg, func(o *StartOptions) error { reached(o.Config); return nil })
	})
}

func TestNewCmdStop(t *testing.T) {
	checkNewCmd(t, "stop", func(cfg *Config, reached func(*Config)) *cobra.Command {
		return NewCmdStop(cfg, func(o *StopOptions) error { reached(o.Config); return nil })
	})
}

func TestNewCmdStatus(t *testing.T) {
	checkNewCmd(t, "status", func(cfg *Config, reached func(*Config)) *cobra.Command {
		return NewCmdStatus(cfg, func(o *StatusOptions) error { reached(o.Config); return nil })
	})
}

func TestNewCmdDaemon(t *testing.T) {
	checkNewCmd(t, "daemon", func(cfg *Config, reached func(*Config)) *cobra.Command {
		return NewCmdDaemon(cfg, func(o *DaemonOptions) error { reached(o.Config); return nil })
	})
}

// With no engine in the home, status says so on stdout and exits 1, and
// stop says so on stderr and succeeds.
func TestStatusStopRunNotRunning(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	ios, _, out, errOut := iostreams.Test()
	cfg := &Config{IO: ios, Home: home}

	err := statusRun(t.Context(), &StatusOptions{cfg})
	var se *cmdutil.SilentExitError
	if !errors.As(err, &se) || se.Code != 1 {
		t.Errorf("status: err = %v, want exit 1", err)
	}
	if want := "The local engine is not running (home " + home + "): start it with kubeless local start\n"; out.String() != want || errOut.Len() != 0 {
		t.Errorf("status: stdout %q, stderr %q, want stdout %q", out, errOut, want)
	}

	out.Reset()
	if err := stopRun(t.Context(), &StopOptions{cfg}); err != nil {
		t.Errorf("stop: %v", err)
	}
	if want := "The local engine is not running\n"; errOut.String() != want || out.Len() != 0 {
		t.Errorf("stop: stdout %q, stderr %q, want stderr %q", out, errOut, want)
	}
}
