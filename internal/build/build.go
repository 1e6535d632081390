package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kubeless/kubeless/internal/fnspec"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"

	"github.com/kubeless/kubeless/pkg/contract"
)

// Function is what a build needs of a Function object. The fields carry the
// values of its spec unchanged.
type Function struct {
	// Name is the function's name; it only appears in messages.
	Name string
	// Runtime is the runtime string, for example "python3.11".
	Runtime string
	// Handler is "module.function".
	Handler string
	// Function is the code: the source text, its base64, or a URL,
	// according to ContentType.
	Function string
	// ContentType is the function-content-type ("" means text).
	ContentType string
	// Checksum is "sha256:<hex>" of the decoded code, or "" for none.
	Checksum string
	// Deps is the content of the dependency file, or "".
	Deps string
	// Env is the user's environment ("NAME=value"), given to the build
	// phases (NPM_REGISTRY, PIP_INDEX_URL, GOPROXY, …). Later entries win.
	Env []string
}

// Result is a built function.
type Result struct {
	// Dir is the built folder in the cache: the function's install volume
	// with its code, dependency file and installed dependencies. It is
	// shared by every build of the same input and must not be modified.
	Dir string
	// Key is the cache key: the hex SHA-256 of the build's inputs.
	Key string
	// Cached reports that Dir was already built and nothing ran.
	Cached bool
	// Entry is the catalog entry of the function's runtime.
	Entry langruntime.Entry
	// Handler is the parsed handler (MOD_NAME and FUNC_HANDLER).
	Handler source.Handler
	// ContentType is the parsed content type.
	ContentType source.ContentType
	// FileName is the code file's name in Dir for a function that is not an
	// archive ("hello.py"); for an archive it is the module name.
	FileName string
	// Env is the environment of the function's process for the runtime:
	// KUBELESS_INSTALL_VOLUME=Dir, then the catalog runtime environment
	// (PYTHONPATH, NODE_PATH, GEM_HOME) expanded for Dir.
	Env []langruntime.EnvVar
}

// FetchFunc downloads the code of a url content type.
type FetchFunc = source.FetchFunc

// Builder builds functions into a cache folder. The zero value of each
// optional field is usable. A Builder is safe for concurrent use, also by
// several processes sharing CacheDir.
type Builder struct {
	// Catalog resolves runtime strings. Required.
	Catalog *langruntime.Catalog
	// CacheDir holds the built folders, one per key. Required; created if
	// missing.
	CacheDir string

	// BaseEnv is the environment the build phases start from; nil means
	// this process's environment. The catalog's phase environment, the
	// function's Env and the KUBELESS_* variables are added to it, in that
	// order (later wins), and the shim folder is put first on its PATH.
	BaseEnv []string
	// GoTools are helper commands written in Go, by the name under which
	// catalog commands call them; "kubeless-go-compile" is one. Each gets a
	// shim that runs SelfExe with the arguments ToolArg, its name and its
	// own arguments, so that binary must hand those to RunTool (with the
	// same map). A Go tool hides an embedded script of the same name.
	GoTools map[string]ToolFunc
	// SelfExe is the binary that the shims of GoTools run; "" means
	// os.Executable().
	SelfExe string
	// Fetch downloads url content types; nil means HTTPFetch.
	Fetch FetchFunc
	// Limits bound archive extraction and downloads (source.Limits zero
	// values are defaults).
	Limits source.Limits
	// Output, when set, receives the build phases' output as it is written.
	Output io.Writer
	// Logger, when set, gets one line per cache hit, phase and build.
	Logger *slog.Logger
	// Salt is added to every cache key. Change it (for example to the
	// binary's version) to stop reusing folders built by another version.
	Salt string
	// OnPhase, when set, is called as a build that is not a cache hit
	// starts each of its steps: langruntime.StepPrepare, then StepInstall
	// (only for a function with dependencies and a runtime that installs
	// them), then StepCompile (when the runtime has a compilation phase). It is called
	// on the building goroutine and must not block for long.
	OnPhase func(step langruntime.BuildStep)
}

