package build

// Builds with the real tools of this machine and the default catalog: pip
// from a wheel folder the test makes, npm from a local tarball and from the
// npm registry, bundler from a gem source the test makes with `gem build`,
// composer from a path repository. Each test skips only when its tool is
// missing, and says so.

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/testutil"
)

// localRuntime returns the first runtime of the default catalog with the
// given ID that this machine can run, or skips the test.
func localRuntime(t *testing.T, id string) (string, Local) {
	t.Helper()
	cat := langruntime.Default()
	var problems []string
	for _, l := range (Detector{}).Detect(context.Background(), cat) {
		if gotID, _, _ := langruntime.SplitRuntime(l.Runtime); gotID != id {
			continue
		}
		if l.OK() && l.Match {
			return l.Runtime, l
		}
		problems = append(problems, l.Runtime+": "+l.Problem)
	}
	testutil.Unavailable(t, "no %s runtime of the default catalog can run here: %s", id, strings.Join(problems, "; "))
	return "", Local{}
}

func realBuilder(t *testing.T) *Builder {
	t.Helper()
	return &Builder{Catalog: langruntime.Default(), CacheDir: filepath.Join(t.TempDir(), "cache")}
}

func realContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// runIn runs a command in dir with the function's runtime environment added.
func runIn(t *testing.T, res *Result, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = res.Dir
	cmd.Env = os.Environ()
	for _, e := range res.Env {
		cmd.Env = append(cmd.Env, e.String())
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// buildTwice builds fn, then checks that a second build is a cache hit
// under 100 ms.
func buildTwice(t *testing.T, ctx context.Context, b *Builder, fn Function) *Result {
	t.Helper()
	start := time.Now()
	res, err := b.Build(ctx, fn)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Logf("%s built in %v", fn.Runtime, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	again, err := b.Build(ctx, fn)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("second Build: %v", err)
	}
	if !again.Cached || again.Dir != res.Dir {
		t.Errorf("second build is not a cache hit")
	}
	t.Logf("cache hit in %v", elapsed) // no bound: Cached and the same folder prove the hit
	return res
}

func TestRealPip(t *testing.T) {
	rt, local := localRuntime(t, "python")
	// Offline: only a wheel folder, through pip's own environment knobs.
	env := testutil.PipSource(t, "hello-dep", "1.0", map[string]string{
		"hello_dep/__init__.py": "def greet():\n    return 'hi from wheel'\n",
	})
	code := "import hello_dep\n\ndef foo(event, context):\n    return hello_dep.greet()\n"
	deps := "hello-dep==1.0\n"
	ctx := realContext(t)
	b := realBuilder(t)
	check := func(t *testing.T, res *Result) {
		got := runIn(t, res, local.Path, "-c", "import hello; print(hello.foo(None, None))")
		if got != "hi from wheel" {
			t.Errorf("function returned %q", got)
		}
		if _, err := os.Stat(filepath.Join(res.Dir, "lib", "python"+strings.TrimPrefix(rt, "python"), "site-packages", "hello_dep", "__init__.py")); err != nil {
			t.Errorf("package not where PYTHONPATH points: %v", err)
		}
	}
	t.Run("text", func(t *testing.T) {
		res := buildTwice(t, ctx, b, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: code, Deps: deps, Env: env})
		check(t, res)
	})
	t.Run("zip with deps inside", func(t *testing.T) {
		z := testutil.Zip(t, map[string]string{"hello.py": code, "requirements.txt": deps})
		res := buildTwice(t, ctx, b, Function{Name: "hello", Runtime: rt, Handler: "hello.foo",
			Function: base64.StdEncoding.EncodeToString(z), ContentType: "base64+zip+deps", Env: env})
		check(t, res)
	})
	// Debian's own Python puts --prefix installs under local/lib/…/dist-packages;
	// the catalog's PYTHONPATH covers that layout too.
	debian := "/usr/bin/" + rt
	t.Run("Debian layout", func(t *testing.T) {
		if _, err := os.Stat("/usr/lib/python3/dist-packages"); err != nil || local.Path == debian {
			t.Skipf("no Debian %s beside %s", debian, local.Path)
		}
		if _, err := os.Stat(debian); err != nil {
			t.Skipf("no %s", debian)
		}
		if err := exec.Command(debian, "-m", "pip", "--version").Run(); err != nil {
			t.Skipf("%s has no pip: %v", debian, err)
		}
		db := realBuilder(t)
		db.BaseEnv = append(os.Environ(), "PATH=/usr/bin:/bin")
		res, err := db.Build(ctx, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: code, Deps: deps, Env: env})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if got := runIn(t, res, debian, "-c", "import hello; print(hello.foo(None, None))"); got != "hi from wheel" {
			t.Errorf("function returned %q", got)
		}
	})
	t.Run("broken dependency file", func(t *testing.T) {
		_, err := b.Build(ctx, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: code, Deps: "no-such-package==9.9\n", Env: env})
		if err == nil {
			t.Fatal("Build succeeded")
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		if !strings.HasPrefix(first, `build function "hello" (`+rt+`): installation phase of `+rt+` failed: `) {
			t.Errorf("first line = %q", first)
		}
		if !strings.Contains(err.Error(), "No matching distribution found for no-such-package==9.9") {
			t.Errorf("error lacks pip's message:\n%s", err)
		}
	})
}

