package gobuild

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/localrt"

	"github.com/kubeless/kubeless/pkg/contract"
)

// Tools are the catalog's helper commands written in Go. Local builds
// reach them through shims that re-execute the kubeless binary
// (build.ToolArg); the compilation images call the same code through
// kubeless-go-compile.
var Tools = map[string]build.ToolFunc{
	"kubeless-go-compile": compileTool,
}

// goCompileTool compiles $KUBELESS_INSTALL_VOLUME into
// $KUBELESS_INSTALL_VOLUME/server.
func compileTool(ctx context.Context, inv build.ToolInvocation) error {
	vol := inv.Getenv(contract.EnvInstallVolume)
	if vol == "" {
		vol = inv.Dir
	}
	err := CompileInto(ctx, vol, Options{
		CacheDir: localrt.CacheDir(inv.Getenv),
		Env:      inv.Env,
		Log:      inv.Stderr,
	})
	var ce *CompileError
	if errors.As(err, &ce) {
		fmt.Fprintln(inv.Stderr, ce.Output)
		// The original wrote compiler errors to the termination log, where
		// `kubectl describe pod` shows them.
		if f, ferr := os.OpenFile("/dev/termination-log", os.O_WRONLY|os.O_TRUNC, 0); ferr == nil {
			fmt.Fprintln(f, ce.Output)
			f.Close()
		}
		return errors.New("compilation failed")
	}
	return err
}
