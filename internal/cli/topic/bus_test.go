package topic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// statusEngine is an engine whose status names an event bus.
type statusEngine struct {
	backend.Engine
	bus string
}

func (e statusEngine) Status(context.Context) (*backend.Status, error) {
	return &backend.Status{EventBus: e.bus}, nil
}

// natsServer starts an in-process NATS server for the test.
func natsServer(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

func runWith(t *testing.T, f *cmdutil.Factory, args ...string) error {
	t.Helper()
	cmd := NewCmdTopic(f)
	cmd.SetArgs(args)
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	return cmd.Execute()
}

// With no Kafka broker, publish sends to the local engine's event bus, on
// the subject named like the topic.
func TestPublishToEventBus(t *testing.T) {
	t.Setenv(EnvBrokers, "")
	url := natsServer(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("orders")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Engine: func(context.Context) (backend.Engine, error) { return statusEngine{bus: url}, nil }}
	if err := runWith(t, f, "publish", "--topic", "orders", "--data", `{"id":1}`); err != nil {
		t.Fatalf("publish: %v", err)
	}
	m, err := sub.NextMsg(30 * time.Second)
	if err != nil {
		t.Fatalf("the message never arrived: %v", err)
	}
	if string(m.Data) != `{"id":1}` {
		t.Errorf("got %q", m.Data)
	}

	// An engine with no bus: the error says to give a broker.
	f.Engine = func(context.Context) (backend.Engine, error) { return statusEngine{}, nil }
	err = runWith(t, f, "publish", "--topic", "orders", "--data", "x")
	if want := "no Kafka broker and no event bus: give --brokers host:port or set KUBELESS_KAFKA_BROKERS: the engine in use has no event bus"; err == nil || err.Error() != want {
		t.Errorf("no bus: %v, want %q", err, want)
	}
	// On Kubernetes, no broker is a flag error as before.
	f.OnKubernetes = func() bool { return true }
	err = runWith(t, f, "publish", "--topic", "orders", "--data", "x")
	var fe *cmdutil.FlagError
	if err == nil || !errors.As(err, &fe) || err.Error() != "no Kafka broker: give --brokers host:port or set KUBELESS_KAFKA_BROKERS" {
		t.Errorf("on Kubernetes: %v", err)
	}
}
