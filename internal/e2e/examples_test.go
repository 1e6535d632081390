package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"
	"github.com/kubeless/kubeless/internal/testutil"
)

// The original Kubeless examples of every language (test copies in
// runtimes/<language>/examples-compat/, written from their recorded
// behaviour) run unchanged through `kubeless runtime run` and answer as the
// originals did. Examples with dependencies are checked by each language's
// own tests (they install the dependencies) and, for Go, here too: the Go
// module proxy is reachable.
func TestOriginalExamplesThroughRuntimeRun(t *testing.T) {
	const data = `{"it-s": "alive"}`
	cases := []struct {
		rt, lang, handler string
		method, path      string
		body              string
		header            map[string]string
		env               []string
		want              string
		wantJSON          bool
		wantStatus        int               // 0 means 200
		wantHeader        map[string]string // headers of the answer
	}{
		{rt: "python3.11", lang: "python", handler: "helloget.foo", want: "hello world"},
		{rt: "python3.11", lang: "python", handler: "hellowithdata.handler", body: data, want: data, wantJSON: true},
		{rt: "python3.11", lang: "python", handler: "preload.handler", env: []string{"PRELOAD_SECONDS=0.2"}, want: "hello world"},
		{rt: "python3.11", lang: "python", handler: "request.handler", path: "/?greeting=Hola",
			header: map[string]string{"Say-Hello-To": "John"}, want: "Hola John"},
		// Functions that set the status and headers as the original runtimes let them.
		{rt: "python3.11", lang: "python", handler: "hellobottle.handler", path: "/?name=teapot", want: "I'm a teapot",
			wantStatus: 418, wantHeader: map[string]string{"X-Kind": "teapot"}},
		{rt: "python3.11", lang: "python", handler: "hellobottle.handler", path: "/?name=ann", want: `{"hello": "ann"}`, wantJSON: true,
			wantStatus: 201, wantHeader: map[string]string{"Location": "/greetings/ann"}},
		{rt: "nodejs20", lang: "nodejs", handler: "helloexpress.foo", path: "/x?y=1", want: "hello 127.0.0.1 from 127.0.0.1, you asked for /x?y=1",
			wantHeader: map[string]string{"Set-Cookie": "visited=yes; Path=/; HttpOnly"}},
		{rt: "nodejs20", lang: "nodejs", handler: "helloexpress.foo", path: "/old", want: "Moved Permanently. Redirecting to /new",
			wantStatus: 301, wantHeader: map[string]string{"Location": "/new"}},
		{rt: "php8.2", lang: "php", handler: "helloresponse.foo", path: "/?name=ann", want: "hello ann",
			wantStatus: 201, wantHeader: map[string]string{"Location": "/greetings/ann"}},
		{rt: "php8.2", lang: "php", handler: "helloresponse.foo", want: "name is required",
			wantStatus: 400, wantHeader: map[string]string{"X-Reason": "missing name"}},
		{rt: "nodejs20", lang: "nodejs", handler: "helloget.foo", want: "hello world!"},
		{rt: "nodejs20", lang: "nodejs", handler: "hellowithdata.handler", body: data, want: data, wantJSON: true},
		{rt: "nodejs20", lang: "nodejs", handler: "index.helloGet", want: "hello world!"},
		{rt: "ruby3.1", lang: "ruby", handler: "helloget.foo", want: "hello world"},
		{rt: "ruby3.1", lang: "ruby", handler: "hellowithdata.handler", body: data, want: data, wantJSON: true},
		{rt: "php8.2", lang: "php", handler: "helloget.foo", want: "hello world"},
		{rt: "php8.2", lang: "php", handler: "hellowithdata.foo", body: data, want: data, wantJSON: true},
		{rt: "go1.26", lang: "go", handler: "helloget.Foo", want: "Hello world!"},
		{rt: "go1.26", lang: "go", handler: "hellowithdata.Handler", body: data, want: data, wantJSON: true},
		{rt: "go1.26", lang: "go", handler: "hellowithdeps.Hello", body: `{"hello": "world"}`, want: "Hello world!"},
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.rt+"/"+c.handler, func(t *testing.T) {
			entry, err := langruntime.Default().Lookup(c.rt)
			if err != nil {
				t.Fatal(err)
			}
			if local := (build.Detector{}).DetectOne(testContext(t, time.Minute), entry); !local.OK() {
				testutil.Unavailable(t, "%s cannot run here: %s", c.rt, local.Problem)
			}
			// A copy: runtimes may write next to the code (compiled files).
			dir := t.TempDir()
			if out, err := exec.Command("cp", "-r", filepath.Join(root, "runtimes", c.lang, "examples-compat")+"/.", dir).CombinedOutput(); err != nil {
				t.Fatalf("copy examples: %v: %s", err, out)
			}
			h, err := source.ParseHandler(c.handler)
			if err != nil {
				t.Fatal(err)
			}
			res := &build.Result{Dir: dir, Handler: h, Env: entry.RuntimeEnv(dir)}
			for _, kv := range c.env {
				k, v, _ := strings.Cut(kv, "=")
				res.Env = append(res.Env, langruntime.EnvVar{Name: k, Value: v})
			}
			url := startRuntime(t, testContext(t, 3*time.Minute), c.rt, res)

			method, body := "GET", c.body
			if body != "" {
				method = "POST"
			}
			req, _ := http.NewRequest(method, url+c.path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			client := &http.Client{Timeout: 30 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantStatus := c.wantStatus
			if wantStatus == 0 {
				wantStatus = http.StatusOK
			}
			if resp.StatusCode != wantStatus {
				t.Fatalf("%s %s: %s %q, want status %d", method, c.handler, resp.Status, got, wantStatus)
			}
			for k, v := range c.wantHeader {
				if g := resp.Header.Get(k); g != v {
					t.Errorf("%s: header %s = %q, want %q", c.handler, k, g, v)
				}
			}
			if c.wantJSON {
				var a, b any
				json.Unmarshal([]byte(c.want), &a)
				if err := json.Unmarshal(got, &b); err != nil || !reflect.DeepEqual(a, b) {
					t.Errorf("%s answered %q, want the JSON %s", c.handler, got, c.want)
				}
				return
			}
			if strings.TrimSpace(string(got)) != c.want {
				t.Errorf("%s answered %q, want %q", c.handler, got, c.want)
			}
		})
	}
}
