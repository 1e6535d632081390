package e2e_test

// The user examples of examples/<language>/ run as examples/Makefile
// deploys and checks them, with the engine replaced by what it does on one
// machine: build.Builder builds each example from the Makefile's own deploy
// command (runtime, handler, file, dependency file, --env, --timeout) and
// `kubeless runtime run` serves it; the call of the matching -verify target
// (its --data, and its grep -E pattern) is then made over HTTP.
//
// The commands come from `make -n`, so a wrong handler, path or env in the
// Makefile fails here. The local dependency sources are made by the
// Makefile's own targets (python-deps-src, ruby-deps-src, php-deps-src), into
// a temporary folder rather than the source tree: pip reads a wheel folder
// (PIP_NO_INDEX, PIP_FIND_LINKS), Bundler a gem source indexed with gem
// generate_index, composer a path repository named by a COMPOSER_HOME
// config.json. Node.js installs lodash from the npm registry and Go takes
// logrus v1.6.0 from the Go module proxy, as the examples say.
//
// Covered per language: get-<id>, post-<id>, get-<id>-deps and
// timeout-<id> (408 after FUNC_TIMEOUT=3). The custom-port examples deploy
// the GET example's code unchanged with --port, which only the engine acts
// on; they and the engine-only checks of the -verify targets (function
// top, logs, describe) belong to the CLI's integration tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/build"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/testutil"
)

// userExample is one language of examples/.
type userExample struct {
	id string
	language
	// depsSrc is the Makefile target that prepares the local dependency
	// source ("" when the dependency comes from a registry).
	depsSrc string
	// want checks the answer of each example, by Makefile target, beyond
	// the -verify target's grep pattern.
	answers map[string]func(body string) error
}

func wantExactly(want string) func(string) error {
	return func(body string) error {
		if strings.TrimSpace(body) != want {
			return fmt.Errorf("answer %q, want %q", body, want)
		}
		return nil
	}
}

func wantSameJSON(want string) func(string) error {
	return func(body string) error {
		var a, b any
		if err := json.Unmarshal([]byte(want), &a); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(body), &b); err != nil || !reflect.DeepEqual(a, b) {
			return fmt.Errorf("answer %q, want the JSON %s", body, want)
		}
		return nil
	}
}

const examplesGreeting = "hello world from kubeless-greeting 1.0.0"

var userExamples = []userExample{
	{
		id: "python",
		language: language{rt: "python3.11", install: "python3.11 with pip",
			probes: [][]string{{"python3.11", "-m", "pip", "--version"}, {"python3", "--version"}}},
		depsSrc: "python-deps-src",
		answers: map[string]func(string) error{
			"get-python":      wantExactly("hello world"),
			"post-python":     wantSameJSON(`{"it-s": "alive"}`),
			"get-python-deps": wantExactly(examplesGreeting),
		},
	},
	{
		id:       "nodejs",
		language: language{rt: "nodejs20", install: "node 20 and npm", probes: [][]string{{"npm", "--version"}}},
		answers: map[string]func(string) error{
			"get-nodejs":  wantExactly("hello world!"),
			"post-nodejs": wantSameJSON(`{"it-s": "alive"}`),
			"get-nodejs-deps": func(body string) error {
				var got map[string]string
				if err := json.Unmarshal([]byte(body), &got); err != nil || got["hello"] != "world" ||
					!regexp.MustCompile(`^\d\d:\d\d:\d\d GMT`).MatchString(got["date"]) || len(got) != 2 {
					return fmt.Errorf("answer %q, want {\"hello\":\"world\",\"date\":\"<time of day>\"} (lodash's assign)", body)
				}
				return nil
			},
		},
	},
	{
		id: "ruby",
		language: language{rt: "ruby3.1", install: "ruby 3.1 with gem and bundler",
			probes: [][]string{{"gem", "--version"}, {"bundle", "--version"}}},
		depsSrc: "ruby-deps-src",
		answers: map[string]func(string) error{
			"get-ruby":      wantExactly("hello world"),
			"post-ruby":     wantSameJSON(`{"it-s": "alive"}`),
			"get-ruby-deps": wantExactly(examplesGreeting),
		},
	},
	{
		id:       "php",
		language: language{rt: "php8.2", install: "php 8.2 and composer", probes: [][]string{{"composer", "--version"}}},
		depsSrc:  "php-deps-src",
		answers: map[string]func(string) error{
			"get-php":      wantExactly("hello world"),
			"post-php":     wantSameJSON(`{"it-s": "alive"}`),
			"get-php-deps": wantExactly(examplesGreeting),
		},
	},
	{
		id:       "go",
		language: language{rt: "go1.26", install: "go 1.26"},
		answers: map[string]func(string) error{
			"get-go":      wantExactly("Hello world!"),
			"post-go":     wantSameJSON(`{"it-s": "alive"}`),
			"get-go-deps": wantExactly(`level=info msg="Hello world!" data="{\"hello\": \"world\"}"`),
		},
	},
}

