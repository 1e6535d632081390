// Command starvation measures, per runtime, the figures that the
// conformance suite checks by events only (clauses 5.1, 5.3, 5.4 and 5.5): how
// long a plain call takes while another call of the same instance spins on
// the CPU, and how long eight parallel one-second calls take, each against a
// baseline measured in the same run on the same instance (a plain call
// alone, one one-second call alone).
//
//	go run ./bench/starvation [-only python3.11,go1.26] [-n 20] [-o bench/results/starvation.md]
//
// Every instance is `kubeless runtime run <runtime>` with its default worker
// settings, serving the conformance fixtures' sleep handler on a socket this
// command binds and hands over (KUBELESS_LISTEN_FD).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubeless/kubeless/pkg/contract"
)

// runtimes are the catalog runtimes measured, with the tool each needs and
// its fixture folder.
var runtimes = []struct{ name, needs, dir, handler string }{
	{"python3.11", "python3", "python", "sleep"},
	{"nodejs20", "node", "nodejs", "sleep"},
	{"ruby3.1", "ruby", "ruby", "sleep"},
	{"php8.2", "php", "php", "sleep"},
	{"go1.26", "go", "go", "Sleep"},
}

// Targets (issue "First run and failure handling", item 5).
const (
	targetBeside   = 100 * time.Millisecond
	targetParallel = 1500 * time.Millisecond
	// The plain call arrives this long after the spinning one started, as
	// in the report.
	besideDelay = 300 * time.Millisecond
)

type result struct {
	runtime      string
	alone        time.Duration    // p50 of plain calls on the idle instance
	first        [2]time.Duration // the plain call sent at once, and besideDelay, after the spinner started
	beside       []time.Duration  // the plain calls after it, one at a time, the spinner still spinning
	oneSecond    time.Duration    // one 1 s call alone
	parallel     [2]time.Duration
	err          error
	spinnerState string
	workers      int      // the instance's workers once settled, when the spinner started
	firstErr     []string // plain calls beside the spinner that failed
}

func main() {
	only := flag.String("only", "", "comma-separated runtimes to measure (default: every one whose language is installed)")
	n := flag.Int("n", 20, "plain calls per measurement")
	out := flag.String("o", "bench/results/starvation.md", "markdown report")
	flag.Parse()
	root, _ := os.Getwd()
	bin, err := os.MkdirTemp("", "kubeless-bench-starvation-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(bin)
	k := filepath.Join(bin, "kubeless")
	if out, err := exec.Command("go", "build", "-o", k, "./cmd/kubeless").CombinedOutput(); err != nil {
		fatal(fmt.Errorf("go build ./cmd/kubeless: %v: %s", err, out))
	}
	var results []result
	for _, rt := range runtimes {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), rt.name) {
			continue
		}
		if _, err := exec.LookPath(rt.needs); err != nil {
			fmt.Fprintf(os.Stderr, "skip %s: %s not installed\n", rt.name, rt.needs)
			continue
		}
		fmt.Fprintf(os.Stderr, "measuring %s …\n", rt.name)
		r := result{runtime: rt.name}
		r.err = measure(&r, k, filepath.Join(root, "internal/conformance/fixtures", rt.dir), rt.handler, *n)
		if r.err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", rt.name, r.err)
		}
		results = append(results, r)
	}
	report := render(results, *n)
	fmt.Print(report)
	if *out != "" {
		os.MkdirAll(filepath.Dir(*out), 0o755)
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			fatal(err)
		}
	}
}

