package activator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// Listeners serve each function that scales to zero on its own port of
// the activator: the port its Service's EndpointSlice names while it is at
// zero (a call's Host header cannot say which function it is for: short
// DNS names carry no namespace, and the API server's service proxy
// rewrites it).
type Listeners struct {
	a      *Activator
	listen func(port int32) (net.Listener, error)
	log    *slog.Logger

	mu      sync.Mutex
	servers map[int32]*served
}

type served struct {
	fn  atomic.Pointer[Function]
	srv *http.Server
}

// NewListeners returns Listeners of a; listen opens a port (nil: TCP on
// every address).
func NewListeners(a *Activator, listen func(port int32) (net.Listener, error)) *Listeners {
	if listen == nil {
		listen = func(port int32) (net.Listener, error) {
			return net.Listen("tcp", ":"+strconv.Itoa(int(port)))
		}
	}
	return &Listeners{a: a, listen: listen, log: a.log, servers: map[int32]*served{}}
}

// Sync serves exactly the functions of want, by port: it closes the ports
// no longer wanted (their calls in progress finish), opens the new ones,
// and changes the function of a port that serves another now. Every port
// is tried; the error joins those that could not be opened.
func (l *Listeners) Sync(want map[int32]Function) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for port, s := range l.servers {
		if _, ok := want[port]; !ok {
			delete(l.servers, port)
			l.a.Forget(*s.fn.Load())
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), l.a.holdTimeout)
				defer cancel()
				s.srv.Shutdown(ctx)
			}()
		}
	}
	var errs []error
	for port, fn := range want {
		if s, ok := l.servers[port]; ok {
			s.fn.Store(&fn)
			continue
		}
		ln, err := l.listen(port)
		if err != nil {
			errs = append(errs, fmt.Errorf("function %s: listen on activator port %d: %w", fn, port, err))
			continue
		}
		s := &served{}
		s.fn.Store(&fn)
		s.srv = &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				l.a.Handler(*s.fn.Load()).ServeHTTP(w, r)
			}),
			ReadHeaderTimeout: 30 * time.Second,
		}
		l.servers[port] = s
		go func() {
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				l.log.Error("activator port stopped", "port", port, "err", err)
			}
		}()
	}
	return errors.Join(errs...)
}

// Close stops every port.
func (l *Listeners) Close() {
	l.Sync(nil)
}

// Served returns the function of each port.
func (l *Listeners) Served() map[int32]Function {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int32]Function{}
	for p, s := range l.servers {
		out[p] = *s.fn.Load()
	}
	return out
}

// ServiceReconciler keeps Listeners in step with the Services that carry
// the annotation kubeless.io/activator-port (set by the controller on the
// Service of every function that scales to zero).
type ServiceReconciler struct {
	Client    client.Reader
	Listeners *Listeners
}

// Reconcile implements reconcile.Reconciler: whichever Service changed,
// the whole set is read again (from the cache).
func (r *ServiceReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	var svcs corev1.ServiceList
	if err := r.Client.List(ctx, &svcs, client.MatchingLabels{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless}); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.Listeners.Sync(Wanted(svcs.Items))
}

// Wanted is the function of each activator port that svcs name. A port
// that two Services claim (the controller never allocates one twice) goes
// to the first by namespace and name.
func Wanted(svcs []corev1.Service) map[int32]Function {
	want := map[int32]Function{}
	for _, s := range svcs {
		p, err := strconv.ParseInt(s.Annotations[v1beta1.AnnotationActivatorPort], 10, 32)
		if err != nil || p <= 0 || s.DeletionTimestamp != nil {
			continue
		}
		fn := Function{Namespace: s.Namespace, Name: s.Name, TargetPort: 8080}
		if len(s.Spec.Ports) > 0 {
			fn.TargetPort = s.Spec.Ports[0].Port
			if tp := s.Spec.Ports[0].TargetPort.IntValue(); tp > 0 {
				fn.TargetPort = int32(tp)
			}
		}
		if cur, ok := want[int32(p)]; ok && cur.String() < fn.String() {
			continue
		}
		want[int32(p)] = fn
	}
	return want
}
