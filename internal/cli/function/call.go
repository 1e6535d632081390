package function

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// MsgRequestTimeout is the original's message for a call that timed out.
const MsgRequestTimeout = "Request timeout exceeded"

// CallOptions are the flags of call.
type CallOptions struct {
	IO     *iostreams.IOStreams
	Engine EngineFunc

	Name      string
	Namespace string
	Data      string
	HasData   bool
	Method    string
	Headers   []string
	Path      string
}

// NewCmdCall returns `function call`.
func NewCmdCall(f *Factory, runF func(*CallOptions) error) *cobra.Command {
	opts := &CallOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "call <name>",
		Short: "Call a function and print its answer (local engine: through its gateway; Kubernetes: through the API server's service proxy)",
		Example: `  kubeless function call hello
  kubeless function call echo --data '{"hello": "world"}'
  kubeless function call echo --method PUT --path /items/1 --header X-Token:abc --data x`,
		Args: cmdutil.ExactArgs(1, "call: the function name is required, for example: kubeless function call hello"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.HasData = c.Flags().Changed("data")
			for _, h := range opts.Headers {
				if k, _ := splitHeader(h); k == "" {
					return cmdutil.FlagErrorf(c, "invalid --header %q: use Name:value", h)
				}
			}
			if opts.Path != "" && !strings.HasPrefix(opts.Path, "/") {
				opts.Path = "/" + opts.Path
			}
			if runF != nil {
				return runF(opts)
			}
			return callRun(c.Context(), opts)
		},
	}
	addNamespaceFlag(cmd, &opts.Namespace)
	cmd.Flags().StringVarP(&opts.Data, "data", "d", "", "Request body; a JSON value is sent as application/json")
	cmd.Flags().StringVarP(&opts.Method, "method", "X", "", "HTTP method (default GET, or POST with --data)")
	cmd.Flags().StringArrayVarP(&opts.Headers, "header", "H", nil, "Header Name:value (repeatable)")
	cmd.Flags().StringVar(&opts.Path, "path", "", "Path (and query) after the function, for example /items?x=1")
	return cmd
}

func splitHeader(h string) (string, string) {
	i := strings.IndexAny(h, ":=")
	if i < 0 {
		return "", ""
	}
	return strings.TrimSpace(h[:i]), strings.TrimSpace(h[i+1:])
}

// eventID is 11 random bytes, base64url without padding (15 characters),
// as the original CLI sent.
func eventID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func callRun(ctx context.Context, o *CallOptions) error {
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	if _, err := cl.Get(ctx, o.Namespace, o.Name); err != nil {
		if backend.IsNotFound(err) {
			return fmt.Errorf("%w: deploy it with kubeless function deploy %s", err, o.Name)
		}
		return err
	}
	resp, err := cl.Call(ctx, o.Namespace, o.Name, o.request())
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusRequestTimeout {
		return fmt.Errorf("%s", MsgRequestTimeout)
	}
	if resp.StatusCode >= 400 {
		msg := strings.TrimSpace(string(resp.Body))
		if msg == "" {
			msg = resp.Status
		}
		return fmt.Errorf("function %s answered %d: %s", o.Name, resp.StatusCode, msg)
	}
	o.IO.Out.Write(resp.Body)
	if !bytes.HasSuffix(resp.Body, []byte("\n")) {
		fmt.Fprintln(o.IO.Out)
	}
	return nil
}

// request builds the call: GET without data, POST with, or --method; the
// original's event headers; application/json when the data is any JSON
// value.
func (o *CallOptions) request() *backend.CallRequest {
	method := o.Method
	if method == "" {
		method = http.MethodGet
		if o.HasData {
			method = http.MethodPost
		}
	}
	req := &backend.CallRequest{Method: strings.ToUpper(method), Path: o.Path, Header: http.Header{}}
	if o.HasData {
		req.Body = []byte(o.Data)
	}
	req.Header.Set("event-id", eventID())
	req.Header.Set("event-time", time.Now().UTC().Format(time.RFC3339))
	req.Header.Set("event-namespace", "cli.kubeless.io")
	if o.HasData {
		ct := "application/x-www-form-urlencoded"
		if json.Valid([]byte(o.Data)) {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("event-type", ct)
	}
	for _, h := range o.Headers {
		k, v := splitHeader(h)
		req.Header.Set(k, v)
	}
	return req
}

// DeleteOptions are the flags of delete.
type DeleteOptions struct {
	IO        *iostreams.IOStreams
	Engine    EngineFunc
	Name      string
	Namespace string
}

// NewCmdDelete returns `function delete`.
func NewCmdDelete(f *Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "delete <name>",
		Short: "Delete a function, stop its instances and delete the HTTP and cron triggers that call it",
		Args:  cmdutil.ExactArgs(1, "delete: the function name is required, for example: kubeless function delete hello"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			cl, err := opts.Engine(c.Context())
			if err != nil {
				return err
			}
			return cl.Delete(c.Context(), opts.Namespace, opts.Name)
		},
	}
	addNamespaceFlag(cmd, &opts.Namespace)
	return cmd
}

// LogsOptions are the flags of logs.
type LogsOptions struct {
	IO        *iostreams.IOStreams
	Engine    EngineFunc
	Name      string
	Namespace string
	Follow    bool
	Tail      int
}

// NewCmdLogs returns `function logs`.
func NewCmdLogs(f *Factory, runF func(*LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "logs <name>",
		Short: "Print a function's output; -f follows it",
		Args:  cmdutil.ExactArgs(1, "logs: the function name is required, for example: kubeless function logs hello"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			ctx := c.Context()
			cl, err := opts.Engine(ctx)
			if err != nil {
				return err
			}
			return cl.Logs(ctx, opts.Namespace, opts.Name, backend.LogOptions{Follow: opts.Follow, Tail: opts.Tail},
				func(l string) { fmt.Fprintln(opts.IO.Out, l) })
		},
	}
	addNamespaceFlag(cmd, &opts.Namespace)
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "Keep printing new output")
	cmd.Flags().IntVar(&opts.Tail, "tail", -1, "Print only the last N lines first (-1 for all)")
	return cmd
}
