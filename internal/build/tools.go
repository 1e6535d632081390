package build

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:embed tools
var toolsFS embed.FS

// Scripts returns the helper scripts that catalog commands may name, by
// command name: kubeless-npm-install. In a build on this machine they are
// put first on PATH; the init images copy the same files (this package's
// tools/ folder) to /usr/local/bin.
func Scripts() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := fs.ReadDir(toolsFS, "tools")
	for _, e := range entries {
		b, err := toolsFS.ReadFile("tools/" + e.Name())
		if err == nil {
			out[e.Name()] = b
		}
	}
	return out
}

// ToolArg is the first argument with which a Go tool's shim runs
// Builder.SelfExe: `<SelfExe> __kubeless-build-tool <tool name> <args…>`.
const ToolArg = "__kubeless-build-tool"

// ToolFunc is a helper command written in Go, such as kubeless-go-compile.
// It runs in a process of its own (the re-executed binary, see RunTool),
// started by a catalog command through its shim, with the phase's working
// folder and environment. Its output is the phase's output: a failure's
// last lines end the PhaseError.
type ToolFunc func(ctx context.Context, inv ToolInvocation) error

// ToolInvocation is what a ToolFunc is given.
type ToolInvocation struct {
	// Name is the command name the tool was called by.
	Name string
	// Args are its arguments (without the name).
	Args []string
	// Dir is the working folder: the install volume.
	Dir string
	// Env is the environment ("NAME=value"): KUBELESS_INSTALL_VOLUME,
	// KUBELESS_DEPS_FILE, KUBELESS_FUNC_NAME, the catalog's phase
	// environment (GOCACHE) and the user's.
	Env    []string
	Stdout io.Writer
	Stderr io.Writer
}

// Getenv returns the value of name in inv.Env ("" if absent; the last
// entry wins).
func (inv ToolInvocation) Getenv(name string) string {
	v := ""
	for _, kv := range inv.Env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

// RunTool runs the Go tool that a shim asked for and returns the process's
// exit code. args are the process's arguments after ToolArg: the tool's name,
// then its arguments. A binary that builds with GoTools calls it first thing:
//
//	if len(os.Args) > 1 && os.Args[1] == build.ToolArg {
//		os.Exit(build.RunTool(ctx, tools, os.Args[2:], os.Stdout, os.Stderr))
//	}
//
// An error of the tool is printed to stderr as "<name>: <error>" with exit
// code 1; an unknown tool name gives exit code 127, as sh does.
func RunTool(ctx context.Context, tools map[string]ToolFunc, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: missing tool name\n", ToolArg)
		return 2
	}
	name := args[0]
	tool, ok := tools[name]
	if !ok {
		fmt.Fprintf(stderr, "%s: not a Go build tool of this binary\n", name)
		return 127
	}
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	inv := ToolInvocation{Name: name, Args: args[1:], Dir: dir, Env: os.Environ(), Stdout: stdout, Stderr: stderr}
	if err := tool(ctx, inv); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// writeShims writes the helper commands into dir: the embedded scripts, and
// for each Go tool a script that runs SelfExe with ToolArg.
func (b *Builder) writeShims(dir string) error {
	for name, body := range Scripts() {
		if _, ok := b.GoTools[name]; ok {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o755); err != nil {
			return err
		}
	}
	if len(b.GoTools) == 0 {
		return nil
	}
	self := b.SelfExe
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary for the Go build tools: %w", err)
		}
		self = exe
	}
	for name := range b.GoTools {
		if strings.ContainsAny(name, "/\x00") || name == "" {
			return fmt.Errorf("Go build tool name %q: want a plain command name", name)
		}
		shim := "#!/bin/sh\nexec " + shellQuote(self) + " " + ToolArg + " " + shellQuote(name) + ` "$@"` + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(shim), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// shellQuote quotes s for sh: a path of this machine, never a user value.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