// exampleTargets are the Makefile targets run for language id, in order;
// the timeout example last, so that its busy worker is gone soonest.
func exampleTargets(id string) []string {
	return []string{"get-" + id, "post-" + id, "get-" + id + "-deps", "timeout-" + id}
}

func TestUserExamples(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	dir, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	testutil.NeedTool(t, "make")
	// The Makefile's dependency sources go to a temporary folder: these
	// variables override its := assignments.
	srcs := t.TempDir()
	vars := []string{
		"KUBELESS=kubeless",
		"PY_WHEELS=" + filepath.Join(srcs, "wheels"),
		"GEM_REPO=" + filepath.Join(srcs, "gem-repo"),
		"COMPOSER_HOME_DIR=" + filepath.Join(srcs, "composer-home"),
	}
	cat := langruntime.Default()
	for _, ex := range userExamples {
		t.Run(ex.id, func(t *testing.T) {
			entry, err := cat.Lookup(ex.rt)
			if err != nil {
				t.Fatal(err)
			}
			needTools(t, ctx, ex.language, entry)
			if ex.depsSrc != "" {
				start := time.Now()
				makeRun(t, ctx, dir, append(vars, ex.depsSrc)...)
				t.Logf("make %s: %v", ex.depsSrc, time.Since(start).Round(time.Millisecond))
			}
			targets := exampleTargets(ex.id)
			var args []string
			for _, target := range targets {
				args = append(args, target, target+"-verify")
			}
			plan := makePlan(t, ctx, dir, append(vars, args...))
			b := newBuilder(t)
			for _, target := range targets {
				t.Run(target, func(t *testing.T) {
					runUserExample(t, ctx, dir, b, ex, target, plan)
				})
			}
		})
	}
}

// makePlan runs `make -n -s` and keeps the kubeless commands, by function
// name: the deploy command and the verify commands.
func makePlan(t *testing.T, ctx context.Context, dir string, args []string) map[string]*examplePlan {
	t.Helper()
	out := makeRun(t, ctx, dir, append([]string{"-n"}, args...)...)
	plan := map[string]*examplePlan{}
	get := func(name string) *examplePlan {
		if plan[name] == nil {
			plan[name] = &examplePlan{}
		}
		return plan[name]
	}
	for _, line := range strings.Split(out, "\n") {
		words, err := shellWords(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("make -n: %v in %q", err, line)
		}
		if len(words) < 4 || words[0] != "kubeless" || words[1] != "function" {
			continue
		}
		switch words[2] {
		case "deploy":
			get(words[3]).deploy = words
		case "call":
			p := get(words[3])
			p.calls = append(p.calls, words)
		}
	}
	return plan
}

type examplePlan struct {
	// deploy is `kubeless function deploy <name> …`.
	deploy []string
	// calls are the -verify target's `kubeless function call <name> … | grep -E <pattern>`.
	calls [][]string
}

func makeRun(t *testing.T, ctx context.Context, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "make", append([]string{"-s", "-C", dir}, args...)...)
	// The Makefile's defaults, not the caller's: its ?= variables read the
	// environment, and an outer make's flags (-n, -k…) must not leak in.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "KUBELESS", name == "PYTHON", name == "GEM", strings.HasSuffix(name, "_RUNTIME"),
			name == "MAKEFLAGS", name == "MFLAGS", name == "MAKELEVEL":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// deployFlags reads the flags of a `kubeless function deploy` command that
