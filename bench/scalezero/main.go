// Command scalezero measures scale to zero on the local engine: N functions
// of the five languages deployed idle at zero on one daemon. It reports
// the daemon's memory (against the same daemon with no function, measured
// in the same run), the time to deploy them all, the first-call latency of
// random functions at zero (against a warm call of the same function,
// measured right after), and the latencies of 100 functions at zero called
// at once.
//
//	go run ./bench/scalezero [-n 1000] [-kubeless bin/kubeless] [-calls 40] [-burst 100] [-same-code]
//
// It starts its own daemon (`kubeless local start`) in a temporary home
// with its gateway on a free port, and stops it at the end.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/client"
	"github.com/kubeless/kubeless/pkg/contract"
)

// lang is one language's function: its runtime, handler, file name and
// code (%d is the function's number, so that every function builds on its
// own unless -same-code).
type lang struct {
	name, runtime, handler, file, code string
	bare                               []string // the language's bare start, the reference
}

var langs = []lang{
	{"python", "python3.11", "hello.foo", "hello.py", "# function %d\ndef foo(event, context):\n    return \"hello\"\n", []string{"python3", "-c", "pass"}},
	{"nodejs", "nodejs20", "hello.foo", "hello.js", "// function %d\nmodule.exports = { foo(event, context) { return 'hello'; } };\n", []string{"node", "-e", "0"}},
	{"ruby", "ruby3.1", "hello.foo", "hello.rb", "# function %d\ndef foo(event, context)\n  \"hello\"\nend\n", []string{"ruby", "-e", "0"}},
	{"php", "php8.2", "hello.foo", "hello.php", "<?php\n// function %d\nfunction foo($event, $context) {\n  return \"hello\";\n}\n", []string{"php", "-r", ""}},
	{"go", "go1.26", "hello.Foo", "hello.go", "// function %d\npackage kubeless\n\nimport \"github.com/kubeless/kubeless/pkg/functions\"\n\nfunc Foo(event functions.Event, context functions.Context) (string, error) {\n\treturn \"hello\", nil\n}\n", []string{"true"}},
}

func main() {
	n := flag.Int("n", 1000, "functions to deploy (spread over the five languages)")
	exe := flag.String("kubeless", "bin/kubeless", "the kubeless binary")
	calls := flag.Int("calls", 40, "first calls measured one at a time, per language")
	burst := flag.Int("burst", 100, "functions at zero called at once")
	parallel := flag.Int("p", 8, "deploys in flight at once")
	sameCode := flag.Bool("same-code", false, "give every function of a language the same code (one build per language: measures the daemon, not the compilers)")
	flag.Parse()
	if err := run(*n, *exe, *calls, *burst, *parallel, *sameCode); err != nil {
		fmt.Fprintln(os.Stderr, "scalezero:", err)
		os.Exit(1)
	}
}

