package kubeengine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/render"
)

// Call implements backend.Engine through the API server's service proxy, as
// the original did: METHOD /api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH,
// where PORT is the name of the Service's first port (http-function-port),
// or its number when it has no name. The path always ends the proxy prefix
// with a "/", so that the API server answers a POST instead of redirecting
// it without its body.
//
// The function's answer comes back whatever its status. An answer of the
// API server itself (a Status object, for example "no endpoints available
// for service" when no pod is ready) is an error, except for a function
// that scales to zero: the service proxy cannot reach the activator (it
// sends calls only to pods of the Service's namespace), so the call goes
// through the pods proxy to the activator pod that the function's
// EndpointSlice names (docs/scale-to-zero.md).
func (e *Engine) Call(ctx context.Context, namespace, name string, req *backend.CallRequest) (*backend.CallResponse, error) {
	ns := e.ns(namespace)
	if e.server == nil {
		return nil, backend.Errorf(backend.CodeUnavailable, "the Kubernetes engine has no API server URL to call function %s through", name)
	}
	if err := checkCallHeaders(req.Header); err != nil {
		return nil, err
	}
	svc, err := e.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, backend.Errorf(backend.CodeNotFound, "Unable to find the service for %s", name)
		}
		return nil, e.apiError(err)
	}
	port := strconv.Itoa(int(render.DefaultPort))
	if len(svc.Spec.Ports) > 0 {
		port = svc.Spec.Ports[0].Name
		if port == "" {
			port = strconv.Itoa(int(svc.Spec.Ports[0].Port))
		}
	}
	ref, err := url.Parse(req.Path)
	if err != nil {
		return nil, backend.Errorf(backend.CodeInvalid, "call function %s: invalid path %q: %v", name, req.Path, err)
	}
	resp, st, err := e.send(ctx, name, "/api/v1/namespaces/"+ns+"/services/"+name+":"+port+"/proxy/", ref, req)
	if err != nil {
		return nil, err
	}
	if st != nil && st.Code == http.StatusServiceUnavailable && svc.Annotations[v1beta1.AnnotationActivatorPort] != "" {
		// At zero (or while its first pod starts) the function's
		// EndpointSlice names the activator's pods, in another namespace,
		// which the service proxy refuses: the call goes to the activator
		// pod that the slice names, through the pods proxy; the activator
		// starts the function and forwards the call.
		pod, aport, ok := e.activatorPod(ctx, ns, name)
		if ok {
			resp, st, err = e.send(ctx, name, "/api/v1/namespaces/"+pod.Namespace+"/pods/"+pod.Name+":"+aport+"/proxy/", ref, req)
			if err != nil {
				return nil, err
			}
		}
	}
	if st != nil {
		return nil, fmt.Errorf("call function %s through %s: %w", name, e.serverName(), e.apiError(&apierrors.StatusError{ErrStatus: *st}))
	}
	return resp, nil
}

// send sends req to the API server's proxy path prefix (ending in "/")
// followed by ref's path and query. It returns the answer, or the API
// server's own failure Status.
func (e *Engine) send(ctx context.Context, name, prefix string, ref *url.URL, req *backend.CallRequest) (*backend.CallResponse, *metav1.Status, error) {
	u := *e.server
	prefix = strings.TrimSuffix(u.Path, "/") + prefix
	u.Path = prefix + strings.TrimPrefix(ref.Path, "/")
	u.RawPath = ""
	if ref.RawPath != "" {
		u.RawPath = prefix + strings.TrimPrefix(ref.RawPath, "/")
	}
	u.RawQuery = ref.RawQuery
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("call function %s: %w", name, err)
	}
	for k, vs := range req.Header {
		hr.Header[k] = append([]string(nil), vs...)
	}
	resp, err := e.hc.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("call function %s: %w", name, ctx.Err())
		}
		return nil, nil, fmt.Errorf("call function %s: %w", name, e.apiError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, backend.MaxCallResponse))
	if err != nil {
		return nil, nil, fmt.Errorf("call function %s: read answer: %w", name, err)
	}
	if st := serverStatus(resp, b); st != nil {
		return nil, st, nil
	}
	return &backend.CallResponse{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header, Body: b}, nil, nil
}