// measure runs the workloads, each on a fresh instance.
func measure(r *result, k, dir, handler string, n int) error {
	// 1. Plain calls alone, then beside a spinning call: the first one
	// sent at once after the spinner started, or besideDelay later.
	for i, delay := range []time.Duration{0, besideDelay} {
		alone, first, beside, err := besideSpinner(r, k, dir, handler, n, delay)
		if err != nil {
			return err
		}
		r.first[i] = first
		if delay == besideDelay {
			r.alone, r.beside = alone, beside
		}
	}
	// 2. One 1 s call alone, then eight at once, twice (the first round
	// grows a worker pool, the second finds it grown).
	inst, err := start(k, r.runtime, dir, handler)
	if err != nil {
		return err
	}
	defer inst.stop()
	if r.oneSecond, err = inst.call(map[string]any{"seconds": 1}); err != nil {
		return err
	}
	for round := 0; round < 2; round++ {
		t0 := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := inst.call(map[string]any{"seconds": 1}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		r.parallel[round] = time.Since(t0)
		close(errs)
		if err := <-errs; err != nil {
			return fmt.Errorf("8 parallel 1 s calls, round %d: %w", round+1, err)
		}
	}
	return nil
}

// besideSpinner starts an instance and measures n plain calls alone (their
// median), then starts a call that spins on the CPU and, delay later, a
// plain call (its latency: first) and n more one at a time (beside).
func besideSpinner(r *result, k, dir, handler string, n int, delay time.Duration) (alone, first time.Duration, beside []time.Duration, err error) {
	inst, err := start(k, r.runtime, dir, handler)
	if err != nil {
		return 0, 0, nil, err
	}
	defer inst.stop()
	plain := func() (time.Duration, error) { return inst.call(map[string]any{"seconds": 0}) }
	if _, err := plain(); err != nil { // warm-up
		return 0, 0, nil, err
	}
	var ds []time.Duration
	for i := 0; i < n; i++ {
		d, err := plain()
		if err != nil {
			return 0, 0, nil, err
		}
		ds = append(ds, d)
	}
	// The calls above may have started a spare worker (an event-loop
	// runtime keeps one ready while calls run); the spinner starts once
	// the pool has settled, as it would have on an instance in use.
	if r.workers, err = inst.settledWorkers(); err != nil {
		return 0, 0, nil, err
	}
	tmp, err := os.MkdirTemp("", "kubeless-spin-")
	if err != nil {
		return 0, 0, nil, err
	}
	defer os.RemoveAll(tmp)
	started, release := filepath.Join(tmp, "started"), filepath.Join(tmp, "release")
	spin := make(chan error, 1)
	go func() {
		_, err := inst.call(map[string]any{"busy": true, "touch": started, "until": release})
		spin <- err
	}()
	defer func() {
		select {
		case err := <-spin:
			r.spinnerState = fmt.Sprintf("the spinning call ended before it was released (%v)", err)
			return
		default:
		}
		os.WriteFile(release, nil, 0o644)
		if err := <-spin; err != nil {
			r.spinnerState = fmt.Sprintf("the spinning call, released, failed: %v", err)
		}
	}()
	if err := waitFile(started, spin); err != nil {
		return 0, 0, nil, fmt.Errorf("the spinning call: %w", err)
	}
	time.Sleep(delay)
	if first, err = plain(); err != nil {
		// A starved call is a result, not a failure of the benchmark.
		r.firstErr = append(r.firstErr, fmt.Sprintf("the plain call sent %v after the spinning one started: %v after %s", delay, err, ms(first)))
		first = max(first, targetBeside*1000)
	}
	for i := 0; i < n; i++ {
		d, err := plain()
		if err != nil {
			return 0, 0, nil, fmt.Errorf("plain call %d beside the spinning one: %w", i+1, err)
		}
		beside = append(beside, d)
	}
	return median(ds), first, beside, nil
}

type instance struct {
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
	client *http.Client
	stderr *bytes.Buffer
}

// start runs `kubeless runtime run rt` on a socket bound here and handed
// over, and waits for /healthz.
func start(k, rt, dir, handler string) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	sock, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		return nil, err
	}
	defer sock.Close()
	cmd := exec.Command(k, "runtime", "run", rt)
	cmd.Env = append(os.Environ(),
		contract.EnvFuncPort+"="+port, contract.EnvListenAddress+"=127.0.0.1", contract.EnvListenFD+"=3",
		contract.EnvModName+"=fixtures", contract.EnvFuncHandler+"="+handler,
		contract.EnvInstallVolume+"="+dir, contract.EnvFuncTimeout+"=60")
	cmd.ExtraFiles = []*os.File{sock}
	cmd.Stdout = io.Discard // the request log
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Workers run in process groups of their own: one that outlives the
	// host keeps the stderr pipe open, and Wait must not wait for it.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	inst := &instance{url: "http://127.0.0.1:" + port, cmd: cmd, exited: exited, client: &http.Client{Timeout: 90 * time.Second}, stderr: &stderr}
	go func() { cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); {
		if resp, err := inst.client.Get(inst.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return inst, nil
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("kubeless runtime run %s exited: %s", rt, strings.TrimSpace(stderr.String()))
		case <-time.After(50 * time.Millisecond):
		}
	}
	inst.stop()
	return nil, fmt.Errorf("kubeless runtime run %s did not answer /healthz within 3 minutes: %s", rt, strings.TrimSpace(stderr.String()))
}

