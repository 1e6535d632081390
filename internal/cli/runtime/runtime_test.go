package runtime

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/langruntime"
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
