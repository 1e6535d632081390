package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testTools are the Go tools of the tests; the test binary plays the role of
// the kubeless binary that the shims re-execute (nomad's testtask pattern).
var testTools = map[string]ToolFunc{
	// kubeless-test-compile writes "server" with what it was given.
	"kubeless-test-compile": func(ctx context.Context, inv ToolInvocation) error {
		fmt.Fprintf(inv.Stdout, "compiling %s\n", inv.Getenv("KUBELESS_FUNC_NAME"))
		report := fmt.Sprintf("func=%s args=%s dir=%s volume=%s gocache=%s\n",
			inv.Getenv("KUBELESS_FUNC_NAME"), strings.Join(inv.Args, ","), inv.Dir,
			inv.Getenv("KUBELESS_INSTALL_VOLUME"), inv.Getenv("GOCACHE"))
		return os.WriteFile(filepath.Join(inv.Dir, "server"), []byte(report), 0o755)
	},
	// kubeless-test-fail fails like a compiler with a file and line.
	"kubeless-test-fail": func(ctx context.Context, inv ToolInvocation) error {
		for i := 1; i <= 30; i++ {
			fmt.Fprintf(inv.Stderr, "noise %d\n", i)
		}
		fmt.Fprintln(inv.Stderr, "./hello.go:3:2: undefined: fmt.Printx")
		return errors.New("compilation failed")
	},
}

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ToolArg {
		os.Exit(RunTool(context.Background(), testTools, os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
