package api

import (
	"os"
	"path/filepath"
)

// Names shared by the engine and its clients.
const (
	// EnvHome overrides the engine's home folder.
	EnvHome = "KUBELESS_HOME"
	// EnvGateway overrides the gateway's listen address.
	EnvGateway = "KUBELESS_GATEWAY"
	// DefaultGateway is the gateway's default listen address.
	DefaultGateway = "127.0.0.1:8080"
	// SocketName is the API socket's file name in the home folder.
	SocketName = "engine.sock"
	// LogName is the daemon's log file name in the home folder.
	LogName = "engine.log"
)

// DefaultHome returns $KUBELESS_HOME made absolute, or ~/.kubeless. A
// relative home is resolved against the working directory here, once: the
// daemon runs in its home, where the same relative name would be another
// folder (with a lock and a socket of its own).
func DefaultHome() string {
	if h := os.Getenv(EnvHome); h != "" {
		if abs, err := filepath.Abs(h); err == nil {
			return abs
		}
		return h
	}
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".kubeless")
	}
	return filepath.Join(os.TempDir(), "kubeless")
}

// DefaultGatewayAddr returns $KUBELESS_GATEWAY, or DefaultGateway.
func DefaultGatewayAddr() string {
	if a := os.Getenv(EnvGateway); a != "" {
		return a
	}
	return DefaultGateway
}

// SocketPath is the API socket of the engine whose home is home.
func SocketPath(home string) string { return filepath.Join(home, SocketName) }