// activatorPod returns the first pod that the function's EndpointSlice
// names in another namespace than the function's (an activator pod), and
// the slice's port; ok is false when there is none.
func (e *Engine) activatorPod(ctx context.Context, ns, name string) (pod *corev1.ObjectReference, port string, ok bool) {
	es, err := e.cs.DiscoveryV1().EndpointSlices(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || len(es.Ports) == 0 || es.Ports[0].Port == nil {
		return nil, "", false
	}
	for _, ep := range es.Endpoints {
		if r := ep.TargetRef; r != nil && r.Kind == "Pod" && r.Namespace != ns && r.Name != "" {
			return r, strconv.Itoa(int(*es.Ports[0].Port)), true
		}
	}
	return nil, "", false
}

// checkCallHeaders refuses the headers that the API server would take as
// its own rather than pass to the function: Authorization (it would replace
// the user's cluster credentials) and Impersonate-* (it would make the
// request act as another user).
func checkCallHeaders(h http.Header) error {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c := http.CanonicalHeaderKey(k)
		switch {
		case c == "Authorization":
			return backend.Errorf(backend.CodeInvalid, "header %q cannot be sent through the API server's service proxy: the API server would take it as the credentials of the call instead of yours", k)
		case strings.HasPrefix(c, "Impersonate-"):
			return backend.Errorf(backend.CodeInvalid, "header %q cannot be sent through the API server's service proxy: the API server would take it as a request to impersonate another user", k)
		}
	}
	return nil
}

// serverStatus returns the API server's own error in an answer: a failed
// metav1.Status in JSON. A function's answers are not that.
func serverStatus(resp *http.Response, body []byte) *metav1.Status {
	if resp.StatusCode < 400 {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return nil
	}
	var st metav1.Status
	if json.Unmarshal(body, &st) != nil || st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure {
		return nil
	}
	return &st
}

// Top implements backend.Engine: for the function name, or every function of
// namespace ("" for all), the sums per method of the /metrics of its ready
// pods, each read through the API server's pods proxy
// (/api/v1/namespaces/NS/pods/POD:PORT/proxy/metrics), all within
// TopTimeout.
func (e *Engine) Top(ctx context.Context, namespace, name string) ([]backend.FunctionMetrics, error) {
	type target struct{ ns, name string }
	var targets []target
	if name != "" {
		fn, err := e.Get(ctx, namespace, name)
		if err != nil {
			return nil, err
		}
		targets = append(targets, target{fn.Namespace, fn.Name})
	} else {
		fns, err := e.List(ctx, namespace)
		if err != nil {
			return nil, err
		}
		for _, fn := range fns {
			targets = append(targets, target{fn.Namespace, fn.Name})
		}
	}
	timeout := e.TopTimeout
	if timeout == 0 {
		timeout = DefaultTopTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return backend.GatherMetrics(len(targets), func(i int) []backend.FunctionMetrics {
		return e.functionMetrics(ctx, targets[i].ns, targets[i].name)
	}), nil
}

// functionMetrics returns the rows of one function; a problem is the
// message of its one row.
func (e *Engine) functionMetrics(ctx context.Context, ns, name string) []backend.FunctionMetrics {
	row := func(msg string) []backend.FunctionMetrics {
		return []backend.FunctionMetrics{{Function: name, Namespace: ns, Message: msg}}
	}
	pods, err := e.pods(ctx, ns, name)
	if err != nil {
		return row(backend.MsgNoMetrics)
	}
	total := map[string]*backend.MethodStats{}
	ready := 0
	for i := range pods {
		p := &pods[i]
		if !podReady(p) {
			continue
		}
		ready++
		b, err := e.cs.CoreV1().Pods(ns).ProxyGet("", p.Name, metricsPort(p, name), "metrics", nil).DoRaw(ctx)
		if err != nil {
			return row(backend.MsgNoMetrics)
		}
		m, err := backend.ParseMetrics(bytes.NewReader(b))
		if err != nil {
			return row(backend.MsgUnparsedMetrics)
		}
		for method, s := range m {
			if total[method] == nil {
				total[method] = &backend.MethodStats{}
			}
			total[method].Add(*s)
		}
	}
	if ready == 0 {
		return row(backend.MsgNoReadyInstances)
	}
	return backend.MetricsRows(ns, name, total)
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// metricsPort is the function container's port: the one named
// http-function (render.ContainerPortName), else the one named
// http-function-port (render.PortName, as pods of older renders named it),
// else its first, else 8080.
func metricsPort(p *corev1.Pod, name string) string {
	c := functionContainer(p, name)
	if c == nil || len(c.Ports) == 0 {
		return strconv.Itoa(int(render.DefaultPort))
	}
	for _, want := range []string{render.ContainerPortName, render.PortName} {
		for _, cp := range c.Ports {
			if cp.Name == want {
				return strconv.Itoa(int(cp.ContainerPort))
			}
		}
	}
	return strconv.Itoa(int(c.Ports[0].ContainerPort))
}
