package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubeless/kubeless/internal/proctree"

	"github.com/kubeless/kubeless/pkg/contract"
)

const unicodeText = "héllo wörld ✓ 日本語 🚀"

// all runs every clause of docs/runtime-contract.md, in order.
func (s *suite) all() {
	s.startup()
	s.invocation()
	s.responses()
	s.timeLimit()
	s.concurrency()
	s.shutdown()
	s.observability()
}

// §1 Start-up.
func (s *suite) startup() {
	s.check("1.1", "missing module: exits non-zero with one line naming it", func() error {
		out, err := s.expectExit(contract.EnvModName+"=nosuchmodule", contract.EnvFuncHandler+"="+s.handler("hello"))
		if err != nil {
			return err
		}
		if !strings.Contains(lastLine(out), "nosuchmodule") {
			return fmt.Errorf("message does not name the module: %q", lastLine(out))
		}
		return nil
	})
	s.check("1.1", "unknown handler: exits non-zero with one line naming it", func() error {
		h := s.handler("nosuchhandler")
		out, err := s.expectExit(contract.EnvModName+"=fixtures", contract.EnvFuncHandler+"="+h)
		if err != nil {
			return err
		}
		if !strings.Contains(lastLine(out), h) {
			return fmt.Errorf("message does not name the handler: %q", lastLine(out))
		}
		return nil
	})
	s.check("1.1", "syntax error: exits non-zero naming the file and line", func() error {
		dir, mod, err := s.syntaxErrorFolder()
		if err != nil {
			return err
		}
		inst, err := s.launch(contract.EnvModName+"="+mod, contract.EnvFuncHandler+"="+s.handler("broken"), contract.EnvInstallVolume+"="+dir)
		if err != nil {
			return err
		}
		select {
		case <-inst.done:
		case <-time.After(s.t.StartTimeout):
			inst.kill()
			return fmt.Errorf("runtime kept running with a syntax error")
		}
		if inst.exitErr == nil {
			return fmt.Errorf("runtime exited 0")
		}
		msg := inst.stderr.String()
		if !strings.Contains(msg, mod) {
			return fmt.Errorf("message does not name the file %s: %q", mod, oneLine(msg))
		}
		if !lineNumber.MatchString(msg) {
			return fmt.Errorf("message has no line number: %q", oneLine(msg))
		}
		return nil
	})
	s.check("1.1", "MOD_NAME unset: exits non-zero naming MOD_NAME", func() error {
		out, err := s.expectExit(contract.EnvModName+"=", contract.EnvFuncHandler+"="+s.handler("hello"))
		if err != nil {
			return err
		}
		if !strings.Contains(out, contract.EnvModName) {
			return fmt.Errorf("message does not name MOD_NAME: %q", lastLine(out))
		}
		return nil
	})
	s.check("1.1", "port in use: exits non-zero naming the port", func() error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		out, err := s.expectExit(contract.EnvModName+"=fixtures", contract.EnvFuncHandler+"="+s.handler("hello"), contract.EnvFuncPort+"="+port)
		if err != nil {
			return err
		}
		if !strings.Contains(lastLine(out), port) {
			return fmt.Errorf("message does not name port %s: %q", port, lastLine(out))
		}
		return nil
	})
	s.check("1.2", "GET /healthz answers 200 OK once loaded, on FUNC_PORT", func() error {
		// This instance binds FUNC_PORT itself (the others are handed a
		// socket): a free port, which another process could take first.
		port, err := freePort()
		if err != nil {
			return err
		}
		inst, err := s.start("hello", contract.EnvFuncPort+"="+strconv.Itoa(port))
		if err != nil {
			return err
		}
		defer s.stop(inst)
		r, err := s.get(inst, "/healthz")
		if err != nil {
			return err
		}
		if r.status != 200 || r.body != "OK" {
			return fmt.Errorf("got %d %q, want 200 \"OK\"", r.status, r.body)
		}
		return nil
	})
}

// syntaxErrorFolder prepares a folder whose module does not compile.
func (s *suite) syntaxErrorFolder() (string, string, error) {
	for _, name := range []string{"syntaxerror.py", "syntaxerror.js", "syntaxerror.rb", "syntaxerror.php"} {
		if _, err := os.Stat(filepath.Join(s.dir, name)); err == nil {
			return s.dir, "syntaxerror", nil
		}
	}
	if b, err := os.ReadFile(filepath.Join(s.dir, "syntaxerror.go.txt")); err == nil {
		dir := filepath.Join(s.dir, "broken-go")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", err
		}
		return dir, "syntaxerror", os.WriteFile(filepath.Join(dir, "syntaxerror.go"), b, 0o644)
	}
	return "", "", fmt.Errorf("fixtures of %s have no syntaxerror module", s.t.Lang)
}

