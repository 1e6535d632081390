// Package gobuild compiles a Go function (a package kubeless with an
// optional go.mod) into one server binary that serves it in-process with the
// host library (pkg/host), with no extra hop. Builds are cached by content.
//
// The server selects its handler at start from FUNC_HANDLER among every
// exported function of the package with the Kubeless signature, so one
// binary serves any handler of the same code.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"golang.org/x/mod/modfile"

	kubeless "github.com/kubeless/kubeless"
)

// Options configure a build.
type Options struct {
	// CacheDir keeps built servers, one folder per content key.
	CacheDir string
	// Go is the go command (default "go" from PATH).
	Go string
	// Env is the environment of the go command (default os.Environ()).
	Env []string
	// Log receives progress lines; may be nil.
	Log io.Writer
	// Package is the folder of the function's package inside the function
	// folder, with "/" between folders ("src/api" for the handler
	// src/api/hello.Foo); "" is the folder itself. The function's go.mod
	// stays at the top of the function folder, so the package may import
	// the module's other packages.
	Package string
}

// PackageOf returns the package folder of a handler's module (MOD_NAME):
// "src/api" for "src/api/hello", "" for "hello". It refuses a folder that
// leaves the function folder.
func PackageOf(module string) (string, error) {
	i := strings.LastIndexByte(module, '/')
	if i < 0 {
		return "", nil
	}
	dir := module[:i]
	for _, part := range strings.Split(dir, "/") {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, "\\\x00") {
			return "", fmt.Errorf("module %q: folder %q must stay inside the function's folder (no empty, \".\" or \"..\" parts)", module, dir)
		}
	}
	return dir, nil
}

// Result is a built server.
type Result struct {
	// Binary is the path of the server executable.
	Binary string
	// Cached is true when the build was found in the cache.
	Cached bool
	// Handlers are the function names the server can serve.
	Handlers []string
}

// CompileError is a build failure of the user's code; Output holds the
// compiler's messages with paths relative to the function folder.
type CompileError struct {
	Output string
}

func (e *CompileError) Error() string {
	return "go build failed:\n" + strings.TrimRight(e.Output, "\n")
}

// Compile builds the function in dir, or finds it in the cache.
func Compile(ctx context.Context, dir string, opts Options) (*Result, error) {
	if opts.Go == "" {
		opts.Go = "go"
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	files, err := functionFiles(dir)
	if err != nil {
		return nil, err
	}
	handlers, err := findHandlers(dir, opts.Package, files)
	if err != nil {
		return nil, err
	}
	goVersion, err := goVersion(ctx, opts)
	if err != nil {
		return nil, err
	}
	srcKey, err := sourceKey()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "gobuild v1\n%s\n%s\n", goVersion, srcKey)
	if opts.Package != "" {
		fmt.Fprintf(h, "package %s\n", opts.Package)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	key := hex.EncodeToString(h.Sum(nil))[:32]
	out := filepath.Join(opts.CacheDir, "go", key)
	bin := filepath.Join(out, "server")
	if _, err := os.Stat(bin); err == nil {
		return &Result{Binary: bin, Cached: true, Handlers: handlers}, nil
	}

	src, err := writeSource(opts.CacheDir, srcKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opts.CacheDir, "go"), 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(filepath.Join(opts.CacheDir, "go"), "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := copyFiles(dir, filepath.Join(work, "function"), files); err != nil {
		return nil, err
	}
	modPath, err := functionModule(filepath.Join(work, "function"))
	if err != nil {
		return nil, err
	}
	importPath := modPath
	if opts.Package != "" {
		importPath = modPath + "/" + opts.Package
	}
	if err := writeServer(work, src, modPath, importPath, handlers); err != nil {
		return nil, err
	}
	if opts.Log != nil {
		fmt.Fprintf(opts.Log, "compiling Go function in %s\n", dir)
	}
	cmd := exec.CommandContext(ctx, opts.Go, "build", "-trimpath", "-o", "server", ".")
	cmd.Dir = work
	cmd.Env = append(append([]string(nil), opts.Env...), "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &CompileError{Output: cleanOutput(buf.String())}
	}
	if err := os.MkdirAll(filepath.Join(work, "out"), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(work, "server"), filepath.Join(work, "out", "server")); err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(work, "out"), out); err != nil {
		// Another build of the same key won the race: use its result.
		if _, serr := os.Stat(bin); serr != nil {
			return nil, fmt.Errorf("store build in cache: %w", err)
		}
	}
	return &Result{Binary: bin, Handlers: handlers}, nil
}

