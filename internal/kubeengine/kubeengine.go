// Package kubeengine is the Kubernetes engine of the kubeless commands: it
// implements backend.Engine over the Kubernetes API. Functions and triggers
// are kubeless.io/v1beta1 objects that the controller reconciles; `call`
// goes through the API server's service proxy with the user's credentials,
// `logs` reads the function's pods, `top` reads their /metrics through the
// pods proxy, and `ls`/`describe` read the Function's status
// (docs/compatibility.md §4).
//
// Errors are *backend.Error values with the codes of the local engine
// (NotFound, AlreadyExists, Invalid, Unavailable), so that the commands
// treat both engines alike.
package kubeengine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/kubescheme"
)

// DefaultTopTimeout bounds a whole Top, as the original's 5 s cut-off.
const DefaultTopTimeout = 5 * time.Second

// Engine reaches one cluster with one user's credentials.
type Engine struct {
	c         client.Client
	cs        kubernetes.Interface
	hc        *http.Client
	server    *url.URL
	namespace string
	// TopTimeout bounds a whole Top; 0 means DefaultTopTimeout.
	TopTimeout time.Duration
}

var _ backend.Engine = (*Engine)(nil)

// Options are the clients an Engine uses; New builds them from a
// *rest.Config, tests pass fakes.
type Options struct {
	// Client reads and writes the Kubeless objects (its scheme must know
	// api/v1beta1, see kubescheme.New).
	Client client.Client
	// Clientset reads pods, their logs and their metrics.
	Clientset kubernetes.Interface
	// HTTPClient and Server reach the API server for the service proxy of
	// Call: Server is its base URL, HTTPClient carries the credentials.
	HTTPClient *http.Client
	Server     string
	// Namespace replaces "" in the calls that need one (the kubeconfig
	// context's namespace); "" means "default".
	Namespace string
}

// NewWithOptions returns an engine over the given clients.
func NewWithOptions(o Options) (*Engine, error) {
	if o.Client == nil || o.Clientset == nil {
		return nil, errors.New("kubeengine: Client and Clientset are required")
	}
	e := &Engine{c: o.Client, cs: o.Clientset, hc: o.HTTPClient, namespace: o.Namespace}
	if e.namespace == "" {
		e.namespace = "default"
	}
	if e.hc == nil {
		e.hc = http.DefaultClient
	}
	if o.Server != "" {
		u, err := url.Parse(o.Server)
		if err != nil {
			return nil, fmt.Errorf("kubeengine: API server URL %q: %w", o.Server, err)
		}
		e.server = u
	}
	return e, nil
}

// New returns an engine that reaches the cluster of cfg; namespace replaces
// "" (normally the kubeconfig context's namespace).
func New(cfg *rest.Config, namespace string) (*Engine, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes engine: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: kubescheme.New(), HTTPClient: hc})
	if err != nil {
		return nil, unreachable("the Kubernetes API server "+cfg.Host, err)
	}
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes engine: %w", err)
	}
	server, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes engine: API server URL %q: %w", cfg.Host, err)
	}
	return NewWithOptions(Options{Client: c, Clientset: cs, HTTPClient: hc, Server: server.String(), Namespace: namespace})
}

// Kubeconfig says which kubeconfig and context to use, as kubectl's
// --kubeconfig and --context flags do. The zero value means $KUBECONFIG (a
// list of files), else ~/.kube/config, and its current context.
type Kubeconfig struct {
	Path    string
	Context string
}

func (k Kubeconfig) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.Path
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Context})
}

// LoadConfig reads the kubeconfig as kubectl does and returns the REST
// config of its (current or chosen) context and that context's namespace
// ("default" when it names none).
func (k Kubeconfig) LoadConfig() (*rest.Config, string, error) {
	kc := k.clientConfig()
	cfg, err := kc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("read the kubeconfig: %w (or use the local engine with --engine local)", err)
	}
	ns, _, err := kc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("read the kubeconfig: %w (or use the local engine with --engine local)", err)
	}
	return cfg, ns, nil
}

// ContextNamespace returns the namespace of the kubeconfig's context
// ("default" when it names none), without reaching the cluster.
func (k Kubeconfig) ContextNamespace() (string, error) {
	ns, _, err := k.clientConfig().Namespace()
	return ns, err
}

// Engine returns an engine for the kubeconfig's context.
func (k Kubeconfig) Engine() (*Engine, error) {
	cfg, ns, err := k.LoadConfig()
	if err != nil {
		return nil, err
	}
	return New(cfg, ns)
}

// Namespace is the namespace that replaces "".
func (e *Engine) Namespace() string { return e.namespace }

func (e *Engine) ns(namespace string) string {
	if namespace == "" {
		return e.namespace
	}
	return namespace
}

func (e *Engine) serverName() string {
	if e.server == nil {
		return "the Kubernetes API server"
	}
	return "the Kubernetes API server " + e.server.Host
}

// Status implements backend.Engine: Version is the API server's version and
// Gateway the API server's URL (calls go through its service proxy).
func (e *Engine) Status(ctx context.Context) (*backend.Status, error) {
	st := &backend.Status{}
	if e.server != nil {
		st.Gateway = e.server.String()
	}
	v, err := e.cs.Discovery().ServerVersion()
	if err != nil {
		return nil, e.apiError(err)
	}
	st.Version = v.GitVersion
	return st, nil
}

// apiError turns an error of the Kubernetes API into an *backend.Error with
// the matching code and a one-line message.
func (e *Engine) apiError(err error) error {
	if err == nil {
		return nil
	}
	var ae *backend.Error
	if errors.As(err, &ae) {
		return err
	}
	msg := err.Error()
	if s, ok := err.(apierrors.APIStatus); ok && s.Status().Message != "" {
		msg = s.Status().Message
	}
	switch {
	case apierrors.IsNotFound(err):
		return &backend.Error{Code: backend.CodeNotFound, Message: msg}
	case apierrors.IsAlreadyExists(err):
		return &backend.Error{Code: backend.CodeAlreadyExists, Message: msg}
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return &backend.Error{Code: backend.CodeInvalid, Message: msg}
	case meta.IsNoMatchError(err):
		return backend.Errorf(backend.CodeUnavailable, "%s does not serve the Kubeless kinds (%v): install Kubeless in the cluster first (kubectl apply -f kubeless.yaml)", e.serverName(), err)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return backend.Errorf(backend.CodeInternal, "%s refused the request: %s", e.serverName(), msg)
	case apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err), apierrors.IsTooManyRequests(err):
		return &backend.Error{Code: backend.CodeUnavailable, Message: msg}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return unreachable(e.serverName(), err)
	}
	return &backend.Error{Code: backend.CodeInternal, Message: msg}
}

func unreachable(server string, err error) error {
	return backend.Errorf(backend.CodeUnavailable, "cannot reach %s: %v: check the kubeconfig's current context (kubectl cluster-info), or use the local engine with --engine local", server, err)
}

func sortByKey[T any](items []T, key func(*T) (string, string)) {
	sort.Slice(items, func(i, j int) bool {
		ni, mi := key(&items[i])
		nj, mj := key(&items[j])
		if ni != nj {
			return ni < nj
		}
		return mi < mj
	})
}