// §2 Invocation.
func (s *suite) invocation() {
	inst, err := s.start("event", "CONFORMANCE_ENV=from-env")
	if err != nil {
		s.check("2", "event fixture starts", func() error { return err })
		return
	}
	defer s.stop(inst)

	s.check("2.1", "every method on any path invokes the function", func() error {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			r, err := s.do(inst, m, "/some/path/x?q=1", nil, nil)
			if err != nil {
				return err
			}
			if err := want(r, 200); err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
			o, err := decodeObject(r.body)
			if err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
			if str(o, "method") != m || str(o, "path") != "/some/path/x" {
				return fmt.Errorf("%s /some/path/x: function saw method %q path %q", m, str(o, "method"), str(o, "path"))
			}
		}
		r, err := s.do(inst, "HEAD", "/", nil, nil)
		if err != nil {
			return err
		}
		return want(r, 200)
	})
	s.check("2.1", "OPTIONS is a CORS preflight answered without the function", func() error {
		r, err := s.do(inst, "OPTIONS", "/", nil, map[string]string{
			"Origin": "http://example.test", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "X-Custom",
		})
		if err != nil {
			return err
		}
		if err := want(r, 200); err != nil {
			return err
		}
		if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Methods") != "PUT" ||
			r.header.Get("Access-Control-Allow-Headers") != "X-Custom" {
			return fmt.Errorf("preflight headers: %v", r.header)
		}
		if r.body != "" {
			return fmt.Errorf("preflight body %q: the function was called", trunc(r.body))
		}
		return nil
	})
	s.check("2.1", "function responses carry Access-Control-Allow-Origin: *", func() error {
		r, err := s.get(inst, "/")
		if err != nil {
			return err
		}
		if v := r.header.Get("Access-Control-Allow-Origin"); v != "*" {
			return fmt.Errorf("Access-Control-Allow-Origin is %q", v)
		}
		return nil
	})
	s.check("2.2", "event metadata comes from the event-* headers", func() error {
		r, err := s.do(inst, "POST", "/", []byte("x"), map[string]string{
			"Content-Type": "text/plain", "Event-Id": "id-123", "Event-Type": "my.type",
			"Event-Time": "2021-01-07T10:00:00Z", "Event-Namespace": "cli.kubeless.io",
		})
		if err != nil {
			return err
		}
		o, err := decodeObject(r.body)
		if err != nil {
			return err
		}
		got := [4]string{str(o, "event-id"), str(o, "event-type"), str(o, "event-time"), str(o, "event-namespace")}
		exp := [4]string{"id-123", "my.type", "2021-01-07T10:00:00Z", "cli.kubeless.io"}
		if got != exp {
			return fmt.Errorf("event %v, want %v", got, exp)
		}
		return nil
	})
	s.check("2.2", "absent event headers are defaulted (unique id, Content-Type, RFC 3339 time)", func() error {
		var ids []string
		for i := 0; i < 2; i++ {
			r, err := s.do(inst, "POST", "/", []byte("{}"), map[string]string{"Content-Type": "application/json"})
			if err != nil {
				return err
			}
			o, err := decodeObject(r.body)
			if err != nil {
				return err
			}
			ids = append(ids, str(o, "event-id"))
			if str(o, "event-type") != "application/json" {
				return fmt.Errorf("event-type %q, want the Content-Type application/json", str(o, "event-type"))
			}
			ts := str(o, "event-time")
			if !rfc3339.MatchString(ts) {
				return fmt.Errorf("event-time %q is not RFC 3339", ts)
			}
			t, _ := time.Parse(time.RFC3339, ts)
			if d := time.Since(t); d > time.Minute || d < -time.Minute {
				return fmt.Errorf("event-time %q is not now", ts)
			}
			if str(o, "event-namespace") != "" {
				return fmt.Errorf("event-namespace %q, want empty", str(o, "event-namespace"))
			}
		}
		if ids[0] == "" || ids[0] == ids[1] {
			return fmt.Errorf("event ids %q are not unique", ids)
		}
		return nil
	})
	s.check("2.2", "data is parsed JSON for application/json (with parameters), text otherwise, empty when no body", func() error {
		cases := []struct {
			ct, body, kind string
		}{
			{"application/json", `{"a":1}`, "json"},
			{"application/json; charset=utf-8", `[1,2]`, "json"},
			{"text/plain", "hello", "text"},
			{"", "", "empty"},
		}
		for _, c := range cases {
			h := map[string]string{}
			if c.ct != "" {
				h["Content-Type"] = c.ct
			}
			r, err := s.do(inst, "POST", "/", []byte(c.body), h)
			if err != nil {
				return err
			}
			o, err := decodeObject(r.body)
			if err != nil {
				return err
			}
			if k := str(o, "data-kind"); k != c.kind {
				return fmt.Errorf("Content-Type %q body %q: data is %s, want %s", c.ct, c.body, k, c.kind)
			}
		}
		return nil
	})
	s.check("2.2", "extensions.request offers method, path, query and headers", func() error {
		r, err := s.do(inst, "PUT", "/a/b?x=1&y=two", nil, map[string]string{"X-Conformance-Header": "hv"})
		if err != nil {
			return err
		}
		o, err := decodeObject(r.body)
		if err != nil {
			return err
		}
		got := [4]string{str(o, "method"), str(o, "path"), str(o, "query"), str(o, "header")}
		exp := [4]string{"PUT", "/a/b", "x=1&y=two", "hv"}
		if got != exp {
			return fmt.Errorf("request %v, want %v", got, exp)
		}
		return nil
	})
	s.stop(inst)

	s.check("2.2", "context carries function-name, timeout, runtime, memory-limit; env reaches the function", func() error {
		inst, err := s.start("context", "CONFORMANCE_ENV=from-env", contract.EnvFuncTimeout+"=42", contract.EnvFuncMemoryLimit+"=128Mi")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		r, err := s.get(inst, "/")
		if err != nil {
			return err
		}
		o, err := decodeObject(r.body)
		if err != nil {
			return err
		}
		if str(o, "function-name") != s.handler("context") {
			return fmt.Errorf("function-name %q, want %q", str(o, "function-name"), s.handler("context"))
		}
		if f, err := strconv.ParseFloat(str(o, "timeout"), 64); err != nil || f != 42 {
			return fmt.Errorf("timeout %q, want 42", str(o, "timeout"))
		}
		if str(o, "runtime") != s.t.Runtime || str(o, "memory-limit") != "128Mi" || str(o, "env") != "from-env" {
			return fmt.Errorf("runtime %q memory-limit %q env %q, want %q, 128Mi, from-env",
				str(o, "runtime"), str(o, "memory-limit"), str(o, "env"), s.t.Runtime)
		}
		return nil
	})

	thr, err := s.start("throw", contract.EnvFuncMaxBody+"=1024")
	if err != nil {
		s.check("2.3", "throw fixture starts", func() error { return err })
		return
	}
	defer s.stop(thr)
	s.check("2.3", "a JSON body that does not parse is 400, function not called", func() error {
		r, err := s.postJSON(thr, "/", `{"broken":`)
		if err != nil {
			return err
		}
		if err := want(r, 400); err != nil {
			return err
		}
		if strings.Count(strings.TrimSpace(r.body), "\n") > 0 || strings.TrimSpace(r.body) == "" {
			return fmt.Errorf("400 body is not one line: %q", trunc(r.body))
		}
		return nil
	})
	s.check("2.4", "a body larger than FUNC_MAX_BODY is 413, function not called", func() error {
		r, err := s.do(thr, "POST", "/", bytes.Repeat([]byte("a"), 4096), map[string]string{"Content-Type": "text/plain"})
		if err != nil {
			return err
		}
		return want(r, 413)
	})
}