// the examples use.
type deployFlags struct {
	name, runtime, handler, fromFile, dependencies, timeout, port string
	env                                                           []string
}

func parseDeploy(t *testing.T, words []string) deployFlags {
	t.Helper()
	d := deployFlags{name: words[3]}
	for i := 4; i < len(words); i++ {
		flag, value, hasValue := strings.Cut(words[i], "=")
		if !hasValue {
			if i+1 >= len(words) {
				t.Fatalf("deploy %s: flag %s has no value", d.name, flag)
			}
			i++
			value = words[i]
		}
		switch flag {
		case "--runtime", "-r":
			d.runtime = value
		case "--handler":
			d.handler = value
		case "--from-file", "-f":
			d.fromFile = value
		case "--dependencies", "-d":
			d.dependencies = value
		case "--timeout":
			d.timeout = value
		case "--port":
			d.port = value
		case "--env", "-e":
			// A string slice (comma-separated, repeatable); each entry
			// splits at its first '=' or ':' (docs/compatibility.md §4.1).
			for _, kv := range strings.Split(value, ",") {
				if i := strings.IndexAny(kv, "=:"); i >= 0 {
					kv = kv[:i] + "=" + kv[i+1:]
				} else {
					kv += "="
				}
				d.env = append(d.env, kv)
			}
		default:
			t.Fatalf("deploy %s: flag %s is not handled by this test", d.name, flag)
		}
	}
	if d.runtime == "" || d.handler == "" || d.fromFile == "" {
		t.Fatalf("deploy %s: --runtime, --handler and --from-file are needed: %q", d.name, words)
	}
	return d
}

func runUserExample(t *testing.T, ctx context.Context, dir string, b *build.Builder, ex userExample, target string, plan map[string]*examplePlan) {
	p := plan[target]
	if p == nil || p.deploy == nil {
		t.Fatalf("make -n %s printed no `kubeless function deploy %s`", target, target)
	}
	if len(p.calls) == 0 {
		t.Fatalf("make -n %s-verify printed no `kubeless function call %s`", target, target)
	}
	d := parseDeploy(t, p.deploy)
	if d.runtime != ex.rt {
		t.Errorf("%s deploys with --runtime %s, want %s", target, d.runtime, ex.rt)
	}
	code, err := os.ReadFile(filepath.Join(dir, d.fromFile))
	if err != nil {
		t.Fatal(err)
	}
	fn := build.Function{Name: d.name, Runtime: d.runtime, Handler: d.handler, ContentType: "text",
		Function: string(code), Env: d.env}
	if d.dependencies != "" {
		deps, err := os.ReadFile(filepath.Join(dir, d.dependencies))
		if err != nil {
			t.Fatal(err)
		}
		fn.Deps = string(deps)
	}
	start := time.Now()
	res, err := b.Build(ctx, fn)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Logf("built in %v", time.Since(start).Round(time.Millisecond))
	// The engine runs the function with its env and --timeout.
	run := *res
	run.Env = append([]langruntime.EnvVar(nil), res.Env...)
	for _, kv := range d.env {
		k, v, _ := strings.Cut(kv, "=")
		run.Env = append(run.Env, langruntime.EnvVar{Name: k, Value: v})
	}
	timeout := 180.0
	if d.timeout != "" {
		if timeout, err = strconv.ParseFloat(d.timeout, 64); err != nil {
			t.Fatalf("--timeout %q: %v", d.timeout, err)
		}
		run.Env = append(run.Env, langruntime.EnvVar{Name: "FUNC_TIMEOUT", Value: d.timeout})
	}
	url := startRuntime(t, ctx, d.runtime, &run)

	for _, words := range p.calls {
		c := parseCall(t, words)
		status, body, took := callAsCLI(t, url, c.data, time.Duration(timeout+10)*time.Second)
		out := body
		switch {
		case status == http.StatusRequestTimeout:
			// What `kubeless function call` prints for a 408 (docs/compatibility.md §4.2), on stderr.
			if c.stderr {
				out = "Request timeout exceeded"
			} else {
				out = ""
			}
			if d.timeout == "" {
				t.Errorf("%s answered 408 after %v: %s", target, took, body)
			} else if took < time.Duration(timeout*float64(time.Second))-100*time.Millisecond {
				// Not before the limit; how long after it is bounded by the
				// call's own timeout (limit + 10 s), not here: a loaded
				// machine answers late.
				t.Errorf("408 after %v, want it at --timeout %ss", took, d.timeout)
			} else {
				t.Logf("408 after %v (--timeout %s)", took.Round(time.Millisecond), d.timeout)
			}
		case status != http.StatusOK:
			t.Errorf("%s answered %d: %s", target, status, body)
		case d.timeout != "":
			t.Errorf("%s (--timeout %s) answered %d %q, want 408", target, d.timeout, status, body)
		}
		if !c.pattern.MatchString(out) {
			t.Errorf("%s-verify: grep -E %q does not match the output %q", target, c.pattern, out)
		}
		if want := ex.answers[target]; want != nil && status == http.StatusOK {
			if err := want(body); err != nil {
				t.Errorf("%s: %v", target, err)
			}
		}
		t.Logf("%s: %d %q", strings.Join(words, " "), status, strings.TrimSpace(body))
	}
}