// stop ends the instance with SIGTERM (the host drains and stops its
// workers), then SIGKILL if it lingers.
func (inst *instance) stop() {
	syscall.Kill(-inst.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-inst.exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-inst.cmd.Process.Pid, syscall.SIGKILL)
		<-inst.exited
	}
}

// call POSTs body as JSON and returns how long the whole answer took.
func (inst *instance) call(body any) (time.Duration, error) {
	b, _ := json.Marshal(body)
	t0 := time.Now()
	resp, err := inst.client.Post(inst.url+"/", "application/json", bytes.NewReader(b))
	if err != nil {
		return time.Since(t0), err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	if resp.StatusCode != 200 {
		return d, fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(out)))
	}
	return d, nil
}

// settledWorkers reads the host's kubeless_host_workers gauge every 50 ms
// until it has held the same value for half a second (at most 10 s), and
// returns it.
func (inst *instance) settledWorkers() (int, error) {
	last, same := -1, 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n, err := inst.workers()
		if err != nil {
			return 0, err
		}
		if n == last {
			if same++; same == 10 {
				return n, nil
			}
			continue
		}
		last, same = n, 0
	}
	return 0, fmt.Errorf("the worker count did not settle within 10 s (last %d)", last)
}

// workers returns the kubeless_host_workers gauge from /metrics, or 0 when
// the host has no worker pool.
func (inst *instance) workers() (int, error) {
	resp, err := inst.client.Get(inst.url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "kubeless_host_workers "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, nil // no worker pool: the function runs in the host's process (Go)
}

// waitFile waits until path exists, or the call on done ends first.
func waitFile(path string, done <-chan error) error {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("ended before it started spinning: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not created within a minute", path)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func render(rs []result, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| runtime | plain call alone, p50 | workers when the spinner started | plain call at once / %s after a call started spinning | next %d plain calls beside it: p50 / max | target | one 1 s call alone | 8 parallel 1 s calls: first / second round | target |\n", besideDelay, n)
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		if r.err != nil {
			fmt.Fprintf(&b, "| %s | error: %s ||||||||\n", r.runtime, strings.ReplaceAll(r.err.Error(), "\n", " "))
			continue
		}
		worst := slices.Max(r.beside)
		fmt.Fprintf(&b, "| %s | %s | %s | %s / %s | %s / %s | %s %s | %s | %s / %s | %s %s |\n", r.runtime,
			ms(r.alone), workers(r.workers), ms(r.first[0]), ms(r.first[1]), ms(median(r.beside)), ms(worst),
			mark(max(r.first[0], r.first[1], worst) < targetBeside), ms(targetBeside),
			ms(r.oneSecond), ms(r.parallel[0]), ms(r.parallel[1]),
			mark(max(r.parallel[0], r.parallel[1]) < targetParallel), ms(targetParallel))
	}
	for _, r := range rs {
		for _, e := range r.firstErr {
			fmt.Fprintf(&b, "\n%s: %s\n", r.runtime, e)
		}
		if r.spinnerState != "" {
			fmt.Fprintf(&b, "\n%s: %s\n", r.runtime, r.spinnerState)
		}
	}
	return b.String()
}

func workers(n int) string {
	if n == 0 {
		return "in the host"
	}
	return strconv.Itoa(n)
}

func mark(ok bool) string {
	if ok {
		return "met: <"
	}
	return "MISSED: <"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "starvation:", err)
	os.Exit(1)
}