// §3 The response.
func (s *suite) responses() {
	s.check("3.1", "a string is the body as text/plain; charset=utf-8", func() error {
		inst, err := s.start("hello")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		r, err := s.get(inst, "/")
		if err != nil {
			return err
		}
		if err := want(r, 200); err != nil {
			return err
		}
		if r.body != "hello world" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			return fmt.Errorf("got %q (%s), want \"hello world\" as text/plain", r.body, r.header.Get("Content-Type"))
		}
		return nil
	})
	echo, err := s.start("echo")
	if err != nil {
		s.check("3.1", "echo fixture starts", func() error { return err })
	} else {
		s.check("3.1", "a map is answered as its JSON (application/json)", func() error {
			in := `{"it-s":"alive","n":[1,2.5,true,null],"u":"` + unicodeText + `"}`
			r, err := s.postJSON(echo, "/", in)
			if err != nil {
				return err
			}
			if err := want(r, 200); err != nil {
				return err
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				return fmt.Errorf("Content-Type %q, want application/json", r.header.Get("Content-Type"))
			}
			var a, b any
			json.Unmarshal([]byte(in), &a)
			if err := json.Unmarshal([]byte(r.body), &b); err != nil || !reflect.DeepEqual(a, b) {
				return fmt.Errorf("echoed %q, want the same JSON as %q", trunc(r.body), in)
			}
			return nil
		})
		s.check("3.1", "large bodies pass both ways (1 MiB echo)", func() error {
			big := strings.Repeat("0123456789abcdef", 1<<16)
			r, err := s.do(echo, "POST", "/", []byte(big), map[string]string{"Content-Type": "text/plain"})
			if err != nil {
				return err
			}
			if err := want(r, 200); err != nil {
				return err
			}
			if r.body != big {
				return fmt.Errorf("echoed %d bytes, want the same %d bytes", len(r.body), len(big))
			}
			return nil
		})
		s.stop(echo)
	}
	s.check("3.1", "unicode survives the round trip", func() error {
		inst, err := s.start("unicode")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		r, err := s.get(inst, "/")
		if err != nil {
			return err
		}
		if r.body != unicodeText {
			return fmt.Errorf("got %q, want %q", r.body, unicodeText)
		}
		return nil
	})
	s.check("3.1", "an 8 MiB request body reaches the function whole", func() error {
		inst, err := s.start("large")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		r, err := s.do(inst, "POST", "/", bytes.Repeat([]byte("x"), 8<<20), map[string]string{"Content-Type": "application/octet-stream"})
		if err != nil {
			return err
		}
		if strings.TrimSpace(r.body) != strconv.Itoa(8<<20) {
			return fmt.Errorf("function saw %q bytes, want %d", trunc(r.body), 8<<20)
		}
		return nil
	})
	s.check("3.2", "the documented way sets status and headers, unchanged through every layer", func() error {
		inst, err := s.start("status")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		r, err := s.get(inst, "/")
		if err != nil {
			return err
		}
		if r.status != 201 || r.header.Get("X-Conformance") != "yes" || r.body != "created" {
			return fmt.Errorf("got %d X-Conformance=%q body %q, want 201 yes \"created\"", r.status, r.header.Get("X-Conformance"), r.body)
		}
		return nil
	})
	s.check("3.3", "a throw is 500 with a short body naming the error; the server keeps serving", func() error {
		inst, err := s.start("throw")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		for i := 0; i < 3; i++ {
			r, err := s.get(inst, "/")
			if err != nil {
				return fmt.Errorf("call %d: %w", i+1, err)
			}
			if err := want(r, 500); err != nil {
				return err
			}
			if !strings.Contains(r.body, "boom") || strings.Count(strings.TrimSpace(r.body), "\n") > 0 || len(r.body) > 300 {
				return fmt.Errorf("500 body %q must be one short line naming the error (boom)", trunc(r.body))
			}
		}
		if !strings.Contains(inst.stderr.String(), "boom") {
			return fmt.Errorf("the error does not reach stderr")
		}
		r, err := s.get(inst, "/healthz")
		if err != nil || r.status != 200 {
			return fmt.Errorf("server unhealthy after exceptions: %v", err)
		}
		return nil
	})
}