func run(n int, exe string, calls, burst, parallel int, sameCode bool) error {
	exe, err := filepath.Abs(exe)
	if err != nil {
		return err
	}
	home, err := os.MkdirTemp("", "kubeless-scalezero-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := append(os.Environ(), "KUBELESS_HOME="+home, "KUBELESS_GATEWAY=127.0.0.1:0",
		// The woken functions stay up while the run measures the others.
		"KUBELESS_IDLE_WINDOW=1h")
	start := exec.Command(exe, "local", "start")
	start.Env = env
	if out, err := start.CombinedOutput(); err != nil {
		return fmt.Errorf("kubeless local start: %v\n%s", err, out)
	}
	defer func() {
		stop := exec.Command(exe, "local", "stop")
		stop.Env = env
		_ = stop.Run()
	}()
	ctx := context.Background()
	cl := client.New(filepath.Join(home, "engine.sock"))
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	gw := "http://" + st.Gateway
	time.Sleep(2 * time.Second) // the daemon's start-up settles
	base := memory(st.PID)
	fmt.Printf("daemon pid %d, gateway %s; %d functions, %d CPUs, load %s\n", st.PID, st.Gateway, n, numCPU(), loadavg())
	fmt.Printf("daemon memory with no function: RSS %.1f MiB, PSS %.1f MiB\n", base.rss, base.pss)

	// Deploy: p at a time, each until it is built and idle at zero.
	names := make([]string, n)
	byLang := map[string][]string{}
	t0 := time.Now()
	work := make(chan int)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				l := langs[i%len(langs)]
				code := l.code
				if sameCode {
					code = fmt.Sprintf(code, 0)
				} else {
					code = fmt.Sprintf(code, i)
				}
				fn := function(fmt.Sprintf("%s-%04d", l.name, i), l, code)
				if _, err := cl.Deploy(ctx, fn); err != nil {
					errc <- fmt.Errorf("deploy %s: %w", fn.Name, err)
					continue
				}
				if err := waitIdle(ctx, cl, fn.Name); err != nil {
					errc <- err
				}
			}
		}()
	}
	for i := range n {
		names[i] = fmt.Sprintf("%s-%04d", langs[i%len(langs)].name, i)
		byLang[langs[i%len(langs)].name] = append(byLang[langs[i%len(langs)].name], names[i])
		work <- i
	}
	close(work)
	wg.Wait()
	close(errc)
	for err := range errc {
		return err
	}
	deployAll := time.Since(t0)
	time.Sleep(2 * time.Second)
	all := memory(st.PID)
	fmt.Printf("deployed %d functions, all idle at zero, in %s (%.0f ms per function)\n", n, deployAll.Round(time.Millisecond), float64(deployAll.Milliseconds())/float64(n))
	fmt.Printf("daemon memory with %d idle functions: RSS %.1f MiB, PSS %.1f MiB: +%.1f KiB RSS per function\n",
		n, all.rss, all.pss, (all.rss-base.rss)*1024/float64(n))
	fmt.Printf("processes below the daemon: %d\n", descendants(st.PID))

	// First calls, one at a time: a random function at zero of each
	// language, then the same function again (warm).
	rng := rand.New(rand.NewPCG(1, 2))
	used := map[string]bool{}
	pick := func(pool []string) string {
		for {
			name := pool[rng.IntN(len(pool))]
			if !used[name] {
				used[name] = true
				return name
			}
		}
	}
	fmt.Printf("\nfirst call of a function at zero (%d per language, one at a time) against a warm call of the same function:\n", calls)
	fmt.Printf("(reference: the bare interpreter's start and exit, `python3 -c pass`, `node -e 0`, `ruby -e 0`, `php -r ''`, `true` for Go, median of 10 measured just before)\n")
	fmt.Printf("| language | cold p50 | cold p99 | warm p50 | warm p99 | bare start | cold p50 ÷ bare start | target p99 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range langs {
		pool := byLang[l.name]
		bare := bareStart(l.bare)
		var cold, warm []time.Duration
		for range min(calls, len(pool)) {
			name := pick(pool)
			d, err := call(gw, name)
			if err != nil {
				return err
			}
			cold = append(cold, d)
			d, err = call(gw, name)
			if err != nil {
				return err
			}
			warm = append(warm, d)
		}
		target := "300 ms"
		if l.name == "go" {
			target = "150 ms"
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %.1f | %s |\n", l.name, ms(pct(cold, 50)), ms(pct(cold, 99)), ms(pct(warm, 50)), ms(pct(warm, 99)),
			ms(bare), float64(pct(cold, 50))/float64(max(bare, time.Millisecond)), target)
	}

	// A burst: functions at zero called at once.
	var pool []string
	for _, name := range names {
		if !used[name] {
			pool = append(pool, name)
		}
	}
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	pool = pool[:min(burst, len(pool))]
	lat := make([]time.Duration, len(pool))
	errs := make([]error, len(pool))
	gate := make(chan struct{})
	var bw sync.WaitGroup
	for i, name := range pool {
		bw.Add(1)
		go func() {
			defer bw.Done()
			<-gate
			lat[i], errs[i] = call(gw, name)
		}()
	}
	t1 := time.Now()
	close(gate)
	bw.Wait()
	wall := time.Since(t1)
	failed := 0
	var okLat []time.Duration
	for i, err := range errs {
		if err != nil {
			failed++
			if failed <= 3 {
				fmt.Println("burst call failed:", err)
			}
			continue
		}
		okLat = append(okLat, lat[i])
	}
	fmt.Printf("\n%d functions at zero called at once: %d answered, %d failed; p50 %s, p99 %s, max %s, all answered in %s\n",
		len(pool), len(okLat), failed, ms(pct(okLat, 50)), ms(pct(okLat, 99)), ms(pct(okLat, 100)), wall.Round(time.Millisecond))
	if err := hop(exe, gw, byLang["python"][0]); err != nil {
		return err
	}
	time.Sleep(time.Second)
	after := memory(st.PID)
	fmt.Printf("daemon memory with %d instances running: RSS %.1f MiB (+%.1f KiB per running function over idle)\n",
		descendantsRunning(ctx, cl), after.rss, (after.rss-all.rss)*1024/float64(max(1, len(okLat)+len(used))))
	return nil
}

