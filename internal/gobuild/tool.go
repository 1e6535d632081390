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

// compileTool compiles $KUBELESS_INSTALL_VOLUME into
// $KUBELESS_INSTALL_VOLUME/server; the function's package is the folder of
// $MOD_NAME (the top when it has none).
func compileTool(ctx context.Context, inv build.ToolInvocation) error {
	vol := inv.Getenv(contract.EnvInstallVolume)
	if vol == "" {
		vol = inv.Dir
	}
	pkg, err := PackageOf(inv.Getenv(contract.EnvModName))
	if err != nil {
		return err
	}
	err = CompileInto(ctx, vol, Options{
		CacheDir: localrt.CacheDir(inv.Getenv),
		Env:      inv.Env,
		Log:      inv.Stderr,
		Package:  pkg,
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
