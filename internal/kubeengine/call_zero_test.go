package kubeengine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/kubescheme"
)

// A function at zero: the API server's service proxy refuses the
// activator's endpoints (another namespace) with "no endpoints available";
// the call goes to the activator pod that the function's EndpointSlice
// names, through the pods proxy, with its method, path, query, body and
// headers.
func TestCallAtZeroGoesThroughTheActivatorPod(t *testing.T) {
	noEndpoints := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"no endpoints available for service \"hello\"","reason":"ServiceUnavailable","code":503}`
	svc := service("team", "hello", "http-function-port", 8080)
	svc.Annotations = map[string]string{v1beta1.AnnotationActivatorPort: "20001"}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "team", Name: "hello"},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http-function-port"), Port: ptr.To(int32(20001))}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.88.0.5"},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "kubeless", Name: "kubeless-activator-abc"}}},
	}
	for _, tt := range []struct {
		name      string
		objs      []k8sruntime.Object
		wantPaths []string
		wantErr   string
	}{
		{"at zero", []k8sruntime.Object{svc, slice}, []string{
			"POST /api/v1/namespaces/team/services/hello:http-function-port/proxy/items?x=1 {\"a\":1}",
			"POST /api/v1/namespaces/kubeless/pods/kubeless-activator-abc:20001/proxy/items?x=1 {\"a\":1}",
		}, ""},
		{"no slice yet", []k8sruntime.Object{svc}, []string{
			"POST /api/v1/namespaces/team/services/hello:http-function-port/proxy/items?x=1 {\"a\":1}",
		}, `no endpoints available for service "hello"`},
		{"not a function that scales to zero", []k8sruntime.Object{service("team", "hello", "http-function-port", 8080), slice}, []string{
			"POST /api/v1/namespaces/team/services/hello:http-function-port/proxy/items?x=1 {\"a\":1}",
		}, `no endpoints available for service "hello"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = append(got, r.Method+" "+r.RequestURI+" "+string(b))
				if r.Header.Get("Event-Id") != "abc" {
					t.Errorf("%s: Event-Id %q, want abc", r.RequestURI, r.Header.Get("Event-Id"))
				}
				if strings.Contains(r.URL.Path, "/services/") {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, noEndpoints)
					return
				}
				io.WriteString(w, "hello world")
			}))
			defer srv.Close()
			cs := kubefake.NewClientset(tt.objs...)
			e, err := NewWithOptions(Options{Client: fake.NewClientBuilder().WithScheme(kubescheme.New()).Build(), Clientset: cs,
				HTTPClient: srv.Client(), Server: srv.URL, Namespace: "team"})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.Call(context.Background(), "", "hello", &backend.CallRequest{Method: "POST", Path: "/items?x=1",
				Body: []byte(`{"a":1}`), Header: http.Header{"Event-Id": {"abc"}}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one with %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if resp.StatusCode != 200 || string(resp.Body) != "hello world" {
				t.Errorf("answer = %d %q, want 200 hello world", resp.StatusCode, resp.Body)
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantPaths, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantPaths, "\n"))
			}
		})
	}
}