// §4 Time limit.
func (s *suite) timeLimit() {
	s.check("4.1", "past FUNC_TIMEOUT the answer is 408 \"Timeout exceeded\", at the deadline", func() error {
		inst, err := s.start("sleep", contract.EnvFuncTimeout+"=1")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		// The call would sleep 50 s: an answer long before that came at the
		// deadline, not when the invocation ended. The bound leaves a loaded
		// machine 15 s past the 1 s deadline (it was 0.5 s, which a loaded
		// machine broke).
		r, err := s.postJSON(inst, "/", `{"seconds": 50}`)
		if err != nil {
			return err
		}
		if err := want(r, 408); err != nil {
			return err
		}
		if strings.TrimSpace(r.body) != "Timeout exceeded" {
			return fmt.Errorf("body %q, want \"Timeout exceeded\"", r.body)
		}
		if r.took > time.Second+deadlineSlack {
			return fmt.Errorf("answered after %s, deadline was 1s", r.took.Round(time.Millisecond))
		}
		return nil
	})
	s.check("4.2", "a busy loop is stopped at its deadline and the instance keeps serving", func() error {
		inst, err := s.start("busy", contract.EnvFuncTimeout+"=0.5")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		for i := 0; i < 3; i++ {
			r, err := s.get(inst, "/")
			if err != nil {
				return fmt.Errorf("call %d: %w", i+1, err)
			}
			if err := want(r, 408); err != nil {
				return fmt.Errorf("call %d: %w", i+1, err)
			}
			// The loop never ends: the answer came at a deadline; the bound
			// checks it was this one, with room for a loaded machine.
			if r.took > 500*time.Millisecond+deadlineSlack {
				return fmt.Errorf("call %d answered after %s, deadline was 0.5s", i+1, r.took.Round(time.Millisecond))
			}
		}
		r, err := s.get(inst, "/healthz")
		if err != nil || r.status != 200 {
			return fmt.Errorf("instance not serving after timeouts: %v", err)
		}
		// The stuck loops must not keep burning CPU. Stopping them takes a
		// moment, longer on a loaded machine: the instance must become
		// idle, within 15 s.
		var cpu float64
		if !eventually(15*time.Second, func() bool {
			c, err := cpuBusy(inst.cmd.Process.Pid, 500*time.Millisecond)
			cpu = c
			return err != nil || c <= 0.5
		}) {
			return fmt.Errorf("the timed-out loops still run: the instance uses %.0f%% CPU while idle", cpu*100)
		}
		return nil
	})
	s.check("4.2", "invocations running beside a timed-out one are not lost", func() error {
		// Time limit 10 s. The long call sleeps 50 s; once it runs, and 5 s
		// later (an offset, not a synchronisation), the short call starts and
		// waits for a release file. The suite releases it when the long call
		// has answered 408, so it ran beside the timed-out one, and has 5 s
		// (the offset) before its own limit to see the release (every margin
		// was 0.2 s, then 1.5 s from calls started at guessed moments).
		inst, err := s.start("sleep", contract.EnvFuncTimeout+"=10")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		dir, err := os.MkdirTemp(s.dir, "beside-")
		if err != nil {
			return err
		}
		longStarted, shortStarted, release := filepath.Join(dir, "long"), filepath.Join(dir, "short"), filepath.Join(dir, "release")
		defer touch(release)
		long, short := make(chan *response, 1), make(chan *response, 1)
		call := func(out chan<- *response, body string) {
			r, err := s.postJSON(inst, "/", body)
			if err != nil {
				r = &response{status: -1, body: err.Error()}
			}
			out <- r
		}
		go call(long, fmt.Sprintf(`{"seconds": 50, "touch": %q}`, longStarted))
		if err := waitFiles(waitLimit, nil, longStarted); err != nil {
			return fmt.Errorf("the long call: %w", err)
		}
		time.Sleep(5 * time.Second)
		go call(short, sleepUntil(shortStarted, release, false))
		if err := waitFiles(waitLimit, nil, shortStarted); err != nil {
			return fmt.Errorf("the short call: %w", err)
		}
		select {
		case l := <-long:
			return fmt.Errorf("the long call answered (%d) before the short one started, 5 s after it", l.status)
		default:
		}
		l := <-long
		if err := touch(release); err != nil {
			return err
		}
		if l.status != 408 {
			return fmt.Errorf("long call: %d %q, want 408", l.status, trunc(l.body))
		}
		if r := <-short; r.status != 200 || strings.TrimSpace(r.body) != "slept" {
			return fmt.Errorf("call running beside the timed-out one: %d %q, want 200 \"slept\"", r.status, trunc(r.body))
		}
		return nil
	})
	s.check("4.3", "no process is started per request", func() error {
		// The Kubeless host's pool neither calls a worker stalled nor stops
		// an idle one during the test (other runtimes ignore these), so
		// its size follows the callers only, not the machine's load.
		inst, err := s.start("hello", contract.EnvWorkerStallAfter+"=3600", contract.EnvWorkerIdleAfter+"=3600")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		// 200 requests from 8 callers, twice: the first round may grow the
		// pool of workers; the second may grow it by a few more workers at
		// most (one per caller), where a runtime starting a process per
		// request shows far more. Processes that exit are not started ones.
		const callers = 8
		round := func() {
			var wg sync.WaitGroup
			for i := 0; i < callers; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < 25; j++ {
						s.get(inst, "/")
					}
				}()
			}
			wg.Wait()
		}
		round()
		before, err := proctree.Descendants(inst.cmd.Process.Pid)
		if err != nil {
			return err
		}
		round()
		after, err := proctree.Descendants(inst.cmd.Process.Pid)
		if err != nil {
			return err
		}
		var started []int
		for _, pid := range after {
			if !slices.Contains(before, pid) {
				started = append(started, pid)
			}
		}
		if len(started) > callers {
			return fmt.Errorf("%d processes started under the runtime over 200 requests (more than the %d callers a pool could grow for): %v; before them: %v", len(started), callers, started, before)
		}
		return nil
	})
}

