package v1beta1_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/kubeless/kubeless/api/v1beta1"
)

var codecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	if err := v1beta1.AddToScheme(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s)
}()

// decode reads testdata/<name> through the same apimachinery decoder that
// client-go and controller-runtime use.
func decode(t *testing.T, name string) runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	obj, gvk, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	if gvk.GroupVersion() != v1beta1.GroupVersion {
		t.Fatalf("decode %s: group version %s, want %s", name, gvk.GroupVersion(), v1beta1.GroupVersion)
	}
	return obj
}

// manifestMap returns testdata/<name> as generic JSON values.
func manifestMap(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// encodeMap encodes obj as clients do (encoding/json) and returns it as
// generic JSON values.
func encodeMap(t *testing.T, obj any) map[string]any {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func spec(m map[string]any) map[string]any { return m["spec"].(map[string]any) }

// TestRoundTrip decodes manifests and encodes them again: what comes out must
// be what went in, plus only the keys this package always writes (the
// original's empty strings and service: {}), minus only JSON nulls that carry
// no value. Every key of the original formats must survive, hyphenated ones
// included, and the raw deployment and horizontalPodAutoscaler byte for byte.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		file string
		// edit turns the manifest into what encoding must give.
		edit func(m map[string]any)
	}{
		{file: "function-cli.yaml"},
		{file: "function-cli-full.yaml"},
		{file: "function-cli-qps.yaml"},
		{file: "function-custom-image.yaml", edit: func(m map[string]any) {
			spec(m)["service"] = map[string]any{}
		}},
		{file: "function-serverless.yaml", edit: func(m map[string]any) {
			spec(m)["checksum"] = ""
		}},
		{file: "function-example-python.yaml", edit: func(m map[string]any) {
			s := spec(m)
			for _, k := range []string{"checksum", "function-content-type", "timeout"} {
				s[k] = ""
			}
			s["service"] = map[string]any{}
		}},
		{file: "function-example-go.yaml", edit: func(m map[string]any) {
			spec(m)["deps"] = ""
			spec(m)["service"] = map[string]any{}
		}},
		{file: "function-autoscale-v2.yaml", edit: func(m map[string]any) {
			s := spec(m)
			for _, k := range []string{"checksum", "deps", "function-content-type", "timeout"} {
				s[k] = ""
			}
			s["service"] = map[string]any{}
		}},
		{file: "httptrigger.yaml"},
		{file: "cronjobtrigger.yaml"},
		{file: "kafkatrigger.yaml"},
		{file: "natstrigger.yaml"},
		{file: "kinesistrigger.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want := manifestMap(t, tt.file)
			if tt.edit != nil {
				tt.edit(want)
			}
			got := encodeMap(t, decode(t, tt.file))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("encode(decode(%s)) differs (-want +got):\n%s", tt.file, diff)
			}

			// And through the unstructured converter, which
			// controller-runtime uses for unstructured clients and
			// server-side apply.
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(decode(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, encodeMap(t, u)); diff != "" {
				t.Errorf("ToUnstructured(decode(%s)) differs (-want +got):\n%s", tt.file, diff)
			}
			back := decode(t, tt.file) // a fresh object of the same kind
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, encodeMap(t, back)); diff != "" {
				t.Errorf("FromUnstructured(ToUnstructured(decode(%s))) differs (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

// TestDecodeFields checks that the hyphenated keys land in the right Go
// fields.
func TestDecodeFields(t *testing.T) {
	fn := decode(t, "function-cli.yaml").(*v1beta1.Function)
	wantSpec := v1beta1.FunctionSpec{
		Handler:             "helloget.foo",
		Function:            "def foo(event, context):\n    return \"hello world\"\n",
		FunctionContentType: "text",
		Checksum:            "sha256:d251999dcbfdeccec385606fd0aec385b214cfc74ede8b6c9e47af71728f6e9a",
		Runtime:             "python2.7",
		Timeout:             "180",
		ServiceSpec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{
				Name: "http-function-port", Port: 8080, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(8080),
			}},
			Selector: map[string]string{"created-by": "kubeless", "function": "get-python"},
			Type:     corev1.ServiceTypeClusterIP,
		},
	}
	got := fn.Spec.DeepCopy()
	if got.Deployment == nil || got.HorizontalPodAutoscaler == nil {
		t.Fatalf("deployment or horizontalPodAutoscaler not kept: %+v", got)
	}
	got.Deployment, got.HorizontalPodAutoscaler = nil, nil
	if diff := cmp.Diff(wantSpec, *got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if fn.Finalizers[0] != v1beta1.FunctionFinalizer || fn.Labels[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless {
		t.Errorf("metadata: %+v", fn.ObjectMeta)
	}

	ht := decode(t, "httptrigger.yaml").(*v1beta1.HTTPTrigger)
	wantHT := v1beta1.HTTPTriggerSpec{
		FunctionName:    "get-python",
		HostName:        "get-python.192.168.99.100.nip.io",
		TLSAcme:         false,
		TLSSecret:       "get-python-tls",
		Path:            "hello",
		BasicAuthSecret: "basic-auth",
		Gateway:         "nginx",
		CorsEnable:      true,
		CorsDomain:      "https://example.com",
	}
	if diff := cmp.Diff(wantHT, ht.Spec); diff != "" {
		t.Errorf("HTTPTrigger spec (-want +got):\n%s", diff)
	}

	ct := decode(t, "cronjobtrigger.yaml").(*v1beta1.CronJobTrigger)
	if ct.Spec.FunctionName != "get-python" || ct.Spec.Schedule != "*/5 * * * *" {
		t.Errorf("CronJobTrigger spec: %+v", ct.Spec)
	}
	var payload map[string]any
	if err := json.Unmarshal(ct.Spec.Payload.Raw, &payload); err != nil || payload["it-s"] != "alive" {
		t.Errorf("payload %s: %v", ct.Spec.Payload.Raw, err)
	}
}

// TestCronJobTriggerPayload: the original's payload was an interface{}, so any
// JSON value is kept; null (what the original wrote without a payload) means
// none.
func TestCronJobTriggerPayload(t *testing.T) {
	for _, payload := range []string{`{"a":1}`, `"text"`, `42`, `[1,"b"]`, `true`, `null`} {
		in := `{"apiVersion":"kubeless.io/v1beta1","kind":"CronJobTrigger","metadata":{"name":"c"},` +
			`"spec":{"function-name":"f","payload":` + payload + `,"schedule":"@hourly"}}`
		obj, _, err := codecs.UniversalDeserializer().Decode([]byte(in), nil, nil)
		if err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		ct := obj.(*v1beta1.CronJobTrigger)
		want := in
		if payload == "null" {
			if ct.Spec.Payload != nil {
				t.Errorf("payload null decoded as %q", ct.Spec.Payload.Raw)
			}
			want = strings.Replace(in, `"payload":null,`, "", 1)
		}
		var wantMap map[string]any
		if err := json.Unmarshal([]byte(want), &wantMap); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantMap, encodeMap(t, ct)); diff != "" {
			t.Errorf("payload %s (-want +got):\n%s", payload, diff)
		}
	}
}

// TestDeepCopy: copies share nothing with the original, the raw templates
// included.
func TestDeepCopy(t *testing.T) {
	fn := decode(t, "function-cli-full.yaml").(*v1beta1.Function)
	want := encodeMap(t, fn)
	c := fn.DeepCopyObject().(*v1beta1.Function)
	c.Spec.Deployment.Raw[0] = ' '
	c.Spec.HorizontalPodAutoscaler.Raw[0] = ' '
	c.Spec.ServiceSpec.Selector["function"] = "changed"
	c.Labels["team"] = "red"
	c.Status.SetReplicas(2, 1)
	if diff := cmp.Diff(want, encodeMap(t, fn)); diff != "" {
		t.Errorf("changing the copy changed the original (-want +got):\n%s", diff)
	}

	ct := decode(t, "cronjobtrigger.yaml").(*v1beta1.CronJobTrigger)
	wantCT := encodeMap(t, ct)
	cc := ct.DeepCopy()
	cc.Spec.Payload.Raw[0] = '['
	if diff := cmp.Diff(wantCT, encodeMap(t, ct)); diff != "" {
		t.Errorf("changing the copy's payload changed the original (-want +got):\n%s", diff)
	}
}

// TestStatusEncoding: an empty status is not written (objects the CLI
// creates look like the original's), a set one is, with "n/m" for display.
func TestStatusEncoding(t *testing.T) {
	fn := &v1beta1.Function{}
	if _, ok := encodeMap(t, fn)["status"]; ok {
		t.Errorf("empty status encoded: %v", encodeMap(t, fn))
	}
	fn.Status.ObservedGeneration = 3
	fn.Status.SetReplicas(2, 1)
	got := encodeMap(t, fn)["status"]
	want := map[string]any{"observedGeneration": 3.0, "replicas": 2.0, "readyReplicas": 1.0, "ready": "1/2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

func TestScheme(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1beta1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"Function", "FunctionList", "HTTPTrigger", "HTTPTriggerList", "CronJobTrigger", "CronJobTriggerList"} {
		if !s.Recognizes(v1beta1.GroupVersion.WithKind(kind)) {
			t.Errorf("scheme does not know %s", kind)
		}
	}
	if got := v1beta1.Resource("functions").String(); got != "functions.kubeless.io" {
		t.Errorf("Resource(functions) = %q", got)
	}
}
