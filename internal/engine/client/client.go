// Package client is the typed Go client of the local engine's API
// (internal/engine/api), spoken over the engine's Unix socket. The CLI
// reaches the engine only through it.
//
// Error bodies come back as *backend.Error (test with IsNotFound,
// IsAlreadyExists, IsInvalid); a socket that nobody answers gives a
// *NotRunningError.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// Client talks to one engine.
type Client struct {
	// Socket is the engine's Unix socket (KUBELESS_HOME/engine.sock).
	Socket string
	hc     *http.Client
}

var _ backend.Engine = (*Client)(nil)

// New returns a client of the engine listening on socket.
func New(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
	}
	return &Client{Socket: socket, hc: &http.Client{Transport: tr}}
}

// NotRunningError says that no engine answers on the socket.
type NotRunningError struct {
	Socket string
	Err    error
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("the local engine is not running (nothing answers on %s): start it with kubeless local start", e.Socket)
}

func (e *NotRunningError) Unwrap() error { return e.Err }

// IsNotRunning reports whether err is a *NotRunningError.
func IsNotRunning(err error) bool {
	var e *NotRunningError
	return errors.As(err, &e)
}

// IsNotFound reports whether err is an API error with code NotFound.
func IsNotFound(err error) bool { return backend.CodeOf(err) == backend.CodeNotFound }

// IsAlreadyExists reports whether err is an API error with code AlreadyExists.
func IsAlreadyExists(err error) bool { return backend.CodeOf(err) == backend.CodeAlreadyExists }

// IsInvalid reports whether err is an API error with code Invalid.
func IsInvalid(err error) bool { return backend.CodeOf(err) == backend.CodeInvalid }

func (c *Client) do(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	u := "http://kubeless-engine" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &NotRunningError{Socket: c.Socket, Err: err}
		}
		// A daemon killed while the connection was being accepted resets it
		// (or closes it under our write: EPIPE);
		// for a read that changes nothing, that is an engine not running.
		// net/http reports a connection closed before the answer as "server
		// closed idle connection" (an unexported error) when it was quick
		// enough.
		if method == http.MethodGet && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			strings.Contains(err.Error(), "server closed idle connection")) {
			return nil, &NotRunningError{Socket: c.Socket, Err: err}
		}
		return nil, fmt.Errorf("local engine: %w", err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e backend.Error
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return nil, &e
		}
		return nil, &backend.Error{Code: backend.CodeInternal, Message: fmt.Sprintf("local engine answered %s: %s", resp.Status, bytes.TrimSpace(b))}
	}
	return resp, nil
}

func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.do(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("local engine: decode answer to %s %s: %w", method, path, err)
	}
	return nil
}

func fnPath(ns, name string) string {
	if ns == "" {
		ns = "default"
	}
	return "/v1/functions/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
}

// Status returns the engine's status.
func (c *Client) Status(ctx context.Context) (*backend.Status, error) {
	var st backend.Status
	if err := c.doJSON(ctx, http.MethodGet, "/v1/status", nil, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Deploy creates a function.
func (c *Client) Deploy(ctx context.Context, fn *v1beta1.Function) (*v1beta1.Function, error) {
	var out v1beta1.Function
	if err := c.doJSON(ctx, http.MethodPost, "/v1/functions", nil, fn, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update merges fn's non-empty fields into the stored function.
func (c *Client) Update(ctx context.Context, fn *v1beta1.Function) (*v1beta1.Function, error) {
	var out v1beta1.Function
	if err := c.doJSON(ctx, http.MethodPut, fnPath(fn.Namespace, fn.Name), nil, fn, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes a function and stops its instances.
func (c *Client) Delete(ctx context.Context, namespace, name string) error {
	return c.doJSON(ctx, http.MethodDelete, fnPath(namespace, name), nil, nil, nil)
}

// Get returns a function.
func (c *Client) Get(ctx context.Context, namespace, name string) (*v1beta1.Function, error) {
	var out v1beta1.Function
	if err := c.doJSON(ctx, http.MethodGet, fnPath(namespace, name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List lists the functions of namespace ("" for all).
func (c *Client) List(ctx context.Context, namespace string) ([]v1beta1.Function, error) {
	var q url.Values
	if namespace != "" {
		q = url.Values{"namespace": {namespace}}
	}
	var out []v1beta1.Function
	if err := c.doJSON(ctx, http.MethodGet, "/v1/functions", q, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Logs calls line for each line of the function's logs until they end (or,
// with Follow, until ctx ends, which is not an error).
func (c *Client) Logs(ctx context.Context, namespace, name string, opts backend.LogOptions, line func(string)) error {
	q := url.Values{"tail": {strconv.Itoa(opts.Tail)}}
	if opts.Follow {
		q.Set("follow", "1")
	}
	resp, err := c.do(ctx, http.MethodGet, fnPath(namespace, name)+"/logs", q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line(sc.Text())
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("local engine: read logs: %w", err)
	}
	return nil
}

// gatewayClient calls functions through the gateway, never through a proxy
// of the environment.
var gatewayClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

// Call sends req to the function through the engine's gateway
// (http://GATEWAY/[NAMESPACE/]NAME/PATH, the namespace left out for
// "default") and returns its answer, whatever its status.
func (c *Client) Call(ctx context.Context, namespace, name string, req *backend.CallRequest) (*backend.CallResponse, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	p := "/" + url.PathEscape(name)
	if namespace != "" && namespace != "default" {
		p = "/" + url.PathEscape(namespace) + p
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), "http://"+st.Gateway+p+req.Path, body)
	if err != nil {
		return nil, fmt.Errorf("call function %s: %w", name, err)
	}
	for k, vs := range req.Header {
		hr.Header[k] = append([]string(nil), vs...)
	}
	resp, err := gatewayClient.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("call function %s: %w", name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, backend.MaxCallResponse))
	if err != nil {
		return nil, fmt.Errorf("call function %s: read answer: %w", name, err)
	}
	return &backend.CallResponse{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header, Body: b}, nil
}