func (b *Builder) onPhase(p langruntime.BuildStep) {
	if b.OnPhase != nil {
		b.OnPhase(p)
	}
}

// OutputLines is how many of a failing tool's last output lines end a
// PhaseError.
const OutputLines = 20

// PhaseError is the error of a failed installation or compilation phase.
type PhaseError struct {
	Phase   langruntime.Phase
	Runtime string
	// Command is the catalog command that failed.
	Command string
	// Err is the exit status (or the reason the command could not start).
	Err error
	// Output is the tool's last OutputLines lines of output.
	Output string
}

func (e *PhaseError) Error() string {
	msg := fmt.Sprintf("%s phase of %s failed: %s: %v", e.Phase, e.Runtime, e.Command, e.Err)
	if e.Output != "" {
		msg += "; last lines of output:\n" + strings.TrimRight(e.Output, "\n")
	}
	return msg
}

func (e *PhaseError) Unwrap() error { return e.Err }

// buildInput is a function checked and decoded, ready to be keyed and built.
type buildInput struct {
	fn      Function
	entry   langruntime.Entry
	handler source.Handler
	ct      source.ContentType
	code    []byte
}

// Build builds fn, or returns the folder of an earlier build of the same
// input. The cache key covers the runtime string, the catalog's images,
// commands and environment of its version, the dependency file's name and
// content, the decoded code, the content type, the handler, the user's
// environment, the embedded helper scripts and Salt.
//
// A new build is made in a temporary folder beside its final place and
// renamed there only when every phase succeeded: a failed build leaves
// nothing in the cache. Concurrent builds of the same key, in this process
// or others, wait for each other through a lock file and then share the
// result.
//
// The errors keep the original's texts where scripts match on them:
// "Invalid runtime: …", "failed: incorrect handler format. …",
// "Unable to prepare function of type …", "Unable to verify checksum …". A
// failed phase is a *PhaseError, whose text ends with the tool's last lines.
func (b *Builder) Build(ctx context.Context, fn Function) (*Result, error) {
	start := time.Now()
	in, err := b.check(ctx, fn)
	if err != nil {
		return nil, fmt.Errorf("build function %q: %w", fn.Name, err)
	}
	key, err := b.key(in)
	if err != nil {
		return nil, fmt.Errorf("build function %q: %w", fn.Name, err)
	}
	// The tools get absolute paths: they run in the build folder.
	cacheDir, err := filepath.Abs(b.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("build function %q: %w", fn.Name, err)
	}
	res := &Result{
		Key:         key,
		Dir:         filepath.Join(cacheDir, key),
		Entry:       in.entry,
		Handler:     in.handler,
		ContentType: in.ct,
		FileName:    in.entry.Runtime.FileName(in.handler.Module, in.ct),
	}
	res.Env = in.entry.RuntimeEnv(res.Dir)
	if isDir(res.Dir) {
		if err := b.verifyCached(ctx, cacheDir, key, res.Dir); err == nil {
			res.Cached = true
			b.log("build cache hit", "function", fn.Name, "runtime", fn.Runtime, "key", key)
			return res, nil
		} else if b.Logger != nil {
			b.Logger.Warn("build cache entry rejected: rebuilding it", "function", fn.Name, "key", key, "reason", err.Error())
		}
	}
	cached, err := b.buildLocked(ctx, in, cacheDir, key, res.Dir)
	if err != nil {
		return nil, fmt.Errorf("build function %q (%s): %w", fn.Name, fn.Runtime, err)
	}
	res.Cached = cached
	b.log("build done", "function", fn.Name, "runtime", fn.Runtime, "key", key, "cached", cached, "duration_ms", time.Since(start).Milliseconds())
	return res, nil
}

// verifyCached checks a cached folder against its recorded digest, under
// the key's lock (no build of the key is under way); a folder that fails is
// removed, for buildLocked to build again.
func (b *Builder) verifyCached(ctx context.Context, cacheDir, key, dir string) error {
	locks := filepath.Join(cacheDir, ".locks")
	if err := os.MkdirAll(locks, 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(locks, key+".lock"))
	if err != nil {
		return fmt.Errorf("lock build cache: %w", err)
	}
	defer unlock()
	if err := verifyDigest(dir); err != nil {
		removeAll(dir)
		return err
	}
	return nil
}

