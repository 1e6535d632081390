package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// checkHost refuses a request whose Host header names neither this gateway
// nor a trigger's host, so that a web page whose domain was made to resolve
// to this machine (DNS rebinding) cannot call functions. Accepted are:
// "localhost" and IP addresses, with the port the request came in on (none
// for port 80), and the host of any HTTP trigger, with any port. host is
// the Host header lowercased, without port. It returns "" when accepted,
// else the error message.
func (t *table) checkHost(r *http.Request, host string) string {
	if _, ok := t.byHost[host]; ok {
		return ""
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	tcp, _ := local.(*net.TCPAddr)
	if tcp == nil {
		return "" // not a TCP listener (tests with a handler alone)
	}
	port := strconv.Itoa(tcp.Port)
	if host == "localhost" || net.ParseIP(host) != nil {
		if p := hostPort(r.Host); p == port || (p == "" && port == "80") {
			return ""
		}
	}
	return fmt.Sprintf("host %q is not served by this gateway (refused: it could be a DNS rebinding attack): call localhost:%s or 127.0.0.1:%s, or give the host name to an HTTP trigger (kubeless trigger http create ... --hostname %s)",
		r.Host, port, port, host)
}

// hostPort returns the port of a Host header value, "" when it has none.
func hostPort(h string) string {
	if _, p, err := net.SplitHostPort(h); err == nil {
		return p
	}
	return ""
}
