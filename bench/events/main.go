// Command events measures the Kafka triggers of the local engine: the
// delivery throughput (messages/s) of a Kafka trigger to a Go and to a
// Python function, and the latency from publish to the function's start
// (p50, p99), each against a baseline measured in the same run: the same
// function called directly through the gateway, at the same concurrency
// (throughput) or one call at a time (latency).
//
//	go run ./bench/events [-kubeless bin/kubeless] [-n 5000] [-calls 200] [-partitions 4] [-parallelism 4] [-only go,python]
//
// It starts its own daemon (`kubeless local start`) in a temporary home
// with its gateway on a free port, a Kafka-protocol broker in process
// (franz-go's kfake; -brokers or $KAFKA_BROKERS for a real one) and a
// receiver: each function posts "<n> <its start time in ns>" to the
// receiver, which keeps the first start of each message. Everything runs
// on 127.0.0.1.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/client"
)

// lang is one language's function.
type lang struct {
	name, runtime, handler, file, code string
}

var langs = []lang{
	{"go", "go1.26", "sink.Foo", "sink.go", `package kubeless

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kubeless/kubeless/pkg/functions"
)

var client = &http.Client{Timeout: 30 * time.Second}

func Foo(event functions.Event, context functions.Context) (string, error) {
	start := time.Now().UnixNano()
	var m struct {
		N int ` + "`json:\"n\"`" + `
	}
	if err := json.Unmarshal([]byte(event.Data), &m); err != nil {
		return "", err
	}
	resp, err := client.Post("http://"+os.Getenv("RECEIVER")+"/", "text/plain", strings.NewReader(fmt.Sprintf("%d %d", m.N, start)))
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return "ok", nil
}
`},
	{"python", "python3.11", "sink.foo", "sink.py", `import os, time, urllib.request


def foo(event, context):
    start = time.time_ns()
    body = "%d %d" % (event["data"]["n"], start)
    urllib.request.urlopen("http://" + os.environ["RECEIVER"] + "/", data=body.encode(), timeout=30).read()
    return "ok"
`},
}

// receiver keeps the first start time of each message number, and wakes
// the waiters as messages arrive.
type receiver struct {
	mu     sync.Mutex
	starts map[int]int64
	dups   int
	notify chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	f := strings.Fields(string(b))
	if len(f) != 2 {
		http.Error(w, "want <n> <start ns>", http.StatusBadRequest)
		return
	}
	n, err1 := strconv.Atoi(f[0])
	t, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		http.Error(w, "want <n> <start ns>", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if _, ok := r.starts[n]; ok {
		r.dups++
	} else {
		r.starts[n] = t
	}
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// waitAll waits until every message of [from, to] has arrived.
func (r *receiver) waitAll(from, to int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		missing := 0
		for i := from; i <= to; i++ {
			if _, ok := r.starts[i]; !ok {
				missing++
			}
		}
		r.mu.Unlock()
		if missing == 0 {
			return nil
		}
		select {
		case <-r.notify:
		case <-deadline:
			return fmt.Errorf("%d of messages %d..%d never arrived after %s", missing, from, to, timeout)
		}
	}
}

func (r *receiver) start(n int) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[n]
}

func main() {
	exe := flag.String("kubeless", "bin/kubeless", "the kubeless binary")
	n := flag.Int("n", 5000, "messages per throughput run")
	calls := flag.Int("calls", 200, "messages, one at a time, per latency run")
	partitions := flag.Int("partitions", 4, "partitions of the topic")
	parallelism := flag.Int("parallelism", 4, "the trigger's parallelism (messages of a partition in calls at once)")
	brokers := flag.String("brokers", os.Getenv("KAFKA_BROKERS"), "Kafka brokers (default: a kfake broker in process)")
	only := flag.String("only", "", "languages to measure, comma-separated (default all: go,python)")
	flag.Parse()
	if err := run(*exe, *n, *calls, *partitions, *parallelism, *brokers, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench/events:", err)
		os.Exit(1)
	}
}

