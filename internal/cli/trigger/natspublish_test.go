package trigger

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

// busEngine is an engine whose status names an event bus.
type busEngine struct {
	backend.Engine
	bus string
}

func (e busEngine) Status(context.Context) (*backend.Status, error) {
	return &backend.Status{EventBus: e.bus}, nil
}

func TestNewCmdNATSPublish(t *testing.T) {
	t.Setenv("KUBELESS_NATS_URL", "")
	local := func(context.Context) (backend.Engine, error) { return busEngine{}, nil }
	tests := []struct {
		name     string
		cli      string
		engine   cmdutil.EngineFunc
		onKube   bool
		want     NATSPublishOptions
		wantErr  string
		wantFlag bool
	}{
		{name: "url", cli: "--url nats://h:4222 --topic t --message m", want: NATSPublishOptions{URL: "nats://h:4222", Topic: "t", Message: "m"}},
		{name: "no url, local engine: its bus", cli: "--topic t --message m", engine: local, want: NATSPublishOptions{Topic: "t", Message: "m"}},
		{name: "no url, no engine", cli: "--topic t", wantErr: "--url is required: the NATS server, for example --url nats://127.0.0.1:4222", wantFlag: true},
		{name: "no url, Kubernetes", cli: "--topic t", engine: local, onKube: true,
			wantErr: "--url is required: the NATS server, for example --url nats://127.0.0.1:4222", wantFlag: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, Engine: tt.engine, OnKubernetes: func() bool { return tt.onKube }}
			var got *NATSPublishOptions
			cmd := NewCmdNATSPublish(f, func(o *NATSPublishOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetOut(&strings.Builder{})
			cmd.SetErr(&strings.Builder{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				var fe *cmdutil.FlagError
				if err == nil || err.Error() != tt.wantErr || errors.As(err, &fe) != tt.wantFlag {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tt.want.URL || got.Topic != tt.want.Topic || got.Message != tt.want.Message {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// With no --url, publish sends to the local engine's event bus.
func TestNATSPublishRunToEventBus(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats server not ready")
	}
	defer s.Shutdown()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("greet")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Engine: func(context.Context) (backend.Engine, error) { return busEngine{bus: s.ClientURL()}, nil }}
	o := &NATSPublishOptions{IO: ios, EventBus: f.EventBus, Topic: "greet", Message: `{"n":7}`}
	if err := natsPublishRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(30 * time.Second)
	if err != nil || string(m.Data) != `{"n":7}` {
		t.Fatalf("got %v, %v", m, err)
	}
	// An engine with no bus.
	f.Engine = func(context.Context) (backend.Engine, error) { return busEngine{}, nil }
	err = natsPublishRun(context.Background(), o)
	if want := "no NATS server: give --url nats://host:port: the engine in use has no event bus"; err == nil || err.Error() != want {
		t.Errorf("no bus: %v, want %q", err, want)
	}
}
