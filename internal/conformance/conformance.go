// Package conformance checks a language runtime against the runtime contract
// (docs/runtime-contract.md) as a black box: it starts the runtime as a
// process with the fixture functions of its language (fixtures/<lang>/),
// drives it over HTTP and prints one PASS or FAIL line per clause.
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubeless/kubeless/pkg/contract"
)

//go:embed fixtures
var fixtures embed.FS

// Target is a runtime to check.
type Target struct {
	// Runtime is the runtime string (FUNC_RUNTIME), for example python3.11.
	Runtime string
	// Lang names the fixture folder.
	Lang string
	// Command starts the runtime; it is configured only by the environment.
	Command []string
	// Env is added to the environment of every instance; "{fixtures}" is
	// replaced by the fixture folder.
	Env []string
	// Capitalize makes handler names start with a capital letter (Go).
	Capitalize bool
	// Concurrency is how many invocations the runtime serves at once by
	// default (clause 5.1); 0 means 8.
	Concurrency int
	// StartTimeout bounds an instance's start (default 2 minutes: a Go
	// runtime compiles first).
	StartTimeout time.Duration
}

// Result is the outcome of one clause.
type Result struct {
	Clause string
	Name   string
	Err    error
}

type suite struct {
	t        Target
	dir      string
	out      io.Writer
	results  []Result
	client   *http.Client
	instance []*instance
}

// Run checks every clause of the contract against t, printing a line per
// clause to out and a summary; it reports whether all passed. An error means
// the suite itself could not run.
func Run(ctx context.Context, t Target, out io.Writer) (bool, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if t.Concurrency == 0 {
		t.Concurrency = 8
	}
	if t.StartTimeout == 0 {
		t.StartTimeout = 2 * time.Minute
	}
	dir, err := os.MkdirTemp("", "kubeless-conformance-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	if err := extract(t.Lang, dir); err != nil {
		return false, err
	}
	s := &suite{
		t: t, dir: dir, out: out,
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
	}
	defer s.stopAll()
	fmt.Fprintf(out, "conformance of runtime %s (fixtures: %s)\n", t.Runtime, t.Lang)
	s.all()
	failed := 0
	for _, r := range s.results {
		if r.Err != nil {
			failed++
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", len(s.results)-failed, failed)
	return failed == 0, nil
}

func extract(lang, dir string) error {
	root := "fixtures/" + lang
	if _, err := fs.Stat(fixtures, root); err != nil {
		return fmt.Errorf("no conformance fixtures for language %q", lang)
	}
	return fs.WalkDir(fixtures, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		t := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		b, err := fixtures.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(t, b, 0o644)
	})
}

// check runs one clause and prints its line.
func (s *suite) check(clause, name string, fn func() error) {
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("suite panic: %v", p)
			}
		}()
		return fn()
	}()
	s.results = append(s.results, Result{clause, name, err})
	if err != nil {
		fmt.Fprintf(s.out, "FAIL %-5s %s: %s\n", clause, name, oneLine(err.Error()))
	} else {
		fmt.Fprintf(s.out, "PASS %-5s %s\n", clause, name)
	}
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func (s *suite) handler(name string) string {
	if s.t.Capitalize && name != "" {
		r := []rune(name)
		r[0] = unicode.ToUpper(r[0])
		return string(r)
	}
	return name
}

// syncBuf collects a process's output.
type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type instance struct {
	cmd     *exec.Cmd
	base    string
	stdout  syncBuf
	stderr  syncBuf
	done    chan struct{}
	exitErr error
}

func (s *suite) env(extra []string) []string {
	env := os.Environ()
	for _, kv := range s.t.Env {
		env = append(env, strings.ReplaceAll(kv, "{fixtures}", s.dir))
	}
	env = append(env, contract.EnvInstallVolume+"="+s.dir, contract.EnvFuncRuntime+"="+s.t.Runtime)
	return append(env, extra...)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// launch starts an instance without waiting for it. The instance serves on
// a socket the suite has bound and hands over (KUBELESS_LISTEN_FD, as the
// local engine does): a port chosen, released and bound later could be
// taken in between by any process of this busy machine, another run of the
// suite included. Only when env sets FUNC_PORT itself (the clauses about
// binding it) does the runtime bind the port.
func (s *suite) launch(env ...string) (*instance, error) {
	byPort := false
	var port int
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, contract.EnvFuncPort+"="); ok {
			byPort = true
			port, _ = strconv.Atoi(v)
		}
	}
	var ln *net.TCPListener
	if !byPort {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ln = l.(*net.TCPListener)
		port = ln.Addr().(*net.TCPAddr).Port
	}
	inst := &instance{base: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	cmd := exec.Command(s.t.Command[0], s.t.Command[1:]...)
	base := []string{contract.EnvFuncPort + "=" + strconv.Itoa(port), contract.EnvListenAddress + "=127.0.0.1"}
	if ln != nil {
		f, err := ln.File()
		ln.Close() // f is a copy of the socket
		if err != nil {
			return nil, err
		}
		// The suite's copy closes once the runtime has its own: a runtime
		// that exits then leaves no socket that accepts connections.
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f}
		base = append(base, contract.EnvListenFD+"=3")
	}
	cmd.Env = s.env(append(base, env...))
	cmd.Stdout = &inst.stdout
	cmd.Stderr = &inst.stderr
	cmd.SysProcAttr = ownGroup()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %q: %w", s.t.Command, err)
	}
	inst.cmd = cmd
	go func() {
		inst.exitErr = cmd.Wait()
		close(inst.done)
	}()
	s.instance = append(s.instance, inst)
	return inst, nil
}

