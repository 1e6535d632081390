package gateway

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login attempts that need a password check (every attempt but a repeat
// of credentials that already passed) are limited per client address, so
// that guessing passwords costs the daemon little CPU and other calls are
// not slowed: a client gets loginBurst checks at once, then one every
// loginEvery.
const (
	loginEvery = time.Second
	loginBurst = 10
	// maxLoginClients bounds the table of clients; when it is full, the
	// clients not seen for loginForget are dropped.
	maxLoginClients = 4096
	loginForget     = time.Minute
)

type loginLimiter struct {
	mu      sync.Mutex
	clients map[string]*loginClient
	now     func() time.Time
}

type loginClient struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{clients: make(map[string]*loginClient), now: time.Now}
}

// allow takes one password check for the client of r and reports whether
// it may run; when it may not, wait says for how long it should wait.
func (l *loginLimiter) allow(r *http.Request) (ok bool, wait time.Duration) {
	client := r.RemoteAddr
	if h, _, err := net.SplitHostPort(client); err == nil {
		client = h
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[client]
	if c == nil {
		if len(l.clients) >= maxLoginClients {
			for k, old := range l.clients {
				if now.Sub(old.seen) > loginForget {
					delete(l.clients, k)
				}
			}
		}
		c = &loginClient{lim: rate.NewLimiter(rate.Every(loginEvery), loginBurst)}
		if len(l.clients) < maxLoginClients {
			l.clients[client] = c
		}
	}
	c.seen = now
	res := c.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}
