package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/localrt"
	"github.com/kubeless/kubeless/pkg/contract"
)

// execute runs cmd on argv and reports its error; a *cmdutil.FlagError is
// reported as such in isFlag.
func execute(t *testing.T, cmd interface {
	SetArgs([]string)
	Execute() error
}, argv string) (err error, isFlag bool) {
	t.Helper()
	cmd.SetArgs(strings.Fields(argv))
	err = cmd.Execute()
	var fe *cmdutil.FlagError
	return err, errors.As(err, &fe)
}

func TestNewCmdList(t *testing.T) {
	for argv, wantErr := range map[string]string{
		"":  "",
		"x": `unknown command "x" for "ls"`,
	} {
		ios, _, _, _ := iostreams.Test()
		var got *ListOptions
		cmd := NewCmdList(&cmdutil.Factory{IOStreams: ios}, func(o *ListOptions) error { got = o; return nil })
		cmd.SetErr(&strings.Builder{})
		err, _ := execute(t, cmd, argv)
		if wantErr != "" {
			if err == nil || err.Error() != wantErr || got != nil {
				t.Errorf("%q: err = %v, want %q", argv, err, wantErr)
			}
			continue
		}
		if err != nil || got == nil || got.IO != ios {
			t.Errorf("%q: err = %v, options %+v", argv, err, got)
		}
	}
}

func TestNewCmdRun(t *testing.T) {
	t.Setenv("KUBELESS_RUNTIME_TEST_VAR", "1")
	for argv, wantErr := range map[string]string{
		"python3.11":   "",
		"":             "runtime run: the runtime is required, for example: kubeless runtime run python3.11",
		"python3.11 x": `too many arguments: ["x"]`,
	} {
		ios, _, _, _ := iostreams.Test()
		var got *RunOptions
		cmd := NewCmdRun(&cmdutil.Factory{IOStreams: ios}, func(o *RunOptions) error { got = o; return nil })
		cmd.SetErr(&strings.Builder{})
		err, isFlag := execute(t, cmd, argv)
		if wantErr != "" {
			if err == nil || err.Error() != wantErr || !isFlag || got != nil {
				t.Errorf("%q: err = %v, want the flag error %q", argv, err, wantErr)
			}
			continue
		}
		if err != nil || got == nil || got.IO != ios || got.Runtime != "python3.11" || !slices.Contains(got.Env, "KUBELESS_RUNTIME_TEST_VAR=1") {
			t.Errorf("%q: err = %v, options %+v", argv, err, got)
		}
	}
}

func TestNewCmdVerify(t *testing.T) {
	for argv, want := range map[string]struct {
		err     string
		rt      string
		timeout float64
	}{
		"go1.26":              {rt: "go1.26"},
		"demo --timeout 5":    {rt: "demo", timeout: 5},
		"":                    {err: "runtime verify: the runtime is required, for example: kubeless runtime verify go1.26"},
		"go1.26 python3.11":   {err: `too many arguments: ["python3.11"]`},
		"demo --timeout soon": {err: `invalid argument "soon" for "--timeout" flag: strconv.ParseFloat: parsing "soon": invalid syntax`},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *VerifyOptions
		cmd := NewCmdVerify(&cmdutil.Factory{IOStreams: ios}, func(o *VerifyOptions) error { got = o; return nil })
		cmd.SetErr(&strings.Builder{})
		err, _ := execute(t, cmd, argv)
		if want.err != "" {
			if err == nil || err.Error() != want.err || got != nil {
				t.Errorf("%q: err = %v, want %q", argv, err, want.err)
			}
			continue
		}
		if err != nil || got == nil || got.IO != ios || got.Runtime != want.rt || got.Timeout != want.timeout {
			t.Errorf("%q: err = %v, options %+v", argv, err, got)
		}
	}
}

func TestRunRunUnknownRuntime(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	err := runRun(t.Context(), &RunOptions{IO: ios, Runtime: "cobol1"})
	var ie *langruntime.InvalidRuntimeError
	if !errors.As(err, &ie) || ie.Runtime != "cobol1" {
		t.Errorf("err = %v, want the catalog's invalid-runtime error for cobol1", err)
	}
	if out.Len()+errOut.Len() != 0 {
		t.Errorf("output %q %q, want none", out, errOut)
	}
}

func TestRunRunRelativeInterpreter(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	err := runRun(t.Context(), &RunOptions{IO: ios, Runtime: "python3.11", Env: []string{localrt.EnvInterpreter + "=python3.11"}})
	if err == nil || !strings.Contains(err.Error(), `KUBELESS_INTERPRETER="python3.11" is not an absolute path`) {
		t.Errorf("err = %v, want the one line that says KUBELESS_INTERPRETER must be absolute", err)
	}
}

func TestRunRunStartsTheGivenInterpreter(t *testing.T) {
	// The interpreter of KUBELESS_INTERPRETER starts the worker, with no
	// search on PATH: a fake one that records its arguments and fails.
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	interp := filepath.Join(dir, "fake-python")
	script := "#!/bin/sh\necho \"$@\" >" + marker + "\necho 'fake interpreter: no function here' >&2\nexit 1\n"
	if err := os.WriteFile(interp, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	err := runRun(t.Context(), &RunOptions{IO: ios, Runtime: "python3.11", Env: []string{
		"PATH=" + dir, // no python3.11 to find
		localrt.EnvInterpreter + "=" + interp,
		"KUBELESS_CACHE=" + filepath.Join(dir, "cache"),
		contract.EnvInstallVolume + "=" + dir,
		contract.EnvModName + "=hello", contract.EnvFuncHandler + "=foo",
		contract.EnvListenAddress + "=127.0.0.1", contract.EnvFuncPort + "=0",
	}})
	if err == nil {
		t.Fatal("runRun succeeded with an interpreter that fails")
	}
	b, rerr := os.ReadFile(marker)
	if rerr != nil {
		t.Fatalf("the given interpreter did not run (runRun: %v): %v", err, rerr)
	}
	if !strings.Contains(string(b), filepath.Join("python", "kubeless.py")) {
		t.Errorf("the interpreter ran with %q, want the Python worker", b)
	}
}
