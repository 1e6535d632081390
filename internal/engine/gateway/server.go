package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Server limits: a client that sends its headers slowly, or keeps a
// connection open without using it, costs the gateway a bounded time, and
// the gateway never holds so many connections that the daemon runs out of
// file descriptors for its API socket, its instances and their logs.
const (
	// DefaultReadHeaderTimeout bounds how long a client may take to send a
	// request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout is how long a kept-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes bounds a request's headers.
	DefaultMaxHeaderBytes = 64 << 10
	// maxConnsCeiling bounds the default connection cap on machines with a
	// very high descriptor limit.
	maxConnsCeiling = 16384
)

// ServerOptions configures NewServer. The zero value uses the defaults.
type ServerOptions struct {
	// ReadHeaderTimeout, IdleTimeout: zero means the Default... value.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// MaxConns caps the connections the gateway holds at once; more wait in
	// the kernel's accept queue until one closes. Zero means
	// DefaultMaxConns().
	MaxConns int
	// Logger receives the http.Server's own errors. Nil discards them.
	Logger *slog.Logger
}

// DefaultMaxConns is half of the process's file descriptor limit (the rest
// stays for the API socket, instances, logs and the connections to
// instances), at most 16384 and at least 64.
func DefaultMaxConns() int {
	return maxConnsFor(fdLimit())
}

func maxConnsFor(limit uint64) int {
	n := limit / 2
	if n > maxConnsCeiling {
		n = maxConnsCeiling
	}
	if n < 64 {
		n = 64
	}
	return int(n)
}

// Server serves a Gateway with the limits above.
type Server struct {
	srv      *http.Server
	maxConns int
}

// NewServer returns a server for h (normally a *Gateway).
func NewServer(h http.Handler, opts ServerOptions) *Server {
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		maxConns: opts.MaxConns,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: opts.ReadHeaderTimeout,
			IdleTimeout:       opts.IdleTimeout,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
	}
}

// MaxConns is the connection cap in force.
func (s *Server) MaxConns() int { return s.maxConns }

// Serve accepts connections on l, at most MaxConns at once, until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.srv.Serve(netutil.LimitListener(smuggleListener{l}, s.maxConns))
}

// Shutdown stops accepting, closes idle connections and waits for the
// active ones until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// ExposureWarning returns a warning when addr (a listener's address) is
// reachable from other machines, and "" for a loopback address. The gateway
// has no authentication of its own: anyone who can reach it can call every
// function.
func ExposureWarning(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return ""
	}
	return "the gateway listens on " + addr.String() + ", beyond the loopback interface: other machines can call every function; " +
		"set KUBELESS_GATEWAY to 127.0.0.1:<port> to keep it local"
}