// start starts an instance serving handler and waits for /healthz.
func (s *suite) start(handler string, env ...string) (*instance, error) {
	env = append([]string{contract.EnvModName + "=fixtures", contract.EnvFuncHandler + "=" + s.handler(handler)}, env...)
	inst, err := s.launch(env...)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(s.t.StartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-inst.done:
			return nil, fmt.Errorf("runtime exited while starting (%v): %s", inst.exitErr, oneLine(inst.stderr.String()))
		default:
		}
		resp, err := s.client.Get(inst.base + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(body) == "OK" {
				return inst, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	inst.kill()
	return nil, fmt.Errorf("runtime did not answer /healthz with 200 OK within %s; stderr: %s", s.t.StartTimeout, oneLine(inst.stderr.String()))
}

func (inst *instance) kill() {
	if inst.cmd.Process != nil {
		killGroup(inst.cmd.Process)
	}
	<-inst.done
}

func (s *suite) stopAll() {
	for _, inst := range s.instance {
		select {
		case <-inst.done:
		default:
			inst.kill()
		}
	}
	s.instance = nil
}

// stop ends an instance and forgets it.
func (s *suite) stop(inst *instance) {
	if inst == nil {
		return
	}
	select {
	case <-inst.done:
	default:
		inst.kill()
	}
}

type response struct {
	status int
	header http.Header
	body   string
	took   time.Duration
}

func (s *suite) do(inst *instance, method, path string, body []byte, header map[string]string) (*response, error) {
	return s.doContext(context.Background(), inst, method, path, body, header)
}

func (s *suite) doContext(ctx context.Context, inst *instance, method, path string, body []byte, header map[string]string) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, inst.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: string(b), took: time.Since(start)}, nil
}

func (s *suite) get(inst *instance, path string) (*response, error) {
	return s.do(inst, "GET", path, nil, nil)
}

func (s *suite) postJSON(inst *instance, path, body string) (*response, error) {
	return s.do(inst, "POST", path, []byte(body), map[string]string{"Content-Type": "application/json"})
}

// postJSONWithin is postJSON with the call given up after limit.
func (s *suite) postJSONWithin(inst *instance, body string, limit time.Duration) (*response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return s.doContext(ctx, inst, "POST", "/", []byte(body), map[string]string{"Content-Type": "application/json"})
}

func want(r *response, status int) error {
	if r.status != status {
		return fmt.Errorf("status %d, want %d (body %q)", r.status, status, trunc(r.body))
	}
	return nil
}

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// expectExit starts an instance that must fail to load and returns its
// stderr.
func (s *suite) expectExit(env ...string) (string, error) {
	inst, err := s.launch(env...)
	if err != nil {
		return "", err
	}
	select {
	case <-inst.done:
	case <-time.After(s.t.StartTimeout):
		inst.kill()
		return "", fmt.Errorf("runtime kept running; it must exit non-zero when the function cannot be loaded")
	}
	if inst.exitErr == nil {
		return "", fmt.Errorf("runtime exited 0; it must exit non-zero")
	}
	stderr := strings.TrimSpace(inst.stderr.String())
	if stderr == "" {
		return "", fmt.Errorf("runtime exited (%v) without a message on stderr", inst.exitErr)
	}
	return stderr, nil
}

// lastLine is the message a load failure ends with.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func (s *suite) metrics(inst *instance) (map[string]*dtoFamily, error) {
	r, err := s.get(inst, "/metrics")
	if err != nil {
		return nil, err
	}
	if r.status != 200 {
		return nil, fmt.Errorf("/metrics answered %d", r.status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("/metrics is not Prometheus text format: %w", err)
	}
	out := map[string]*dtoFamily{}
	for name, f := range fams {
		df := &dtoFamily{typ: f.GetType().String(), values: map[string]float64{}}
		for _, m := range f.GetMetric() {
			var method string
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					method = l.GetValue()
				}
			}
			switch {
			case m.Counter != nil:
				df.values[method] += m.GetCounter().GetValue()
			case m.Histogram != nil:
				df.values[method] += float64(m.GetHistogram().GetSampleCount())
			}
		}
		out[name] = df
	}
	return out, nil
}

type dtoFamily struct {
	typ    string
	values map[string]float64 // by method: counter value or histogram count
}

var rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)

func decodeObject(body string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return nil, fmt.Errorf("body is not a JSON object: %q", trunc(body))
	}
	return m, nil
}

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

func scanLines(s string, fn func(string) bool) bool {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if fn(sc.Text()) {
			return true
		}
	}
	return false
}

var (
	lineNumber = regexp.MustCompile(`(:\d+|line \d+)`)
	dateRe     = regexp.MustCompile(`\d{4}|\d\d/[A-Z][a-z]{2}/\d{4}`)
	durationRe = regexp.MustCompile(`\d+\.\d+|duration`)
)

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