// cpuBusy measures the CPU share used by pid and its descendants over d.
func cpuBusy(pid int, d time.Duration) (float64, error) {
	a, err := proctree.CPUTicks(pid)
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	b, err := proctree.CPUTicks(pid)
	if err != nil {
		return 0, err
	}
	return (b - a) / 100 / d.Seconds(), nil
}

// §5 Concurrency.
func (s *suite) concurrency() {
	n := s.t.Concurrency
	s.check("5.1", fmt.Sprintf("%d invocations run at once", n), func() error {
		inst, err := s.start("sleep", contract.EnvFuncTimeout+"=60")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		return s.together(inst, n)
	})
	s.check("5.3", "eight invocations run at once, in every runtime", func() error {
		inst, err := s.start("sleep", contract.EnvFuncTimeout+"=60")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		return s.together(inst, 8)
	})
	s.check("5.4", "a call is served while another one spins on the CPU", func() error {
		return s.besideSpinner(true, 3)
	})
	s.check("5.5", "a call sent at once after another one began to spin is served before it ends", func() error {
		return s.besideSpinner(false, 1)
	})
	s.check("5.2", "a CPU-bound invocation does not block /healthz or /metrics", func() error {
		const limit = 30 * time.Second
		inst, err := s.start("busy", contract.EnvFuncTimeout+"=30")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		busy := make(chan struct{})
		go func() { s.get(inst, "/"); close(busy) }()
		// Once the host runs the busy call, /healthz and /metrics must be
		// answered while it still spins (until its 30 s time limit), long
		// before that limit, however slow a loaded machine makes them.
		if err := s.waitCalls(inst, "GET", 1, 10*time.Second); err != nil {
			return err
		}
		for _, p := range []string{"/healthz", "/metrics"} {
			r, err := s.get(inst, p)
			if err != nil {
				return err
			}
			if r.status != 200 {
				return fmt.Errorf("%s answered %d during a busy invocation", p, r.status)
			}
			select {
			case <-busy:
				return fmt.Errorf("%s was answered only after the busy invocation ended (after %s)", p, r.took.Round(time.Millisecond))
			default:
			}
			if r.took >= limit/2 {
				return fmt.Errorf("%s answered after %s during a busy invocation", p, r.took.Round(time.Millisecond))
			}
		}
		return nil
	})
}

