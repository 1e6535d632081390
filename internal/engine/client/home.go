package client

import "github.com/kubeless/kubeless/internal/engine/api"

// Where the commands find the local engine (the layout is the daemon's,
// internal/engine/api).
const (
	// EnvHome overrides the engine's home folder.
	EnvHome = api.EnvHome
	// LogName is the daemon's log file name in the home folder.
	LogName = api.LogName
)

// DefaultHome returns $KUBELESS_HOME, or ~/.kubeless.
func DefaultHome() string { return api.DefaultHome() }

// ForHome returns a client of the engine whose home is home.
func ForHome(home string) *Client { return New(api.SocketPath(home)) }
