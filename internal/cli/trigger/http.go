package trigger

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// NewCmdHTTP returns the `trigger http` group.
func NewCmdHTTP(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "http <command>",
		Short: "Expose functions on a host name and path (the local gateway, or an Ingress on Kubernetes)",
	}
	cmd.AddCommand(NewCmdHTTPCreate(f, nil), NewCmdHTTPUpdate(f, nil), NewCmdHTTPDelete(f, nil), NewCmdHTTPList(f, nil))
	return cmd
}

// HTTPOptions are the flags of http create and update.
type HTTPOptions struct {
	IO     *iostreams.IOStreams
	Engine Engine
	Update bool
	// Kubernetes is true on the Kubernetes engine, where
	// --basic-auth-secret names a Secret instead of a file.
	Kubernetes bool

	Name            string
	Namespace       string
	FunctionName    string
	Path            string
	Hostname        string
	BasicAuthSecret string
	CorsEnable      bool
	Gateway         string
	DryRun          bool
	Output          string
	// TLSAcme (--enableTLSAcme) and TLSSecret (--tls-secret) are the
	// Ingress's TLS: a certificate from ACME, or one in a Secret.
	// Kubernetes engine only.
	TLSAcme   bool
	TLSSecret string
	// Changed holds the names of the flags given on the command line.
	Changed map[string]bool
}

// NewCmdHTTPCreate returns `trigger http create`.
func NewCmdHTTPCreate(f *cmdutil.Factory, runF func(*HTTPOptions) error) *cobra.Command {
	return newCmdHTTPPut(f, runF, false)
}

// NewCmdHTTPUpdate returns `trigger http update`.
func NewCmdHTTPUpdate(f *cmdutil.Factory, runF func(*HTTPOptions) error) *cobra.Command {
	return newCmdHTTPPut(f, runF, true)
}

func newCmdHTTPPut(f *cmdutil.Factory, runF func(*HTTPOptions) error, update bool) *cobra.Command {
	opts := &HTTPOptions{IO: f.IOStreams, Engine: f.Engine, Update: update}
	verb, short := "create", "Create an HTTP trigger: the gateway routes a host name and path to a function"
	example := `  kubeless trigger http create hello-api --function-name hello --path api
  kubeless trigger http create secure --function-name hello --path secure --basic-auth-secret ./htpasswd
  kubeless trigger http create web --function-name hello --hostname hello.local --cors-enable`
	if update {
		verb, short = "update", "Update an HTTP trigger: only the flags given change"
		example = "  kubeless trigger http update hello-api --path v2"
	}
	cmd := &cobra.Command{
		Use:     verb + " <name> [flags]",
		Short:   short,
		Example: example,
		Args:    cmdutil.ExactArgs(1, verb+": the trigger name is required, for example: kubeless trigger http "+verb+" hello-api --function-name hello"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Kubernetes = f.UsesKubernetes()
			if !update && opts.FunctionName == "" {
				return cmdutil.FlagErrorf(c, "--function-name is required: the function the trigger calls, for example --function-name hello")
			}
			switch opts.Gateway {
			case "", "nginx", "traefik", "kong":
			default:
				return cmdutil.FlagErrorf(c, "invalid --gateway %q: use nginx, traefik or kong", opts.Gateway)
			}
			opts.Changed = map[string]bool{}
			c.Flags().Visit(func(fl *pflag.Flag) { opts.Changed[fl.Name] = true })
			if err := opts.checkTLS(c); err != nil {
				return err
			}
			if opts.DryRun && opts.Output != "json" && opts.Output != "yaml" {
				return cmdutil.FlagErrorf(c, "Output format needs to be yaml or json")
			}
			if runF != nil {
				return runF(opts)
			}
			return httpPutRun(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	addNamespaceFlag(cmd, &opts.Namespace)
	fl.StringVar(&opts.FunctionName, "function-name", "", "Name of the function the trigger calls (required)")
	fl.StringVar(&opts.Path, "path", "", "URL path that routes to the function, for example api (default: every path)")
	fl.StringVar(&opts.Hostname, "hostname", "", "Host name the trigger answers for (default: any host)")
	fl.StringVar(&opts.BasicAuthSecret, "basic-auth-secret", "", "Local engine: path of an htpasswd file (htpasswd -cB FILE USER); its users are then required on the trigger's host and path and on the gateway's /<function> and /<namespace>/<function> routes to that function (annotation kubeless.io/basic-auth-scope: trigger leaves those open), not on the instance's own port. Kubernetes: name of a Secret with an auth key in htpasswd form, required on the Ingress's host and path only (the function's Service is not protected)")
	fl.BoolVar(&opts.CorsEnable, "cors-enable", false, "Answer CORS preflight requests and add Access-Control-Allow-Origin, for the trigger's host and path only, for the origins of spec.cors-domain (comma-separated; empty: any origin). Without it no answer carries CORS headers on the local engine")
	fl.StringVar(&opts.Gateway, "gateway", "", "Ingress controller (nginx, traefik or kong) on Kubernetes; the local engine's gateway ignores it")
	fl.BoolVar(&opts.TLSAcme, "enableTLSAcme", false, "Serve the host name over TLS with a certificate from ACME (annotation kubernetes.io/tls-acme, Secret <trigger>-tls; needs --hostname; Kubernetes engine only)")
	fl.StringVar(&opts.TLSSecret, "tls-secret", "", "Serve the host name over TLS with the certificate of this Secret (needs --hostname; Kubernetes engine only)")
	fl.BoolVar(&opts.DryRun, "dryrun", false, "Print the trigger instead of creating it")
	fl.StringVarP(&opts.Output, "output", "o", "yaml", "Output format of --dryrun: json or yaml")
	return cmd
}

// checkTLS checks --enableTLSAcme and --tls-secret; its errors are
// FlagErrors (usage, exit 2).
func (o *HTTPOptions) checkTLS(c *cobra.Command) error {
	if o.TLSAcme && o.TLSSecret != "" {
		return cmdutil.FlagErrorf(c, "Cannot specify both --enableTLSAcme and --tls-secret")
	}
	if !o.Kubernetes {
		for _, fl := range []string{"enableTLSAcme", "tls-secret"} {
			if o.Changed[fl] {
				return cmdutil.FlagErrorf(c, "--%s needs the Kubernetes engine: the local gateway serves plain HTTP on this machine (TLS is the Ingress controller's)", fl)
			}
		}
	}
	if !o.Update && (o.TLSAcme || o.TLSSecret != "") && o.Hostname == "" {
		return cmdutil.FlagErrorf(c, "TLS needs --hostname: the certificate is for a host name, for example --hostname hello.example.com")
	}
	if o.Update && o.Changed["enableTLSAcme"] && !o.TLSAcme {
		return cmdutil.FlagErrorf(c, "--enableTLSAcme=false cannot turn ACME off on update: give --tls-secret instead, or set tls: false in the trigger (kubectl edit httptrigger %s)", o.Name)
	}
	if o.TLSSecret != "" {
		if errs := validation.IsDNS1123Subdomain(o.TLSSecret); len(errs) > 0 {
			return cmdutil.FlagErrorf(c, "invalid --tls-secret %q: give the name of a Secret of the trigger's namespace (a kubernetes.io/tls Secret)", o.TLSSecret)
		}
	}
	return nil
}

// Trigger returns the HTTPTrigger of the options; on the local engine the
// basic-auth file becomes an absolute path that must exist.
func (o *HTTPOptions) Trigger() (*v1beta1.HTTPTrigger, error) {
	t := &v1beta1.HTTPTrigger{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "HTTPTrigger"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless}},
		Spec: v1beta1.HTTPTriggerSpec{
			FunctionName: o.FunctionName, Path: o.Path, HostName: o.Hostname,
			CorsEnable: o.CorsEnable, Gateway: o.Gateway, BasicAuthSecret: o.BasicAuthSecret,
			TLSAcme: o.TLSAcme, TLSSecret: o.TLSSecret,
		},
	}
	if o.BasicAuthSecret != "" && !o.Kubernetes {
		abs, err := filepath.Abs(o.BasicAuthSecret)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("--basic-auth-secret: %v: on the local engine give the path of an htpasswd file (create one with htpasswd -cB FILE USER)", err)
		}
		t.Spec.BasicAuthSecret = abs
	}
	return t, nil
}