// §6 Shutdown.
func (s *suite) shutdown() {
	s.check("6.1", "SIGTERM: no new connections, /healthz 503, running calls finish, exit 0", func() error {
		inst, err := s.start("sleep", contract.EnvShutdownTimeout+"=10")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		// An idle keep-alive connection opened before the signal.
		conn, err := net.Dial("tcp", strings.TrimPrefix(inst.base, "http://"))
		if err != nil {
			return err
		}
		defer conn.Close()
		res := make(chan *response, 1)
		go func() {
			r, err := s.postJSON(inst, "/", `{"seconds": 3}`)
			if err != nil {
				r = &response{status: -1, body: err.Error()}
			}
			res <- r
		}()
		// The signal comes once the host counts the call (it is running),
		// not after a guess of how long that takes.
		if err := s.waitCalls(inst, "POST", 1, 10*time.Second); err != nil {
			return err
		}
		if err := inst.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		// The listener closes as the drain begins: connections may still be
		// accepted until the host has seen the signal, none after.
		if err := s.waitRefused(inst, 10*time.Second); err != nil {
			return err
		}
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufioReader(conn), nil)
		if err != nil {
			return fmt.Errorf("/healthz on an open connection during drain: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 {
			return fmt.Errorf("/healthz during drain answered %d, want 503", resp.StatusCode)
		}
		r := <-res
		if r.status != 200 {
			return fmt.Errorf("the running call got %d %q, want 200", r.status, trunc(r.body))
		}
		select {
		case <-inst.done:
		case <-time.After(15 * time.Second):
			return fmt.Errorf("did not exit within 15 s after the running call finished")
		}
		if inst.exitErr != nil {
			return fmt.Errorf("exit: %v, want 0", inst.exitErr)
		}
		return nil
	})
}

