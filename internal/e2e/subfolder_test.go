package e2e_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/testutil"
)

// A handler in a sub-folder (src/api/hello.foo) builds and runs through the
// local build and `kubeless runtime run`, in every interpreted language.
func TestSubFolderHandlersBuildAndRun(t *testing.T) {
	cases := []struct{ rt, code string }{
		{"python3.11", "def foo(event, context):\n    return 'sub-folder'\n"},
		{"nodejs20", "module.exports = { foo: () => 'sub-folder' };\n"},
		{"ruby3.1", "def foo(event, context)\n  'sub-folder'\nend\n"},
		{"php8.2", "<?php\nfunction foo($event, $context) { return 'sub-folder'; }\n"},
	}
	for _, c := range cases {
		t.Run(c.rt, func(t *testing.T) {
			ctx := testContext(t, 2*time.Minute)
			entry, err := langruntime.Default().Lookup(c.rt)
			if err != nil {
				t.Fatal(err)
			}
			if local := (build.Detector{}).DetectOne(ctx, entry); !local.OK() {
				testutil.Unavailable(t, "%s cannot run here: %s", c.rt, local.Problem)
			}
			res, err := newBuilder(t).Build(ctx, build.Function{
				Name: "sub", Runtime: c.rt, Handler: "src/api/hello.foo", ContentType: "text", Function: c.code,
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(res.Dir, "src", "api", "hello"+entry.Runtime.FileNameSuffix)); err != nil {
				t.Fatalf("code not in its sub-folder: %v", err)
			}
			if got := call(t, startRuntime(t, ctx, c.rt, res)); got != "sub-folder" {
				t.Errorf("function answered %q, want sub-folder", got)
			}
		})
	}
	t.Run("go1.26", func(t *testing.T) {
		ctx := testContext(t, 3*time.Minute)
		entry, err := langruntime.Default().Lookup("go1.26")
		if err != nil {
			t.Fatal(err)
		}
		if local := (build.Detector{}).DetectOne(ctx, entry); !local.OK() {
			testutil.Unavailable(t, "go1.26 cannot build here: %s", local.Problem)
		}
		// The package in the handler's folder is the function; go.mod stays
		// at the top, so the package may import the module's other
		// packages (the archive case).
		handler := `package kubeless

import (
	"github.com/kubeless/kubeless/pkg/functions"
	%s
)

func Handler(event functions.Event, context functions.Context) (string, error) {
	return %s, nil
}

// Other is a second handler of the same package; the server serves the
// one FUNC_HANDLER names.
func Other(event functions.Event, context functions.Context) (string, error) {
	return "other", nil
}
`
		for _, form := range []struct {
			name string
			fn   build.Function
		}{
			{name: "text", fn: build.Function{ContentType: "text", Function: fmt.Sprintf(handler, "", `"sub-folder"`),
				Deps: "module function\n\ngo 1.21\n"}},
			{name: "zip with a module", fn: build.Function{ContentType: "base64+zip+deps", Function: base64.StdEncoding.EncodeToString(testutil.Zip(t, map[string]string{
				"go.mod":             "module example.com/fn\n\ngo 1.21\n",
				"lib/greet/greet.go": "package greet\n\nfunc Greet() string { return \"sub-folder from a sibling package\" }\n",
				"src/api/hello.go":   fmt.Sprintf(handler, `"example.com/fn/lib/greet"`, "greet.Greet()"),
				// a package main elsewhere in the module is not the function
				"cmd/tool/main.go": "package main\n\nfunc main() {}\n",
			}))}},
		} {
			t.Run(form.name, func(t *testing.T) {
				fn := form.fn
				fn.Name, fn.Runtime, fn.Handler = "sub", "go1.26", "src/api/hello.Handler"
				res, err := newBuilder(t).Build(ctx, fn)
				if err != nil {
					t.Fatal(err)
				}
				want := "sub-folder"
				if form.name != "text" {
					want = "sub-folder from a sibling package"
				}
				if got := call(t, startRuntime(t, ctx, "go1.26", res)); got != want {
					t.Errorf("function answered %q, want %q", got, want)
				}
			})
		}
		t.Run("no Go file in the handler's folder", func(t *testing.T) {
			_, err := newBuilder(t).Build(ctx, build.Function{Name: "sub", Runtime: "go1.26", Handler: "src/none/hello.Handler",
				ContentType: "base64+zip+deps", Function: base64.StdEncoding.EncodeToString(testutil.Zip(t, map[string]string{
					"go.mod":           "module example.com/fn\n\ngo 1.21\n",
					"src/api/hello.go": fmt.Sprintf(handler, "", `"x"`),
				}))})
			if err == nil || !strings.Contains(err.Error(), "no .go file found in ") || !strings.Contains(err.Error(), filepath.Join("src", "none")+": a Go function is a package kubeless file") {
				t.Errorf("error = %v, want the compile phase to name the empty folder", err)
			}
		})
	})
	t.Run("outside the function's folder", func(t *testing.T) {
		_, err := newBuilder(t).Build(testContext(t, time.Minute), build.Function{
			Name: "sub", Runtime: "python3.11", Handler: "../x.foo", ContentType: "text", Function: "x",
		})
		want := `handler "../x.foo": folder ".." must stay inside the function's folder (no empty, "." or ".." parts), for example src/hello.foo`
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("error = %v, want it to end with %q", err, want)
		}
	})
}
