package events

import (
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSServer is an embedded NATS server: the local engine's event bus, so
// that NATS triggers and `kubeless topic publish` work with no broker
// installed.
type NATSServer struct{ s *server.Server }

// StartNATSServer starts a NATS server listening on host:port (port 0: a
// free one) and returns once it accepts connections.
func StartNATSServer(host string, port int) (*NATSServer, error) {
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{Host: host, Port: port, NoLog: true, NoSigs: true, ServerName: "kubeless"})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded NATS server: not listening on %s:%d after 30s", host, port)
	}
	return &NATSServer{s: s}, nil
}

// URL is the server's client URL, nats://host:port.
func (n *NATSServer) URL() string { return n.s.ClientURL() }

// Shutdown stops the server and waits for it.
func (n *NATSServer) Shutdown() {
	n.s.Shutdown()
	n.s.WaitForShutdown()
}

// Port is the port the server listens on.
func (n *NATSServer) Port() int { return n.s.Addr().(*net.TCPAddr).Port }
