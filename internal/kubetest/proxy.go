package kubetest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kubeless/kubeless/internal/testutil"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// HostIP is an IPv4 address of this machine that is not a loopback one:
// the API server refuses to proxy to loopback addresses. Without one it
// skips t.
func HostIP(t testing.TB) net.IP {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		testutil.Unavailable(t, "no network interfaces: %v", err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				return n.IP.To4()
			}
		}
	}
	testutil.Unavailable(t, "no non-loopback IPv4 address on this machine: the API server proxies only to such addresses")
	return nil
}

// HostServer serves h on HostIP until t ends, and returns the address and
// port.
func HostServer(t testing.TB, h http.Handler) (net.IP, int32) {
	t.Helper()
	ip := HostIP(t)
	l, err := net.Listen("tcp4", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		testutil.Unavailable(t, "listen on %s: %v", ip, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return ip, int32(l.Addr().(*net.TCPAddr).Port)
}

// FunctionPod stands in for what the controller and the kubelet make: a
// pod named name of function fn whose status says it runs on ip, ready or
// not, with the function container's port.
func (e *Env) FunctionPod(t testing.TB, ns, name, fn string, ip net.IP, port int32, ready bool) {
	t.Helper()
	ctx := context.Background()
	po := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1beta1.LabelFunction: fn}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: fn, Image: "runtime",
			// A container port name has at most 15 characters.
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}},
	}
	if err := e.Client.Create(ctx, po); err != nil {
		t.Fatal(err)
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	po.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip.String(), PodIPs: []corev1.PodIP{{IP: ip.String()}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}
	if err := e.Client.Status().Update(ctx, po); err != nil {
		t.Fatal(err)
	}
}

// FunctionService makes function fn reachable through the API server's
// service proxy at ip:port (HostServer): a ready pod fn-pod (FunctionPod),
// and the function's Service, without a selector, with an EndpointSlice
// that points it at that pod. The API server (1.37) proxies only through
// EndpointSlices, and only to endpoints whose targetRef is a pod of the
// namespace with that IP in its status.
func (e *Env) FunctionService(t testing.TB, ns, fn string, ip net.IP, port int32) {
	t.Helper()
	ctx := context.Background()
	e.FunctionPod(t, ns, fn+"-pod", fn, ip, port, true)
	portName := "http-function-port"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fn},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: portName, Port: 8080, TargetPort: intstr.FromInt32(port), Protocol: corev1.ProtocolTCP}}}}
	ready := true
	proto := corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: fn + "-manual", Labels: map[string]string{discoveryv1.LabelServiceName: fn}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip.String()}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: fn + "-pod"}}},
		Ports: []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}},
	}
	for _, o := range []client.Object{svc, slice} {
		if err := e.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T: %v", o, err)
		}
	}
}
