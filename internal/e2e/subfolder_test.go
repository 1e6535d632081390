package e2e_test

import (
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