// §7 Observability.
func (s *suite) observability() {
	inst, err := s.start("hello")
	if err != nil {
		s.check("7.1", "hello fixture starts", func() error { return err })
		return
	}
	defer s.stop(inst)
	s.check("7.1", "one request-log line per request with date, method, path, status, duration, event-id", func() error {
		id := "log-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if _, err := s.do(inst, "GET", "/logged/path", nil, map[string]string{"Event-Id": id}); err != nil {
			return err
		}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			var line string
			if scanLines(inst.stdout.String(), func(l string) bool {
				if strings.Contains(l, id) {
					line = l
					return true
				}
				return false
			}) {
				for _, want := range []string{"GET", "/logged/path", " 200 ", "2"} {
					if !strings.Contains(line, want) {
						return fmt.Errorf("log line %q lacks %q", line, want)
					}
				}
				if !dateRe.MatchString(line) || !durationRe.MatchString(line) {
					return fmt.Errorf("log line %q lacks a date or a duration", line)
				}
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("no stdout line carries event-id %s", id)
	})
	s.check("7.2", "/metrics serves the contract's metrics by method", func() error {
		thr, err := s.start("throw")
		if err != nil {
			return err
		}
		defer s.stop(thr)
		s.get(inst, "/")
		s.get(inst, "/")
		s.postJSON(thr, "/", `{}`)
		m, err := s.metrics(inst)
		if err != nil {
			return err
		}
		if f := m[contract.MetricCalls]; f == nil || f.typ != "COUNTER" || f.values["GET"] < 2 {
			return fmt.Errorf("function_calls_total{method=\"GET\"} missing or below 2: %+v", f)
		}
		if f := m[contract.MetricDuration]; f == nil || f.typ != "HISTOGRAM" || f.values["GET"] < 2 {
			return fmt.Errorf("function_duration_seconds{method=\"GET\"} histogram missing or count below 2: %+v", f)
		}
		mt, err := s.metrics(thr)
		if err != nil {
			return err
		}
		if f := mt[contract.MetricFailures]; f == nil || f.typ != "COUNTER" || f.values["POST"] != 1 {
			return fmt.Errorf("function_failures_total{method=\"POST\"} should be 1 after one throw: %+v", f)
		}
		return nil
	})
	s.stop(inst)

	s.check("7.1", contract.EnvFuncLogFormat+"=json makes each log line a JSON object", func() error {
		inst, err := s.start("hello", contract.EnvFuncLogFormat+"=json")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		id := "json-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if _, err := s.do(inst, "GET", "/j", nil, map[string]string{"Event-Id": id}); err != nil {
			return err
		}
		var obj map[string]any
		if !eventually(10*time.Second, func() bool {
			return scanLines(inst.stdout.String(), func(l string) bool {
				return strings.Contains(l, id) && json.Unmarshal([]byte(l), &obj) == nil
			})
		}) {
			return fmt.Errorf("no JSON log line carries event-id %s after 10 s", id)
		}
		for _, k := range []string{"time", "method", "path", "status"} {
			if _, ok := obj[k]; !ok {
				return fmt.Errorf("JSON log line lacks %q: %v", k, obj)
			}
		}
		return nil
	})
	s.check("7.1", "what the function prints reaches stdout, also when it then times out", func() error {
		inst, err := s.start("printsleep", contract.EnvFuncTimeout+"=1")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		id := "print-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		r, err := s.do(inst, "GET", "/", nil, map[string]string{"Event-Id": id})
		if err != nil {
			return err
		}
		if r.status != 408 {
			return fmt.Errorf("status %d, want 408", r.status)
		}
		if !eventually(10*time.Second, func() bool { return strings.Contains(inst.stdout.String(), "printed "+id) }) {
			return fmt.Errorf("stdout lacks \"printed %s\" after 10 s", id)
		}
		return nil
	})
	s.check("7.2", "timeouts are counted in function_timeouts_total", func() error {
		inst, err := s.start("busy", contract.EnvFuncTimeout+"=0.3")
		if err != nil {
			return err
		}
		defer s.stop(inst)
		s.get(inst, "/")
		m, err := s.metrics(inst)
		if err != nil {
			return err
		}
		if f := m["function_timeouts_total"]; f == nil || f.values["GET"] != 1 {
			return fmt.Errorf("function_timeouts_total{method=\"GET\"} should be 1: %+v", f)
		}
		return nil
	})
}

// besideSpinner starts an instance of the sleep fixture and a call that
// spins on the CPU until the suite releases it (or until its 60 s time
// limit, after every bound below), then makes plain calls one at a time,
// each of which must be answered while the spinning one has not answered:
// an answer that comes while it spins was served beside it, whatever the
// order of its events on the machine. With spare, the calls begin once the
// host has a second worker beside the spinning one (kubeless_host_workers;
// at once for a runtime without a worker pool, such as a Go function,
// which runs in the host); without, the first one is sent as soon as the
// spinning call has started (its file exists), when the host may not yet
// see that call's worker as stalled.
func (s *suite) besideSpinner(spare bool, calls int) error {
	inst, err := s.start("sleep", contract.EnvFuncTimeout+"=60")
	if err != nil {
		return err
	}
	defer s.stop(inst)
	dir, err := os.MkdirTemp(s.dir, "spin-")
	if err != nil {
		return err
	}
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	defer touch(release) // a failed clause leaves no call spinning
	spin := make(chan error, 1)
	go func() {
		r, err := s.postJSON(inst, "/", sleepUntil(started, release, true))
		if err == nil {
			err = want(r, 200)
		}
		spin <- err
	}()
	if err := waitFiles(waitLimit, spin, started); err != nil {
		return fmt.Errorf("the spinning call: %w", err)
	}
	if spare {
		if err := s.waitWorkers(inst, 2, spin); err != nil {
			return err
		}
	}
	for i := 0; i < calls; i++ {
		r, err := s.postJSONWithin(inst, `{"seconds": 0}`, waitLimit)
		if err != nil {
			return fmt.Errorf("call %d beside a spinning one (a starved call is not answered before the spinning one ends): %w", i+1, err)
		}
		if err := want(r, 200); err != nil {
			return fmt.Errorf("call %d beside a spinning one: %w", i+1, err)
		}
		select {
		case err := <-spin:
			return fmt.Errorf("the spinning call answered (%s) before it was released, while call %d waited", outcome(err), i+1)
		default:
		}
	}
	if err := touch(release); err != nil {
		return err
	}
	if err := <-spin; err != nil {
		return fmt.Errorf("the spinning call, once released: %w", err)
	}
	return nil
}