// function is a Function that scales from 0 to 1 instance.
func function(name string, l lang, code string) *v1beta1.Function {
	fn := &v1beta1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       v1beta1.FunctionSpec{Runtime: l.runtime, Handler: l.handler, Function: code, FunctionContentType: "text"},
	}
	if err := fn.Spec.SetAutoscaler(backend.ScaleToZeroAutoscaler("default", name, nil, 1, true, 0)); err != nil {
		panic(err) // a fixed, valid autoscaler
	}
	return fn
}

// waitIdle waits until the function is built and idle at zero.
func waitIdle(ctx context.Context, cl *client.Client, name string) error {
	for {
		fn, err := cl.Get(ctx, "default", name)
		if err != nil {
			return err
		}
		if c := meta.FindStatusCondition(fn.Status.Conditions, v1beta1.ConditionReady); c != nil && fn.Status.ObservedGeneration == fn.Generation {
			switch {
			case c.Reason == v1beta1.ReasonIdle:
				return nil
			case c.Status == metav1.ConditionFalse && v1beta1.IsFailureReason(c.Reason):
				return fmt.Errorf("function %s: %s: %s", name, c.Reason, c.Message)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var hc = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 200}}

// call calls the function through the gateway and returns the time from
// the request to the whole answer.
func call(gw, name string) (time.Duration, error) {
	return callURL(gw + "/" + name)
}

// callURL is call for a URL.
func callURL(url string) (time.Duration, error) {
	t := time.Now()
	resp, err := hc.Get(url)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t)
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "hello" {
		return 0, fmt.Errorf("%s answered %d %q", url, resp.StatusCode, b)
	}
	return d, nil
}

type mem struct{ rss, pss float64 } // MiB

// memory is the daemon's own memory (not its instances').
func memory(pid int) mem {
	var m mem
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fs[1], 64)
		switch fs[0] {
		case "Rss:":
			m.rss = kb / 1024
		case "Pss:":
			m.pss = kb / 1024
		}
	}
	return m
}

// descendants counts the processes below pid.
func descendants(pid int) int {
	out, _ := exec.Command("pgrep", "-c", "-P", strconv.Itoa(pid)).Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

// descendantsRunning counts the functions with a ready instance.
func descendantsRunning(ctx context.Context, cl *client.Client) int {
	fns, err := cl.List(ctx, "default")
	if err != nil {
		return 0
	}
	n := 0
	for _, fn := range fns {
		if fn.Status.ReadyReplicas > 0 {
			n++
		}
	}
	return n
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// hop measures the gateway's cost per warm call: the same Python function
// called through the gateway (an instance of the engine) and directly (an
// instance started alone with `kubeless runtime run`, as the daemon starts
// it), one call at a time.
func hop(exe, gw, name string) error {
	dir, err := os.MkdirTemp("", "kubeless-scalezero-direct-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "hello.py"), []byte(fmt.Sprintf(langs[0].code, 0)), 0o644); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(exe, "runtime", "run", "python3.11")
	cmd.Env = append(os.Environ(), contract.EnvFuncPort+"="+port, contract.EnvListenAddress+"=127.0.0.1",
		contract.EnvModName+"=hello", contract.EnvFuncHandler+"=foo", contract.EnvInstallVolume+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	direct := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		if resp, err := hc.Get(direct + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 300 {
			return fmt.Errorf("the direct instance did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	const n = 300
	measure := func(url string) ([]time.Duration, error) {
		var d []time.Duration
		for range n {
			t, err := callURL(url)
			if err != nil {
				return nil, err
			}
			d = append(d, t)
		}
		return d, nil
	}
	if _, err := callURL(gw + "/" + name); err != nil { // wake it
		return err
	}
	viaGW, err := measure(gw + "/" + name)
	if err != nil {
		return err
	}
	straight, err := measure(direct)
	if err != nil {
		return err
	}
	fmt.Printf("\nwarm Python call, %d one at a time: through the gateway p50 %s p99 %s; directly p50 %s p99 %s; the gateway's hop at p50: %.2f ms\n",
		n, ms2(pct(viaGW, 50)), ms2(pct(viaGW, 99)), ms2(pct(straight, 50)), ms2(pct(straight, 99)),
		float64((pct(viaGW, 50)-pct(straight, 50)).Microseconds())/1000)
	return nil
}

func ms2(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// bareStart is the median time of 10 runs of the language's bare
// interpreter start and exit.
func bareStart(args []string) time.Duration {
	var d []time.Duration
	for range 10 {
		t := time.Now()
		if err := exec.Command(args[0], args[1:]...).Run(); err != nil {
			return 0
		}
		d = append(d, time.Since(t))
	}
	return pct(d, 50)
}