// functionFiles lists the files that make up the function: every .go file
// (tests excluded) and go.mod/go.sum, relative to dir, sorted.
func functionFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "vendor" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if name == "server" || strings.HasPrefix(name, ".") {
			return nil
		}
		if (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) || (rel == "go.mod" || rel == "go.sum") {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read Go function folder: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// findHandlers returns the exported functions of the package in folder
// pkgDir ("" for the top) with the signature
// func(functions.Event, functions.Context) (string, error).
func findHandlers(dir, pkgDir string, files []string) ([]string, error) {
	fset := token.NewFileSet()
	var handlers []string
	pkg := ""
	want := filepath.FromSlash(pkgDir)
	if want == "" {
		want = "."
	}
	for _, f := range files {
		if filepath.Dir(f) != want || !strings.HasSuffix(f, ".go") {
			continue
		}
		af, err := parser.ParseFile(fset, filepath.Join(dir, f), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, &CompileError{Output: cleanOutput(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))}
		}
		if pkg == "" {
			pkg = af.Name.Name
		}
		if af.Name.Name == "main" {
			return nil, fmt.Errorf("%s: package main cannot be a function: declare package kubeless", f)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !fd.Name.IsExported() || !isHandlerType(fd.Type) {
				continue
			}
			handlers = append(handlers, fd.Name.Name)
		}
	}
	where := filepath.Join(dir, want)
	if pkg == "" {
		return nil, fmt.Errorf("no .go file found in %s: a Go function is a package kubeless file such as hello.go", where)
	}
	if len(handlers) == 0 {
		return nil, fmt.Errorf("package %s in %s has no exported function with the signature func(functions.Event, functions.Context) (string, error)", pkg, where)
	}
	sort.Strings(handlers)
	return handlers, nil
}

func isHandlerType(t *ast.FuncType) bool {
	if t.Params == nil || t.Results == nil || t.TypeParams != nil {
		return false
	}
	var params []ast.Expr
	for _, f := range t.Params.List {
		n := max(len(f.Names), 1)
		for i := 0; i < n; i++ {
			params = append(params, f.Type)
		}
	}
	var results []ast.Expr
	for _, f := range t.Results.List {
		n := max(len(f.Names), 1)
		for i := 0; i < n; i++ {
			results = append(results, f.Type)
		}
	}
	return len(params) == 2 && len(results) == 2 &&
		isSel(params[0], "Event") && isSel(params[1], "Context") &&
		isIdent(results[0], "string") && isIdent(results[1], "error")
}

func isSel(e ast.Expr, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	return ok && s.Sel.Name == name
}

func isIdent(e ast.Expr, name string) bool {
	i, ok := e.(*ast.Ident)
	return ok && i.Name == name
}

func goVersion(ctx context.Context, opts Options) (string, error) {
	cmd := exec.CommandContext(ctx, opts.Go, "env", "GOVERSION", "GOOS", "GOARCH")
	cmd.Env = opts.Env
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("the go command was not found: install Go or put it on PATH to compile Go functions")
		}
		return "", fmt.Errorf("go env: %w", err)
	}
	return strings.Join(strings.Fields(string(out)), " "), nil
}

// sourceKey hashes the embedded host source.
func sourceKey() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(kubeless.Source, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := kubeless.Source.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// writeSource writes the embedded host source once per version.
func writeSource(cacheDir, key string) (string, error) {
	dst := filepath.Join(cacheDir, "go", "kubeless-src-"+key)
	if _, err := os.Stat(filepath.Join(dst, "go.mod")); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Join(cacheDir, "go"), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Join(cacheDir, "go"), "src-")
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(kubeless.Source, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := kubeless.Source.ReadFile(p)
		if err != nil {
			return err
		}
		if p == "go.mod" {
			if b, err = hostGoMod(b); err != nil {
				return err
			}
		}
		t := filepath.Join(tmp, p)
		if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
			return err
		}
		return os.WriteFile(t, b, 0o644)
	})
	if err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(dst, "go.mod")); serr != nil {
			return "", err
		}
	}
	return dst, nil
}

// hostModules are the modules the host library (pkg/host, pkg/functions)
// imports; the rest of this repository's requirements (Kubernetes, cobra, …)
// stay out of a function server's module graph.
var hostModules = []string{"github.com/prometheus/client_golang"}