func httpPutRun(ctx context.Context, o *HTTPOptions) error {
	t, err := o.Trigger()
	if err != nil {
		return err
	}
	return putTrigger(ctx, putOptions{IO: o.IO, Engine: o.Engine, DryRun: o.DryRun, Output: o.Output,
		Update: o.Update, Kind: "HTTP", Name: o.Name, Namespace: o.Namespace}, t)
}

// DeleteOptions are the flags of delete (http and cronjob).
type DeleteOptions struct {
	IO        *iostreams.IOStreams
	Engine    Engine
	Name      string
	Namespace string
}

// NewCmdHTTPDelete returns `trigger http delete`.
func NewCmdHTTPDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	return newCmdDelete(f, runF, v1beta1.HTTPTriggerKind)
}

func newCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error, kind *v1beta1.TriggerKind) *cobra.Command {
	opts := &DeleteOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "delete <name>",
		Short: "Delete a trigger",
		Args:  cmdutil.ExactArgs(1, "delete: the trigger name is required, for example: kubeless trigger "+kind.Command+" delete my-trigger"),
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
			return cl.Triggers(kind).Delete(ctx, opts.Namespace, opts.Name)
		},
	}
	addNamespaceFlag(cmd, &opts.Namespace)
	return cmd
}

// ListOptions are the flags of list (http and cronjob).
type ListOptions struct {
	IO        *iostreams.IOStreams
	Engine    Engine
	Namespace string
	Output    string
}

// NewCmdHTTPList returns `trigger http list`.
func NewCmdHTTPList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	return newCmdList(f, runF, "HTTP", httpListRun)
}

func newCmdList(f *cmdutil.Factory, runF func(*ListOptions) error, kind string, run func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the " + kind + " triggers",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := cmdutil.CheckOutput(c, opts.Output, false); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return run(c.Context(), opts)
		},
	}
	addNamespaceFlag(cmd, &opts.Namespace)
	cmd.Flags().StringVarP(&opts.Output, "out", "o", "", "Output format: json or yaml")
	return cmd
}

func httpListRun(ctx context.Context, o *ListOptions) error {
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	ts, err := backend.TriggersOf[v1beta1.HTTPTrigger](cl).List(ctx, o.Namespace)
	if err != nil {
		return err
	}
	if o.Output != "" {
		return cmdutil.PrintOutput(o.IO.Out, o.Output, ts)
	}
	var rows [][]string
	for _, t := range ts {
		rows = append(rows, []string{t.Name, t.Namespace, t.Spec.FunctionName})
	}
	return table(o.IO, []string{"NAME", "NAMESPACE", "FUNCTION NAME"}, rows)
}
