package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/events"
)

// busPort is the port of a nats://host:port URL.
func busPort(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "nats" || p.Hostname() != "127.0.0.1" || p.Port() == "" {
		t.Fatalf("event bus %q, want nats://127.0.0.1:<port> (%v)", u, err)
	}
	return p.Port()
}

// publishNATS publishes data to subject on the server at u.
func publishNATS(t *testing.T, u, subject, data string) {
	t.Helper()
	nc, err := natsConnect(u)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish(subject, []byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// The engine embeds a NATS server on 127.0.0.1 as its event bus: the
// status names it, a NATS trigger with no URL delivers what is published on
// it, and the port, recorded in the state, is the same after a restart.
func TestEmbeddedEventBus(t *testing.T) {
	t.Setenv(EnvNATSURL, "")
	home := t.TempDir()
	e, stop := newTestEngine(t, home)
	ctx := context.Background()
	st, err := e.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	port := busPort(t, st.EventBus)
	rec, err := e.store.Get(busKey)
	if err != nil {
		t.Fatalf("bus port not recorded: %v", err)
	}
	if want := `{"port":` + port + `}`; string(rec) != want {
		t.Errorf("recorded %s, want %s", rec, want)
	}
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	nt := backend.TriggersOf[v1beta1.NATSTrigger](e)
	if _, err := nt.Create(ctx, &v1beta1.NATSTrigger{ObjectMeta: metav1.ObjectMeta{Name: "n"},
		Spec: v1beta1.NATSTriggerSpec{Topic: "greet", FunctionName: "hello"}}); err != nil {
		t.Fatalf("a NATS trigger with no URL: %v", err)
	}
	cond := waitTrigger(t, e, v1beta1.NATSTriggerKind, "n", v1beta1.ReasonReady)
	if !strings.Contains(cond.Message, "delivers greet to hello") {
		t.Errorf("Ready message %q", cond.Message)
	}
	publishNATS(t, st.EventBus, "greet", `{"hi":1}`)
	waitDelivered(t, e, "NATSTrigger", "n", "hello", 1)
	stop()

	// The bus is gone with the engine; the next one listens on the same
	// port, and the stored trigger delivers again.
	if nc, err := natsConnect(st.EventBus); err == nil {
		nc.Close()
		t.Errorf("the event bus still answers after the engine stopped")
	}
	e2, _ := newTestEngine(t, home)
	st2, err := e2.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st2.EventBus != st.EventBus {
		t.Errorf("event bus after a restart: %s, want %s", st2.EventBus, st.EventBus)
	}
	waitReason(t, e2, "hello", reasonReady)
	waitTrigger(t, e2, v1beta1.NATSTriggerKind, "n", v1beta1.ReasonReady)
	publishNATS(t, st2.EventBus, "greet", `{"hi":2}`)
	waitDelivered(t, e2, "NATSTrigger", "n", "hello", 1)
}

// A recorded port that another process took: the engine takes a free one
// and records it.
func TestEmbeddedEventBusPortTaken(t *testing.T) {
	t.Setenv(EnvNATSURL, "")
	home := t.TempDir()
	e, stop := newTestEngine(t, home)
	st, _ := e.Status(context.Background())
	old := busPort(t, st.EventBus)
	stop()
	l, err := net.Listen("tcp", "127.0.0.1:"+old)
	if err != nil {
		t.Fatalf("take the bus's port: %v", err)
	}
	defer l.Close()
	e2, _ := newTestEngine(t, home)
	st2, _ := e2.Status(context.Background())
	if port := busPort(t, st2.EventBus); port == old {
		t.Errorf("the engine's bus is on the taken port %s", port)
	}
	rec, _ := e2.store.Get(busKey)
	if want := `{"port":` + busPort(t, st2.EventBus) + `}`; string(rec) != want {
		t.Errorf("recorded %s, want %s", rec, want)
	}
}

// $KUBELESS_NATS_URL names an outside server: no NATS server is embedded,
// and the triggers with no URL use the outside one.
func TestOutsideEventBus(t *testing.T) {
	srv, err := events.StartNATSServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	t.Setenv(EnvNATSURL, srv.URL())
	home := t.TempDir()
	e, _ := newTestEngine(t, home)
	ctx := context.Background()
	st, _ := e.Status(ctx)
	if st.EventBus != srv.URL() {
		t.Errorf("event bus %q, want the outside %q", st.EventBus, srv.URL())
	}
	if _, err := e.store.Get(busKey); err == nil {
		t.Errorf("a bus port recorded though none is embedded")
	}
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	nt := backend.TriggersOf[v1beta1.NATSTrigger](e)
	if _, err := nt.Create(ctx, &v1beta1.NATSTrigger{ObjectMeta: metav1.ObjectMeta{Name: "n"},
		Spec: v1beta1.NATSTriggerSpec{Topic: "greet", FunctionName: "hello"}}); err != nil {
		t.Fatal(err)
	}
	waitTrigger(t, e, v1beta1.NATSTriggerKind, "n", v1beta1.ReasonReady)
	publishNATS(t, srv.URL(), "greet", `{"hi":1}`)
	waitDelivered(t, e, "NATSTrigger", "n", "hello", 1)
}

// waitCounted waits until c counts n.
func waitCounted(t *testing.T, c prometheus.Counter, n float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for testutil.ToFloat64(c) < n {
		if time.Now().After(deadline) {
			t.Fatalf("counted %v, want %v", testutil.ToFloat64(c), n)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// getMetrics reads /metrics through c from base.
func getMetrics(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s: %s", resp.Status, b)
	}
	return string(b)
}

// The daemon serves the event triggers' metrics at /metrics on its API
// socket, and on KUBELESS_METRICS_ADDR: a delivery is counted there.
func TestEventMetricsServed(t *testing.T) {
	t.Setenv(EnvNATSURL, "")
	t.Setenv(EnvMetricsAddr, "127.0.0.1:0")
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.Deploy(ctx, testFunction("hello", "v1")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "hello", reasonReady)
	nt := backend.TriggersOf[v1beta1.NATSTrigger](e)
	if _, err := nt.Create(ctx, &v1beta1.NATSTrigger{ObjectMeta: metav1.ObjectMeta{Name: "m"},
		Spec: v1beta1.NATSTriggerSpec{Topic: "count", FunctionName: "hello"}}); err != nil {
		t.Fatal(err)
	}
	waitTrigger(t, e, v1beta1.NATSTriggerKind, "m", v1beta1.ReasonReady)
	for i := range 3 {
		publishNATS(t, e.EventBus(), "count", fmt.Sprintf(`{"i":%d}`, i))
	}
	waitDelivered(t, e, "NATSTrigger", "m", "hello", 3)
	// A function that answers 500: its message is called twice (one
	// retry), then given up.
	if _, err := e.Deploy(ctx, testFunction("bad", "answer500")); err != nil {
		t.Fatal(err)
	}
	waitReason(t, e, "bad", reasonReady)
	one := int32(1)
	if _, err := nt.Create(ctx, &v1beta1.NATSTrigger{ObjectMeta: metav1.ObjectMeta{Name: "f"},
		Spec: v1beta1.NATSTriggerSpec{Topic: "fail", FunctionName: "bad",
			EventDelivery: v1beta1.EventDelivery{MaxRetries: &one, RetryBackoff: "1ms"}}}); err != nil {
		t.Fatal(err)
	}
	waitTrigger(t, e, v1beta1.NATSTriggerKind, "f", v1beta1.ReasonReady)
	publishNATS(t, e.EventBus(), "fail", `{"i":0}`)
	waitCounted(t, e.eventMetrics.DeadLettered.WithLabelValues("NATSTrigger", "default", "f", "bad"), 1)

	sock := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", e.Socket())
	}}}
	labels := `{function="hello",kind="NATSTrigger",namespace="default",trigger="m"}`
	bad := `{function="bad",kind="NATSTrigger",namespace="default",trigger="f"}`
	for _, src := range []struct {
		name string
		c    *http.Client
		base string
	}{
		{"API socket", sock, "http://kubeless"},
		{EnvMetricsAddr, http.DefaultClient, "http://" + e.MetricsAddr()},
	} {
		body := getMetrics(t, src.c, src.base)
		for _, want := range []string{
			"kubeless_event_messages_received_total" + labels + " 3",
			"kubeless_event_messages_delivered_total" + labels + " 3",
			"kubeless_event_calls_failed_total" + labels + " 0",
			"kubeless_event_calls_retried_total" + labels + " 0",
			"kubeless_event_messages_dead_lettered_total" + labels + " 0",
			"kubeless_event_messages_received_total" + bad + " 1",
			"kubeless_event_messages_delivered_total" + bad + " 0",
			"kubeless_event_calls_failed_total" + bad + " 2",
			"kubeless_event_calls_retried_total" + bad + " 1",
			"kubeless_event_messages_dead_lettered_total" + bad + " 1",
			"go_goroutines ",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: /metrics has no %q", src.name, want)
			}
		}
	}
	// The API's own routes are still served on the socket.
	resp, err := sock.Get("http://kubeless/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st backend.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.EventBus != e.EventBus() {
		t.Errorf("status over the socket: %+v, %v", st, err)
	}
}