// hostGoMod reduces this module's go.mod to what a function server needs,
// with a go directive old enough for every Go version of the catalog.
func hostGoMod(full []byte) ([]byte, error) {
	f, err := modfile.ParseLax("go.mod", full, nil)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\ngo %s\n", f.Module.Mod.Path, minGo)
	for _, r := range f.Require {
		for _, m := range hostModules {
			if r.Mod.Path == m {
				fmt.Fprintf(&b, "\nrequire %s %s\n", r.Mod.Path, r.Mod.Version)
			}
		}
	}
	return []byte(b.String()), nil
}

// minGo is the go directive of generated go.mod files.
const minGo = "1.23"

func copyFiles(from, to string, files []string) error {
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			return err
		}
		t := filepath.Join(to, f)
		if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(t, b, 0o644); err != nil {
			return err
		}
	}
	return os.MkdirAll(to, 0o755)
}

// functionModule returns the function's module path, writing a go.mod
// ("module function", as the original's default) when there is none or it
// is empty.
func functionModule(dir string) (string, error) {
	p := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(p)
	if err == nil && len(bytes.TrimSpace(b)) > 0 {
		f, err := modfile.ParseLax("go.mod", b, nil)
		if err != nil {
			return "", &CompileError{Output: err.Error()}
		}
		if f.Module == nil || f.Module.Mod.Path == "" {
			return "", &CompileError{Output: "go.mod: no module line: add one such as \"module function\""}
		}
		return f.Module.Mod.Path, nil
	}
	if err := os.WriteFile(p, []byte("module function\n\ngo 1.21\n"), 0o644); err != nil {
		return "", err
	}
	return "function", nil
}

var mainTmpl = template.Must(template.New("main").Parse(`// Code generated by kubeless; DO NOT EDIT.

package main

import (
	"os"

	fn {{printf "%q" .Module}}
	"github.com/kubeless/kubeless/pkg/functions"
	"github.com/kubeless/kubeless/pkg/host"
)

func main() {
	os.Exit(host.ServeGo(map[string]functions.Handler{
{{- range .Handlers}}
		{{printf "%q" .}}: fn.{{.}},
{{- end}}
	}))
}
`))

// writeServer writes the server's main package, which imports the
// function's package importPath from the function's module modPath.
func writeServer(work, src, modPath, importPath string, handlers []string) error {
	var main bytes.Buffer
	if err := mainTmpl.Execute(&main, map[string]any{"Module": importPath, "Handlers": handlers}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "main.go"), main.Bytes(), 0o644); err != nil {
		return err
	}
	gomod := fmt.Sprintf(`module kubeless.io/function-server

go `+minGo+`

require (
	github.com/kubeless/kubeless v0.0.0
	%s v0.0.0
)

replace github.com/kubeless/kubeless => %s

replace %s => ./function
`, quoteMod(modPath), src, quoteMod(modPath))
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	sum, err := kubeless.Source.ReadFile("go.sum")
	if err != nil {
		return err
	}
	if user, err := os.ReadFile(filepath.Join(work, "function", "go.sum")); err == nil {
		sum = append(append(sum, '\n'), user...)
	}
	return os.WriteFile(filepath.Join(work, "go.sum"), sum, 0o644)
}

func quoteMod(p string) string {
	if strings.ContainsAny(p, " \t\"") {
		return fmt.Sprintf("%q", p)
	}
	return p
}

// cleanOutput shows compiler messages with paths relative to the user's
// folder ("hello.go:4:2: undefined: x").
func cleanOutput(s string) string {
	s = strings.ReplaceAll(s, "function/", "")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "# ") || strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// CompileInto compiles the function in dir and writes the server to
// dir/server: the compilation phase of the go runtimes (kubeless-go-compile),
// in an init container or in a local build.
func CompileInto(ctx context.Context, dir string, opts Options) error {
	res, err := Compile(ctx, dir, opts)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(res.Binary)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".server.tmp")
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return fmt.Errorf("write server: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, "server"))
}

// Prebuilt returns dir/server when the compilation phase already built it
// from the function's current files (it is newer than each of them), as in
// a function's volume after a build.
func Prebuilt(dir string) (string, bool) {
	bin := filepath.Join(dir, "server")
	st, err := os.Stat(bin)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return "", false
	}
	files, err := functionFiles(dir)
	if err != nil || len(files) == 0 {
		return "", false
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.ModTime().After(st.ModTime()) {
			return "", false
		}
	}
	return bin, true
}
