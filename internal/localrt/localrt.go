// Package localrt starts language runtimes on this machine, with no image,
// the way their images' entrypoints do: interpreted languages as workers
// behind the host (pkg/host), Go as a compiled server.
package localrt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kubeless/kubeless/runtimes"

	"github.com/kubeless/kubeless/pkg/contract"
)

// EnvInterpreter is the interpreter `kubeless runtime run` starts the
// workers with, when its caller (the local engine) already found it: an
// absolute path. Without it, runtime run looks for the interpreter on
// PATH and runs it once to check its version.
const EnvInterpreter = "KUBELESS_INTERPRETER"

// Spec says how a language's runtime starts locally.
type Spec struct {
	// Lang is the language's folder under runtimes/ and in the conformance
	// fixtures.
	Lang string
	// Worker is the worker file under runtimes/<Lang>/; empty for Go.
	Worker string
	// Env are the defaults of the host's worker settings; the caller's
	// environment wins.
	Env []string
}

// Specs of the languages, by runtime ID. The worker settings keep an idle
// instance small (one worker where threads or an event loop serve
// concurrent calls; bench/README.md has the numbers); set KUBELESS_WORKERS
// higher for CPU-bound functions, as Python's and Ruby's threads share one
// core. PHP has no threads: each worker serves one call at a time.
var Specs = map[string]Spec{
	"python": {Lang: "python", Worker: "kubeless.py",
		Env: []string{contract.EnvWorkers + "=1", contract.EnvWorkerConcurrency + "=16", "PYTHONUNBUFFERED=1"}},
	"nodejs": {Lang: "nodejs", Worker: "kubeless.js",
		Env: []string{contract.EnvWorkers + "=1", contract.EnvWorkerConcurrency + "=256"}},
	"ruby": {Lang: "ruby", Worker: "kubeless.rb",
		Env: []string{contract.EnvWorkers + "=1", contract.EnvWorkerConcurrency + "=16"}},
	"php": {Lang: "php", Worker: "kubeless.php",
		Env: []string{contract.EnvWorkers + "=4", contract.EnvWorkerConcurrency + "=1"}},
	"go": {Lang: "go"},
}

// CacheDir is where kubeless keeps builds and extracted workers:
// KUBELESS_CACHE, else the user's cache folder.
func CacheDir(env func(string) string) string {
	if d := env("KUBELESS_CACHE"); d != "" {
		return d
	}
	if d := env("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kubeless")
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".cache", "kubeless")
	}
	return filepath.Join(os.TempDir(), "kubeless-cache")
}

// WorkerPath writes the embedded workers to the cache (once per content)
// and returns the path of lang's worker file.
func WorkerPath(cacheDir, lang, file string) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(runtimes.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := runtimes.Files.ReadFile(p)
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "runtimes-"+hex.EncodeToString(h.Sum(nil))[:16])
	want := filepath.Join(dir, lang, file)
	if _, err := os.Stat(want); err == nil {
		return want, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cacheDir, "runtimes-tmp-")
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(runtimes.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := runtimes.Files.ReadFile(p)
		t := filepath.Join(tmp, p)
		if err := os.MkdirAll(filepath.Dir(t), 0o755); err != nil {
			return err
		}
		return os.WriteFile(t, b, 0o644)
	})
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(want); serr == nil {
			return want, nil
		}
		return "", fmt.Errorf("write runtime workers to %s: %w", cacheDir, err)
	}
	if _, err := os.Stat(want); err != nil {
		return "", fmt.Errorf("runtime %s has no worker %s in this build of kubeless", lang, file)
	}
	return want, nil
}

// ShellQuote quotes s for /bin/sh.
func ShellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Concurrency is how many invocations the spec's defaults serve at once.
func (s Spec) Concurrency() int {
	workers, per := 1, 1
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch k {
		case contract.EnvWorkers:
			workers = n
		case contract.EnvWorkerConcurrency:
			per = n
		}
	}
	return workers * per
}