func TestRealNpm(t *testing.T) {
	rt, _ := localRuntime(t, "nodejs")
	ctx := realContext(t)
	// A local package, packed with npm pack.
	tarball := testutil.NpmTarball(t, ctx, "hello-dep", "1.0.0", map[string]string{
		"index.js": "exports.greet = () => 'hi from tarball';\n",
	})
	home := t.TempDir()
	b := realBuilder(t)
	t.Run("local tarball and registry package", func(t *testing.T) {
		// is-number comes from npm's default registry: NPM_REGISTRY is unset.
		deps := `{"name": "fn", "version": "0.0.1", "dependencies": {"hello-dep": "file:` + tarball + `", "is-number": "7.0.0"}}`
		code := "const dep = require('hello-dep');\nconst isNumber = require('is-number');\nmodule.exports = { foo: () => dep.greet() + ' ' + isNumber(5) };\n"
		res := buildTwice(t, ctx, b, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: code, Deps: deps,
			Env: []string{"HOME=" + home}})
		if got := runIn(t, res, "node", "-e", "console.log(require('./hello').foo())"); got != "hi from tarball true" {
			t.Errorf("function returned %q", got)
		}
		if _, err := os.Stat(filepath.Join(home, ".npmrc")); err == nil {
			t.Error("kubeless-npm-install wrote the user's ~/.npmrc")
		}
		if _, err := os.Stat(filepath.Join(res.Dir, ".npmrc")); err == nil {
			t.Error("kubeless-npm-install left an .npmrc in the function's folder")
		}
	})
	t.Run("NPM_REGISTRY, NPM_SCOPE and NPM_CONFIG_EXTRA", func(t *testing.T) {
		var mu sync.Mutex
		var paths []string
		reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			http.NotFound(w, r)
		}))
		defer reg.Close()
		deps := `{"name": "fn", "version": "0.0.1", "dependencies": {"@acme/thing": "1.0.0"}}`
		_, err := b.Build(ctx, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: "module.exports = {};\n", Deps: deps,
			Env: []string{"HOME=" + home, "NPM_REGISTRY=" + reg.URL + "/", "NPM_SCOPE=@acme", "NPM_CONFIG_EXTRA=fetch-retries=0"}})
		if err == nil {
			t.Fatal("Build succeeded against a registry that has nothing")
		}
		if !strings.Contains(err.Error(), "404") {
			t.Errorf("error lacks npm's 404:\n%s", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(paths) == 0 || !strings.Contains(strings.ToLower(paths[0]), "@acme") {
			t.Errorf("the scope's registry got %q, want a request for @acme/thing", paths)
		}
	})
}

func TestRealBundler(t *testing.T) {
	rt, local := localRuntime(t, "ruby")
	testutil.NeedTool(t, "gem")
	testutil.NeedTool(t, "bundle")
	ctx := realContext(t)
	// A gem built with gem build, served from a folder indexed with gem
	// generate_index.
	repo := testutil.GemSource(t, ctx, "hello_dep", "1.0.0", map[string]string{
		"lib/hello_dep.rb": "module HelloDep\n  def self.greet\n    'hi from gem'\n  end\nend\n",
	})
	deps := "source \"file://" + repo + "\"\ngem \"hello_dep\", \"1.0.0\"\n"
	code := "require 'hello_dep'\n\ndef foo(event, context)\n  HelloDep.greet\nend\n"
	b := realBuilder(t)
	res := buildTwice(t, ctx, b, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: code, Deps: deps})
	if got := runIn(t, res, local.Path, "-e", "require './hello'; puts foo(nil, nil)"); got != "hi from gem" {
		t.Errorf("function returned %q", got)
	}
	_, err := b.Build(ctx, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: code, Deps: "source \"file://" + repo + "\"\ngem \"no_such_gem\"\n"})
	if err == nil || !strings.Contains(err.Error(), "no_such_gem") {
		t.Errorf("broken Gemfile: error = %v, want bundler's message naming no_such_gem", err)
	}
}

func TestRealComposer(t *testing.T) {
	rt, local := localRuntime(t, "php")
	testutil.NeedTool(t, "composer")
	ctx := realContext(t)
	pkg := testutil.ComposerSource(t, "acme/hello-dep", "1.0.0", `Acme\HelloDep\`, map[string]string{
		"src/Greeter.php": "<?php\nnamespace Acme\\HelloDep;\nclass Greeter { public static function greet() { return 'hi from composer'; } }\n",
	})
	// The package comes from a path repository only, so nothing goes to
	// the network (which this machine does not reach).
	deps := testutil.ComposerRequire(t, pkg, "acme/hello-dep", "1.0.0")
	code := "<?php\nrequire __DIR__ . '/vendor/autoload.php';\nfunction foo($event, $context) { return \\Acme\\HelloDep\\Greeter::greet(); }\n"
	b := realBuilder(t)
	res := buildTwice(t, ctx, b, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: code, Deps: deps})
	if got := runIn(t, res, local.Path, "-r", "require 'hello.php'; echo foo(null, null);"); got != "hi from composer" {
		t.Errorf("function returned %q", got)
	}
	// A version the path repository does not have.
	broken := testutil.ComposerRequire(t, pkg, "acme/hello-dep", "2.0.0")
	_, err := b.Build(ctx, Function{Name: "hello", Runtime: rt, Handler: "hello.foo", Function: code, Deps: broken})
	if err == nil || !strings.Contains(err.Error(), "acme/hello-dep 2.0.0") {
		t.Errorf("broken composer.json: error = %v, want composer's message naming acme/hello-dep 2.0.0", err)
	}
}