func run(exe string, n, calls, partitions, parallelism int, brokers, only string) error {
	exe, err := filepath.Abs(exe)
	if err != nil {
		return err
	}
	if brokers == "" {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
		if err != nil {
			return err
		}
		defer c.Close()
		brokers = strings.Join(c.ListenAddrs(), ",")
	}
	rec := &receiver{starts: map[int]int64{}, notify: make(chan struct{}, 1)}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(rl, rec) }()

	home, err := os.MkdirTemp("", "kubeless-bench-events-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := append(os.Environ(), "KUBELESS_HOME="+home, "KUBELESS_GATEWAY=127.0.0.1:0", "KUBELESS_ENGINE=local", "KUBELESS_KAFKA_BROKERS="+brokers)
	kl := func(args ...string) error {
		cmd := exec.Command(exe, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kubeless %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := kl("local", "start"); err != nil {
		return err
	}
	defer func() { _ = kl("local", "stop") }()
	ctx := context.Background()
	cl := client.New(filepath.Join(home, "engine.sock"))
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	gw := "http://" + st.Gateway
	// No linger: a message is sent as soon as it is produced, so that the
	// latency is the trigger's, not the producer's batching (franz-go
	// waits 10ms by default).
	prod, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer prod.Close()

	conc := partitions * parallelism
	fmt.Printf("%d CPUs, load %s; broker %s; %d messages per throughput run, %d per latency run; topic of %d partitions, trigger parallelism %d (%d calls at once), gateway baseline at %d calls at once\n\n",
		numCPU(), loadavg(), brokers, n, calls, partitions, parallelism, conc, conc)
	fmt.Printf("| function | gateway msg/s | Kafka trigger msg/s | trigger ÷ gateway | gateway p50 | gateway p99 | trigger p50 | trigger p99 | trigger p50 − gateway p50 | duplicates |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	next := 1 // message numbers are unique over the whole run
	for _, l := range langs {
		if only != "" && !strings.Contains(","+only+",", ","+l.name+",") {
			continue
		}
		fn := "events-" + l.name
		dir, err := os.MkdirTemp(home, "src-")
		if err != nil {
			return err
		}
		src := filepath.Join(dir, l.file)
		if err := os.WriteFile(src, []byte(l.code), 0o644); err != nil {
			return err
		}
		if err := kl("function", "deploy", fn, "--runtime", l.runtime, "--handler", l.handler, "--from-file", src,
			"--env", "RECEIVER="+rl.Addr().String()); err != nil {
			return err
		}
		// Warm-up call.
		if err := post(gw, fn, next); err != nil {
			return err
		}
		next++

		// Gateway throughput: conc callers share n messages.
		from := next
		t0 := time.Now()
		if err := callAll(gw, fn, from, from+n-1, conc); err != nil {
			return err
		}
		if err := rec.waitAll(from, from+n-1, 5*time.Minute); err != nil {
			return err
		}
		gwRate := float64(n) / time.Since(t0).Seconds()
		next += n

		// Gateway latency: one call at a time, from the send to the
		// function's start.
		var gwLat []time.Duration
		for range calls {
			sent := time.Now().UnixNano()
			if err := post(gw, fn, next); err != nil {
				return err
			}
			gwLat = append(gwLat, time.Duration(rec.start(next)-sent))
			next++
		}

		// The trigger.
		topic := "bench-" + l.name
		if err := kl("topic", "create", topic, "--partitions", strconv.Itoa(partitions)); err != nil {
			return err
		}
		if err := kl("trigger", "kafka", "create", topic, "--trigger-topic", topic, "--function-name", fn,
			"--parallelism", strconv.Itoa(parallelism)); err != nil {
			return err
		}
		if err := waitReady(ctx, cl, topic); err != nil {
			return err
		}
		// A group that has committed nothing starts at the topic's end:
		// the first message delivered says the consumer has its offsets.
		if err := publish(ctx, prod, topic, next, next); err != nil {
			return err
		}
		if err := rec.waitAll(next, next, time.Minute); err != nil {
			return err
		}
		next++

		// Trigger throughput: n messages published at once, until the
		// last one started.
		from = next
		dups0 := rec.dupCount()
		t0 = time.Now()
		if err := publish(ctx, prod, topic, from, from+n-1); err != nil {
			return err
		}
		if err := rec.waitAll(from, from+n-1, 5*time.Minute); err != nil {
			return err
		}
		trRate := float64(n) / time.Since(t0).Seconds()
		next += n

		// Trigger latency: one message at a time, from the publish to the
		// function's start.
		var trLat []time.Duration
		for range calls {
			sent := time.Now().UnixNano()
			if err := publish(ctx, prod, topic, next, next); err != nil {
				return err
			}
			if err := rec.waitAll(next, next, time.Minute); err != nil {
				return err
			}
			trLat = append(trLat, time.Duration(rec.start(next)-sent))
			next++
		}
		dups := rec.dupCount() - dups0
		if err := kl("trigger", "kafka", "delete", topic); err != nil {
			return err
		}
		fmt.Printf("| %s (%s) | %.0f | %.0f | %.2f | %s | %s | %s | %s | %s | %d |\n", l.name, l.runtime, gwRate, trRate, trRate/gwRate,
			ms(pct(gwLat, 50)), ms(pct(gwLat, 99)), ms(pct(trLat, 50)), ms(pct(trLat, 99)), ms(pct(trLat, 50)-pct(gwLat, 50)), dups)
	}
	return nil
}

func (r *receiver) dupCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dups
}

var httpClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256}}

// post calls the function once with message i and checks it answered 200.
func post(gw, fn string, i int) error {
	resp, err := httpClient.Post(gw+"/"+fn, "application/json", bytes.NewReader(fmt.Appendf(nil, `{"n": %d}`, i)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("call %s: %s", fn, resp.Status)
	}
	return nil
}

// callAll calls the function with messages from..to, conc at a time.
func callAll(gw, fn string, from, to, conc int) error {
	work := make(chan int)
	errc := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := post(gw, fn, i); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		}()
	}
	for i := from; i <= to; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// publish publishes the messages {"n": i} for i in from..to and waits for
// the broker's acknowledgements.
func publish(ctx context.Context, cl *kgo.Client, topic string, from, to int) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := from; i <= to; i++ {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"n": %d}`, i)}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				first = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// waitReady waits until the Kafka trigger is Ready.
func waitReady(ctx context.Context, cl *client.Client, name string) error {
	tc := backend.TriggersOf[v1beta1.KafkaTrigger](cl)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		t, err := tc.Get(ctx, "default", name)
		if err != nil {
			return err
		}
		if c := meta.FindStatusCondition(t.Status.Conditions, v1beta1.ConditionReady); c != nil && c.Status == "True" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Kafka trigger %s not Ready after 2m: %+v", name, t.Status.Conditions)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return max(1, strings.Count(string(b), "processor\t:"))
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