func (b *Builder) log(msg string, args ...any) {
	if b.Logger != nil {
		b.Logger.Info(msg, args...)
	}
}

// check resolves everything about fn that can fail before building: the
// runtime, the handler, the content type, the user environment and the code.
func (b *Builder) check(ctx context.Context, fn Function) (*buildInput, error) {
	if b.Catalog == nil || b.CacheDir == "" {
		return nil, errors.New("builder needs a Catalog and a CacheDir")
	}
	if fn.Handler == "" {
		return nil, fnspec.ErrNoHandler
	}
	p, err := fnspec.Validate(fnspec.Spec{Runtime: fn.Runtime, Handler: fn.Handler, ContentType: fn.ContentType, Checksum: fn.Checksum}, b.Catalog)
	if err != nil {
		return nil, err
	}
	entry, h, ct := p.Entry, p.Handler, p.ContentType
	for _, kv := range fn.Env {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" || strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("environment variable %q: want NAME=value", kv)
		}
	}
	if fn.Deps != "" && entry.Runtime.DepName == "" {
		return nil, fmt.Errorf("runtime %s has no dependency file, but the function has deps", fn.Runtime)
	}
	fetch := b.Fetch
	if fetch == nil {
		fetch = HTTPFetch(b.Limits)
	}
	code, err := source.Decode(ctx, fn.Function, ct, fn.Checksum, fetch)
	if err != nil {
		return nil, err
	}
	return &buildInput{fn: fn, entry: entry, handler: h, ct: ct, code: code}, nil
}

// keySchema changes whenever the layout of a built folder changes.
const keySchema = "kubeless-build/1"

func (b *Builder) key(in *buildInput) (string, error) {
	sum := func(s []byte) string {
		h := sha256.Sum256(s)
		return hex.EncodeToString(h[:])
	}
	scripts := map[string]string{}
	for name, body := range Scripts() {
		scripts[name] = sum(body)
	}
	var goTools []string
	for name := range b.GoTools {
		goTools = append(goTools, name)
		delete(scripts, name)
	}
	slices.Sort(goTools)
	k := struct {
		Schema         string
		Salt           string
		Runtime        string
		DepName        string
		FileNameSuffix string
		Images         []langruntime.Image
		Scripts        map[string]string
		GoTools        []string
		ContentType    string
		Handler        string
		Code           string
		Deps           string
		Env            []string
	}{
		Schema:         keySchema,
		Salt:           b.Salt,
		Runtime:        in.entry.Name(),
		DepName:        in.entry.Runtime.DepName,
		FileNameSuffix: in.entry.Runtime.FileNameSuffix,
		Images:         in.entry.Version.Images,
		Scripts:        scripts,
		GoTools:        goTools,
		ContentType:    in.ct.String(),
		Handler:        in.handler.String(),
		Code:           sum(in.code),
		Deps:           sum([]byte(in.fn.Deps)),
		Env:            in.fn.Env,
	}
	js, err := json.Marshal(k)
	if err != nil {
		return "", err
	}
	return sum(js), nil
}

