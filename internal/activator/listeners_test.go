package activator

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// localPorts opens every activator port on a free local port and
// remembers which.
type localPorts struct {
	mu    sync.Mutex
	addrs map[int32]string
}

func (lp *localPorts) listen(port int32) (net.Listener, error) {
	if port == 666 {
		return nil, errors.New("address already in use")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	lp.mu.Lock()
	lp.addrs[port] = ln.Addr().String()
	lp.mu.Unlock()
	return ln, nil
}

func (lp *localPorts) url(port int32) string {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return "http://" + lp.addrs[port] + "/"
}

func TestListenersServeEachFunctionOnItsPort(t *testing.T) {
	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	defer pod.Close()
	u, _ := url.Parse(pod.URL)
	w := newFakeWaker()
	a, err := New(Options{Waker: w})
	if err != nil {
		t.Fatal(err)
	}
	lp := &localPorts{addrs: map[int32]string{}}
	l := NewListeners(a, lp.listen)
	defer l.Close()

	other := Function{Namespace: "team", Name: "other", TargetPort: 9000}
	if err := l.Sync(map[int32]Function{20001: hello, 20002: other}); err != nil {
		t.Fatal(err)
	}
	get := func(port int32, want Function) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			resp, err := http.Get(lp.url(port))
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != "hi" {
					err = errors.New("answer " + string(b))
				}
			}
			done <- err
		}()
		if got := wait(t, w.entered, "a held call"); got != want {
			t.Errorf("port %d woke %v, want %v", port, got, want)
		}
		w.result <- wakeResult{u: u}
		if err := wait(t, done, "the answer"); err != nil {
			t.Error(err)
		}
	}
	get(20001, hello)
	get(20002, other)

	// Port 20002 now serves another function; 20001 is no longer wanted;
	// 666 cannot be opened.
	moved := Function{Namespace: "team", Name: "moved", TargetPort: 9000}
	err = l.Sync(map[int32]Function{20002: moved, 666: hello})
	if err == nil || err.Error() != "function default/hello: listen on activator port 666: address already in use" {
		t.Errorf("Sync error = %v", err)
	}
	get(20002, moved)
	if diff := cmp.Diff(map[int32]Function{20002: moved}, l.Served()); diff != "" {
		t.Errorf("served (-want +got):\n%s", diff)
	}
}

func TestWanted(t *testing.T) {
	svc := func(ns, name, port string, target intstr.IntOrString) corev1.Service {
		s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if port != "" {
			s.Annotations = map[string]string{"kubeless.io/activator-port": port}
		}
		s.Spec.Ports = []corev1.ServicePort{{Port: 8080, TargetPort: target}}
		return s
	}
	got := Wanted([]corev1.Service{
		svc("default", "hello", "20000", intstr.FromInt32(8080)),
		svc("team", "b", "20001", intstr.FromInt32(9000)),
		svc("team", "a", "20001", intstr.FromInt32(9001)), // same port: the first by name wins
		svc("team", "named", "20002", intstr.FromString("http")),
		svc("team", "warm", "", intstr.FromInt32(8080)),
		svc("team", "bad", "x", intstr.FromInt32(8080)),
	})
	want := map[int32]Function{
		20000: {Namespace: "default", Name: "hello", TargetPort: 8080},
		20001: {Namespace: "team", Name: "a", TargetPort: 9001},
		20002: {Namespace: "team", Name: "named", TargetPort: 8080},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Wanted (-want +got):\n%s", diff)
	}
}
