// Command bench measures the runtimes against references measured in the
// same run, so results are ratios that hold on any machine: a bare Go
// net/http server (the ceiling of the Go host here) and a bare
// standard-library server of each language.
//
// Workloads: hello world (GET) and a 1 KiB JSON echo (POST), each with wrk
// at 64 connections. Reported: requests/s, p50, p99, idle memory (PSS) of
// the whole process tree, and the ratios.
//
//	go run ./bench [-d 5s] [-c 64] [-only go,python]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubeless/kubeless/internal/proctree"

	"github.com/kubeless/kubeless/pkg/contract"
)

type target struct {
	name    string
	group   string // language whose bare server is the second reference
	ref     bool   // a reference server
	cmd     []string
	env     []string
	needs   string // a tool that must be on PATH
	handler string // FUNC_HANDLER for hello ("" for references)
	echo    string // FUNC_HANDLER for the echo workload
}

// pin runs the servers on CPU 0 and wrk on CPU 1.
var pin bool

type result struct {
	t           target
	p50c1       time.Duration // p50 at one connection: the cost of one call, without queueing
	rps, echoRP float64
	p50, p99    time.Duration
	ep50, ep99  time.Duration
	rssIdle     float64 // MiB
	err         error
}

func main() {
	dur := flag.Duration("d", 5*time.Second, "duration of each wrk run")
	conns := flag.Int("c", 64, "connections")
	only := flag.String("only", "", "comma-separated groups to run (go,python,nodejs,ruby,php)")
	out := flag.String("o", "bench/results/latest.md", "markdown report")
	flag.BoolVar(&pin, "pin", numCPU() >= 2, "run the servers on CPU 0 and wrk on CPU 1 (taskset), so that they do not compete for a core")
	flag.Parse()
	if _, err := exec.LookPath("wrk"); err != nil {
		fatal("wrk is not installed: apt-get install wrk")
	}
	root, _ := os.Getwd()
	bin, err := os.MkdirTemp("", "kubeless-bench-")
	if err != nil {
		fatal(err.Error())
	}
	defer os.RemoveAll(bin)
	for _, b := range []string{"kubeless", "kubeless-host"} {
		run("go", "build", "-o", filepath.Join(bin, b), "./cmd/"+b)
	}
	run("go", "build", "-o", filepath.Join(bin, "bare"), "./bench/bare")
	run("go", "build", "-o", filepath.Join(bin, "frameworker"), "./bench/frameworker")
	fx := filepath.Join(root, "internal/conformance/fixtures")
	k := filepath.Join(bin, "kubeless")
	targets := []target{
		{name: "bare Go net/http", group: "go", ref: true, cmd: []string{filepath.Join(bin, "bare")}},
		{name: "host → Go frames worker", group: "go", cmd: []string{filepath.Join(bin, "kubeless-host")},
			env: []string{contract.EnvFuncProcess + "=" + filepath.Join(bin, "frameworker"), contract.EnvWorkers + "=2", contract.EnvWorkerConcurrency + "=64"}, handler: "hello", echo: "echo"},
		{name: "host → bare Go (http mode)", group: "go", cmd: []string{filepath.Join(bin, "kubeless-host")},
			env: []string{contract.EnvFuncProcess + "=" + filepath.Join(bin, "bare"), contract.EnvWorkerMode + "=http", contract.EnvWorkerConcurrency + "=256"}, handler: "hello", echo: "echo"},
		{name: "Go runtime (go1.26)", group: "go", cmd: []string{k, "runtime", "run", "go1.26"},
			env: []string{contract.EnvInstallVolume + "=" + filepath.Join(fx, "go")}, handler: "Hello", echo: "Echo", needs: "go"},

		{name: "bare Python ThreadingHTTPServer", group: "python", ref: true, cmd: []string{"python3", filepath.Join(root, "bench/bare/bare.py")}, needs: "python3"},
		{name: "Python runtime (python3.11)", group: "python", cmd: []string{k, "runtime", "run", "python3.11"},
			env: []string{contract.EnvInstallVolume + "=" + filepath.Join(fx, "python")}, handler: "hello", echo: "echo", needs: "python3"},
		{name: "bare Node.js http", group: "nodejs", ref: true, cmd: []string{"node", filepath.Join(root, "bench/bare/bare.js")}, needs: "node"},
		{name: "Node.js runtime (nodejs20)", group: "nodejs", cmd: []string{k, "runtime", "run", "nodejs20"},
			env: []string{contract.EnvInstallVolume + "=" + filepath.Join(fx, "nodejs")}, handler: "hello", echo: "echo", needs: "node"},
		{name: "bare Ruby TCPServer", group: "ruby", ref: true, cmd: []string{"ruby", filepath.Join(root, "bench/bare/bare.rb")}, needs: "ruby"},
		{name: "Ruby runtime (ruby3.1)", group: "ruby", cmd: []string{k, "runtime", "run", "ruby3.1"},
			env: []string{contract.EnvInstallVolume + "=" + filepath.Join(fx, "ruby")}, handler: "hello", echo: "echo", needs: "ruby"},
		{name: "bare PHP php -S (8 workers)", group: "php", ref: true, cmd: []string{"php", "-S", "127.0.0.1:{port}", filepath.Join(root, "bench/bare/bare.php")},
			env: []string{"PHP_CLI_SERVER_WORKERS=8"}, needs: "php"},
		{name: "PHP runtime (php8.2)", group: "php", cmd: []string{k, "runtime", "run", "php8.2"},
			env: []string{contract.EnvInstallVolume + "=" + filepath.Join(fx, "php")}, handler: "hello", echo: "echo", needs: "php"},
	}
	want := map[string]bool{}
	for _, g := range strings.Split(*only, ",") {
		if g != "" {
			want[g] = true
		}
	}
	body := bytes.Repeat([]byte(`{"k":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},`), 15)
	payload := append(append([]byte(`{"items":[`), body[:len(body)-1]...), []byte(`],"end":true}`)...)
	lua := filepath.Join(bin, "post.lua")
	os.WriteFile(lua, []byte(fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", payload)), 0o644)

	var results []result
	for _, t := range targets {
		if len(want) > 0 && !want[t.group] && t.group != "go" {
			continue
		}
		if len(want) > 0 && !want[t.group] && !t.ref {
			continue
		}
		if t.needs != "" {
			if _, err := exec.LookPath(t.needs); err != nil {
				fmt.Fprintf(os.Stderr, "skip %s: %s not installed\n", t.name, t.needs)
				continue
			}
		}
		fmt.Fprintf(os.Stderr, "measuring %s …\n", t.name)
		results = append(results, measure(t, *dur, *conns, lua))
	}
	report := render(results, len(payload), *conns, *dur)
	fmt.Print(report)
	if *out != "" {
		os.MkdirAll(filepath.Dir(*out), 0o755)
		os.WriteFile(*out, []byte(report), 0o644)
	}
}

func measure(t target, dur time.Duration, conns int, lua string) result {
	r := result{t: t}
	hello, stop, pid, err := start(t, t.handler)
	if err != nil {
		r.err = err
		return r
	}
	time.Sleep(300 * time.Millisecond)
	r.rssIdle = proctree.PSS(pid)
	wrk(hello, 1*time.Second, conns, "") // warm up
	r.rps, r.p50, r.p99, r.err = wrk(hello, dur, conns, "")
	if r.err == nil {
		_, r.p50c1, _, _ = wrk(hello, 2*time.Second, 1, "")
	}
	stop()
	if r.err != nil {
		return r
	}
	echoURL, stop, _, err := start(t, t.echo)
	if err != nil {
		r.err = err
		return r
	}
	defer stop()
	wrk(echoURL, time.Second, conns, lua)
	r.echoRP, r.ep50, r.ep99, r.err = wrk(echoURL, dur, conns, lua)
	return r
}

// phpPortRe finds the port php -S bound in its start line.
var phpPortRe = regexp.MustCompile(`Development Server \(http://127\.0\.0\.1:(\d+)\) started`)

// start starts target t. Its port is bound once: a target that reads
// {port} from its command line (php -S) binds port 0 itself and its start
// line gives the port; every other one serves a socket bound here and
// handed over as KUBELESS_LISTEN_FD=3, as the local engine does. A port
// chosen, released and bound later could be taken in between by any other
// process of the machine.
func start(t target, handler string) (string, func(), int, error) {
	byArg := false
	for _, a := range t.cmd {
		byArg = byArg || strings.Contains(a, "{port}")
	}
	port := ""
	var sock *os.File
	if !byArg {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, 0, err
		}
		port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		sock, err = ln.(*net.TCPListener).File()
		ln.Close() // sock is a copy of the socket
		if err != nil {
			return "", nil, 0, err
		}
		defer sock.Close() // the target has its own once started
	}
	args := make([]string, len(t.cmd))
	for i, a := range t.cmd {
		args[i] = strings.ReplaceAll(a, "{port}", "0")
	}
	if pin {
		args = append([]string{"taskset", "-c", "0"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), contract.EnvListenAddress+"=127.0.0.1", contract.EnvModName+"=fixtures", contract.EnvFuncHandler+"="+handler)
	if sock != nil {
		cmd.Env = append(cmd.Env, contract.EnvFuncPort+"="+port, contract.EnvListenFD+"=3")
		cmd.ExtraFiles = []*os.File{sock}
	}
	cmd.Env = append(cmd.Env, t.env...)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return "", nil, 0, err
	}
	defer devnull.Close()
	cmd.Stdout = devnull // the request log, written by the target itself
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, 0, err
	}
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if port == "" {
			if m := phpPortRe.FindStringSubmatch(stderr.String()); m != nil {
				port = m[1]
			} else {
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		url := "http://127.0.0.1:" + port + "/"
		probe := url + "healthz"
		if t.ref {
			probe = url
		}
		if resp, err := http.Get(probe); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url, stop, cmd.Process.Pid, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, 0, fmt.Errorf("%s did not start: %s", t.name, strings.TrimSpace(stderr.String()))
}

// lockedBuffer is a bytes.Buffer that a command writes while start reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	rpsRe = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	latRe = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
)

func wrk(url string, d time.Duration, conns int, lua string) (float64, time.Duration, time.Duration, error) {
	threads := "-t2"
	if conns < 2 || pin {
		threads = "-t1"
	}
	args := []string{threads, "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
	if lua != "" {
		args = append(args, "-s", lua)
	}
	args = append(args, url)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	name := "wrk"
	if pin {
		name, args = "taskset", append([]string{"-c", "1", "wrk"}, args...)
	}
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("wrk: %v: %s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "Non-2xx") {
		return 0, 0, 0, fmt.Errorf("non-2xx answers: %s", s)
	}
	m := rpsRe.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("cannot read wrk output: %s", s)
	}
	rps, _ := strconv.ParseFloat(m[1], 64)
	var p50, p99 time.Duration
	for _, l := range latRe.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(l[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[l[3]]
		d := time.Duration(v * float64(unit))
		if l[1] == "50" {
			p50 = d
		} else {
			p99 = d
		}
	}
	return rps, p50, p99, nil
}

func render(rs []result, payload, conns int, d time.Duration) string {
	var b strings.Builder
	host, _ := os.Hostname()
	placement := "servers and wrk share the CPUs"
	if pin {
		placement = "servers (with all their processes) pinned to CPU 0, wrk to CPU 1"
	}
	fmt.Fprintf(&b, "# Benchmark %s\n\nwrk -c%d -d%s on %s (%d CPUs), %s; echo body %d bytes of JSON.\n\n",
		time.Now().UTC().Format(time.RFC3339), conns, d, host, numCPU(), placement, payload)
	fmt.Fprintf(&b, "| target | hello req/s | p50 | p99 | × bare Go | × bare lang | echo req/s | p50 | p99 | × bare Go | idle PSS MiB | PSS − bare lang | p50 at 1 conn |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var goRef *result
	refs := map[string]*result{}
	for i := range rs {
		if rs[i].t.ref {
			refs[rs[i].t.group] = &rs[i]
			if rs[i].t.group == "go" {
				goRef = &rs[i]
			}
		}
	}
	ratio := func(a, b float64) string {
		if b == 0 || a == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", a/b)
	}
	for _, r := range rs {
		if r.err != nil {
			fmt.Fprintf(&b, "| %s | error: %s |\n", r.t.name, strings.ReplaceAll(oneLine(r.err.Error()), "|", "/"))
			continue
		}
		gh, ge, lang, rssDelta := "–", "–", "–", "–"
		if goRef != nil && goRef.err == nil {
			gh, ge = ratio(r.rps, goRef.rps), ratio(r.echoRP, goRef.echoRP)
		}
		if ref := refs[r.t.group]; ref != nil && ref.err == nil && !r.t.ref {
			lang = ratio(r.rps, ref.rps)
			rssDelta = fmt.Sprintf("%+.1f", r.rssIdle-ref.rssIdle)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s | %.0f | %s | %s | %s | %.1f | %s | %s |\n",
			r.t.name, r.rps, ms(r.p50), ms(r.p99), gh, lang, r.echoRP, ms(r.ep50), ms(r.ep99), ge, r.rssIdle, rssDelta, ms(r.p50c1))
	}
	if goRef != nil && goRef.err == nil {
		for _, r := range rs {
			if r.t.name == "host → Go frames worker" && r.err == nil {
				fmt.Fprintf(&b, "\nHost hop at p50, one connection (host → Go frames worker minus bare Go): %s; at %d connections: %s.\n",
					ms(r.p50c1-goRef.p50c1), conns, ms(r.p50-goRef.p50))
			}
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return bytes.Count(b, []byte("processor\t:"))
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fatal(fmt.Sprintf("%s %s: %v", name, strings.Join(args, " "), err))
	}
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "bench: "+msg)
	os.Exit(1)
}
