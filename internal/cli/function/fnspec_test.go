package function

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/fnspec"
	"github.com/kubeless/kubeless/internal/fnspec/fnspectest"
)

// TestDeployChecksHandlerWithFnspec: deploy and update refuse each bad
// handler of the shared table with fnspec's exact message (naming the
// handler), as a plain error (exit 1, no usage), before reading any file
// or calling an engine.
func TestDeployChecksHandlerWithFnspec(t *testing.T) {
	n := 0
	for _, c := range fnspectest.Bad {
		if c.Field != fnspec.FieldHandler {
			continue
		}
		n++
		for _, verb := range []string{"deploy", "update"} {
			t.Run(verb+" "+c.Name, func(t *testing.T) {
				ios, _, _, _ := iostreams.Test()
				f := &Factory{IOStreams: ios}
				ran := func(*DeployOptions) error { t.Error("the command ran"); return nil }
				cmd := NewCmdDeploy(f, ran)
				if verb == "update" {
					cmd = NewCmdUpdate(f, ran)
				}
				cmd.SetArgs([]string{"hello", "-r", "python3.11", "-f", "missing.py", "--handler", c.Value})
				cmd.SetOut(&strings.Builder{})
				cmd.SetErr(&strings.Builder{})
				err := cmd.Execute()
				want := c.Message
				if !strings.HasPrefix(want, "handler ") {
					want = fmt.Sprintf("handler %q: %s", c.Value, want)
				}
				var fe *cmdutil.FlagError
				if err == nil || err.Error() != want || errors.As(err, &fe) {
					t.Errorf("err = %v, want a plain error %q", err, want)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("fnspectest.Bad has no handler case")
	}
}