type verifyCall struct {
	data    *string
	stderr  bool
	pattern *regexp.Regexp
}

// parseCall reads `kubeless function call <name> [--data <d>] [2>&1] | grep -E <pattern>`.
func parseCall(t *testing.T, words []string) verifyCall {
	t.Helper()
	var c verifyCall
	i := 4
	for ; i < len(words) && words[i] != "|"; i++ {
		switch words[i] {
		case "--data", "-d":
			i++
			if i >= len(words) {
				t.Fatalf("--data without a value: %q", words)
			}
			c.data = &words[i]
		case "2>&1":
			c.stderr = true
		default:
			t.Fatalf("%q: %s is not handled by this test", words, words[i])
		}
	}
	grep := words[min(i+1, len(words)):]
	if len(grep) != 3 || grep[0] != "grep" || grep[1] != "-E" {
		t.Fatalf("%q: want `| grep -E <pattern>` after the call", words)
	}
	re, err := regexp.Compile(grep[2])
	if err != nil {
		t.Fatalf("grep -E %q: %v", grep[2], err)
	}
	c.pattern = re
	return c
}

// callAsCLI calls the function as `kubeless function call` does (docs/compatibility.md §4.2):
// GET without data; POST with it, as JSON when the data is a JSON object;
// the event headers of the CLI.
func callAsCLI(t *testing.T, url string, data *string, limit time.Duration) (int, string, time.Duration) {
	t.Helper()
	method, body, ct := http.MethodGet, "", ""
	if data != nil {
		method, body, ct = http.MethodPost, *data, "application/x-www-form-urlencoded"
		var obj map[string]any
		if json.Unmarshal([]byte(body), &obj) == nil {
			ct = "application/json"
		}
	}
	req, err := http.NewRequest(method, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
		req.Header.Set("event-type", ct)
	}
	req.Header.Set("event-id", "e2e-user-examples")
	req.Header.Set("event-time", time.Now().UTC().Format(time.RFC3339))
	req.Header.Set("event-namespace", "cli.kubeless.io")
	start := time.Now()
	resp, err := (&http.Client{Timeout: limit}).Do(req)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	return resp.StatusCode, string(got), time.Since(start)
}

// shellWords splits a command line of the Makefile as sh would, for the
// forms it uses: words, '…', "…" (with \" and \\), and | and 2>&1 as words.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			flush()
		case ch == '|':
			flush()
			words = append(words, "|")
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated '")
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case ch == '"':
			inWord = true
			for i++; ; i++ {
				if i >= len(s) {
					return nil, fmt.Errorf(`unterminated "`)
				}
				if s[i] == '"' {
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	flush()
	return words, nil
}