// eventually polls cond until it holds (true) or limit passes (false).
func eventually(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// waitCalls waits until the instance's function_calls_total for method
// reaches n (the host counts a call as it begins serving it).
func (s *suite) waitCalls(inst *instance, method string, n float64, limit time.Duration) error {
	var got float64
	if eventually(limit, func() bool {
		m, err := s.metrics(inst)
		if err != nil {
			return false
		}
		if f := m[contract.MetricCalls]; f != nil {
			got = f.values[method]
		}
		return got >= n
	}) {
		return nil
	}
	return fmt.Errorf("%s{method=%q} is %v after %s, want %v", contract.MetricCalls, method, got, limit, n)
}

// waitRefused waits until the instance refuses new connections.
func (s *suite) waitRefused(inst *instance, limit time.Duration) error {
	addr := strings.TrimPrefix(inst.base, "http://")
	if eventually(limit, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}) {
		return nil
	}
	return fmt.Errorf("new connections were still accepted %s after SIGTERM", limit)
}

// waitWorkers waits until the instance's /metrics shows at least n workers
// taking calls (kubeless_host_workers), up to waitLimit; it returns at once
// when the instance has no such metric (no worker pool). A value on ended
// (the call that keeps a worker busy answered) is a failure.
func (s *suite) waitWorkers(inst *instance, n int, ended <-chan error) error {
	deadline := time.After(waitLimit)
	for {
		r, err := s.get(inst, "/metrics")
		if err != nil {
			return err
		}
		v, found := metricValue(r.body, "kubeless_host_workers")
		if !found || v >= float64(n) {
			return nil
		}
		select {
		case err := <-ended:
			return fmt.Errorf("the busy call answered (%s) before it was released", outcome(err))
		case <-deadline:
			return fmt.Errorf("the pool had %v workers %s after a worker began to spin, want %d", v, waitLimit, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// metricValue returns the value of an unlabelled sample in a Prometheus
// text exposition.
func metricValue(text, name string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// deadlineSlack is how late past its deadline a time-limit answer may come
// before the suite calls it missed: generous, for a loaded machine; the
// figure a runtime reaches belongs to a benchmark.
const deadlineSlack = 15 * time.Second

// waitLimit bounds every wait for an event of the concurrency clauses. It
// is a failure bound only: a clause passes as soon as its events happen.
const waitLimit = 30 * time.Second

// together makes n calls of the sleep fixture that each create their own
// file when they start running in the function and then wait for one
// release file. Once all n files exist, n invocations run at once; the
// suite then releases them and every one must answer 200.
func (s *suite) together(inst *instance, n int) error {
	dir, err := os.MkdirTemp(s.dir, "together-")
	if err != nil {
		return err
	}
	release := filepath.Join(dir, "release")
	defer touch(release) // a failed clause leaves no call waiting
	done := make(chan error, n)
	files := make([]string, n)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("started-%d", i))
		go func(body string) {
			r, err := s.postJSON(inst, "/", body)
			if err == nil {
				err = want(r, 200)
			}
			done <- err
		}(sleepUntil(files[i], release, false))
	}
	if err := waitFiles(waitLimit, done, files...); err != nil {
		return err
	}
	if err := touch(release); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := <-done; err != nil {
			return fmt.Errorf("a call, once released: %w", err)
		}
	}
	return nil
}

// sleepUntil is the body of a sleep fixture call that creates started when
// it begins and waits (spinning on the CPU when busy) until release exists.
func sleepUntil(started, release string, busy bool) string {
	b, _ := json.Marshal(map[string]any{"touch": started, "until": release, "busy": busy})
	return string(b)
}

// waitFiles waits until every file exists. A value on ended, a call that
// answered before it was released, or limit passing is a failure.
func waitFiles(limit time.Duration, ended <-chan error, files ...string) error {
	deadline := time.After(limit)
	for {
		running := 0
		for _, f := range files {
			if _, err := os.Stat(f); err == nil {
				running++
			}
		}
		if running == len(files) {
			return nil
		}
		select {
		case err := <-ended:
			return fmt.Errorf("a call answered before it was released (%s), with %d of %d calls started", outcome(err), running, len(files))
		case <-deadline:
			return fmt.Errorf("only %d of %d calls had started %s after they were sent (the others wait for the running ones to end)", running, len(files), limit)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// outcome describes how a call ended: err, or 200 when it is nil.
func outcome(err error) string {
	if err != nil {
		return err.Error()
	}
	return "200"
}

// touch creates an empty file.
func touch(path string) error {
	return os.WriteFile(path, nil, 0o644)
}