// buildLocked builds under the key's lock. It reports cached=true when
// another build of the same key finished first.
func (b *Builder) buildLocked(ctx context.Context, in *buildInput, cacheDir, key, final string) (cached bool, err error) {
	locks := filepath.Join(cacheDir, ".locks")
	if err := os.MkdirAll(locks, 0o755); err != nil {
		return false, err
	}
	unlock, err := lockFile(ctx, filepath.Join(locks, key+".lock"))
	if err != nil {
		return false, fmt.Errorf("lock build cache: %w", err)
	}
	defer unlock()
	if isDir(final) {
		if verifyDigest(final) == nil {
			return true, nil
		}
		// Rejected by Build (verifyCached removed it) or tampered with
		// meanwhile: build it again.
		removeAll(final)
	}
	// Leftovers of a build of this key that crashed: nobody else can be
	// building it, since we hold the lock.
	stale, _ := filepath.Glob(filepath.Join(cacheDir, "."+key+".build-*"))
	for _, s := range stale {
		removeAll(s)
	}
	// The build folder is a sibling of its final place, so that relative
	// links made by the tools stay right after the rename.
	dir, err := os.MkdirTemp(cacheDir, "."+key+".build-")
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			removeAll(dir)
		}
	}()
	if err := os.Remove(dir); err != nil {
		return false, err
	}
	b.onPhase(langruntime.StepPrepare)
	if err := Prepare(dir, in.code, in.ct, in.handler, in.entry.Runtime, in.fn.Deps, b.Limits); err != nil {
		return false, err
	}
	if err := b.runPhases(ctx, in, dir); err != nil {
		return false, err
	}
	if err := recordDigest(dir, final); err != nil {
		return false, err
	}
	if err := os.Rename(dir, final); err != nil {
		if isDir(final) {
			// Another process without our lock (or a stale lock file on a
			// filesystem without locks) won the race: use its folder.
			removeAll(dir)
			return true, nil
		}
		return false, err
	}
	return false, nil
}

// runPhases runs the installation phase (when the function has
// dependencies) and the compilation phase (always) of the entry.
func (b *Builder) runPhases(ctx context.Context, in *buildInput, dir string) error {
	var phases []langruntime.Image
	if img, ok := in.entry.Image(langruntime.PhaseInstallation); ok && (in.fn.Deps != "" || in.ct.Deps) {
		if dep := in.entry.Runtime.DepName; dep != "" && in.ct.Deps {
			if _, err := os.Stat(filepath.Join(dir, dep)); err != nil {
				return fmt.Errorf("content type %q: the archive has no %s", in.ct, dep)
			}
		}
		phases = append(phases, img)
	}
	if img, ok := in.entry.Image(langruntime.PhaseCompilation); ok {
		phases = append(phases, img)
	}
	if len(phases) == 0 {
		return nil
	}
	shims, err := os.MkdirTemp("", "kubeless-shims-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(shims)
	if err := b.writeShims(shims); err != nil {
		return err
	}
	for _, img := range phases {
		env := b.phaseEnv(in, img.Phase, dir, shims)
		b.log("build phase", "function", in.fn.Name, "runtime", in.entry.Name(), "phase", string(img.Phase))
		switch img.Phase {
		case langruntime.PhaseInstallation:
			b.onPhase(langruntime.StepInstall)
		case langruntime.PhaseCompilation:
			b.onPhase(langruntime.StepCompile)
		}
		if err := runCommand(ctx, img.Command, dir, env, b.Output); err != nil {
			var out *commandError
			if errors.As(err, &out) {
				return &PhaseError{Phase: img.Phase, Runtime: in.entry.Name(), Command: img.Command, Err: out.err, Output: out.tail}
			}
			return &PhaseError{Phase: img.Phase, Runtime: in.entry.Name(), Command: img.Command, Err: err}
		}
	}
	return nil
}

// phaseEnv is the environment of a phase: the base environment, the
// catalog's phase environment, the user's, the KUBELESS_* variables, and
// PATH with the shims first.
func (b *Builder) phaseEnv(in *buildInput, phase langruntime.Phase, dir, shims string) []string {
	base := b.BaseEnv
	if base == nil {
		base = os.Environ()
	}
	env := append([]string(nil), base...)
	for _, e := range in.entry.PhaseEnv(phase, dir) {
		env = append(env, e.String())
	}
	env = append(env, in.fn.Env...)
	env = append(env, contract.EnvInstallVolume+"="+dir)
	if dep := in.entry.Runtime.DepName; dep != "" {
		env = append(env, contract.EnvDepsFile+"="+filepath.Join(dir, dep))
	}
	env = append(env, contract.EnvFuncName+"="+in.handler.Function, contract.EnvModName+"="+in.handler.Module)
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return append(env, "PATH="+shims+string(os.PathListSeparator)+path)
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// removeAll removes p like os.RemoveAll, also when tools left read-only
// folders in it (Go's module cache does).
func removeAll(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
