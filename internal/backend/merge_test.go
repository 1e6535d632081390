package backend

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func withTemplate(t *testing.T, fn *v1beta1.Function, replicas *int32, c *corev1.Container, vols ...corev1.Volume) *v1beta1.Function {
	t.Helper()
	d := &appsv1.Deployment{}
	d.Spec.Replicas = replicas
	if c != nil {
		d.Spec.Template.Spec.Containers = []corev1.Container{*c}
	}
	d.Spec.Template.Spec.Volumes = vols
	if err := fn.Spec.SetDeploymentTemplate(d); err != nil {
		t.Fatal(err)
	}
	return fn
}

func ptr[T any](v T) *T { return &v }

func secretVol(name string) corev1.Volume {
	return corev1.Volume{Name: name + "-vol", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}
}

func TestMergeFunction(t *testing.T) {
	base := func() *v1beta1.Function {
		fn := &v1beta1.Function{
			ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", Labels: map[string]string{"a": "1"}},
			Spec: v1beta1.FunctionSpec{Runtime: "python3.11", Handler: "hello.foo", Function: "code", FunctionContentType: "text",
				Checksum: "sha256:1", Timeout: "30", Deps: "requests",
				ServiceSpec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http-function-port", Port: 9000}}}},
		}
		return withTemplate(t, fn, ptr(int32(2)), &corev1.Container{
			Image:        "old:1",
			Env:          []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}},
			Resources:    corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
			VolumeMounts: []corev1.VolumeMount{{Name: "s-vol", MountPath: "/s"}},
		}, secretVol("s"))
	}
	tests := []struct {
		name  string
		patch *v1beta1.Function
		want  func(*v1beta1.Function) // edits base into the expected result
	}{
		{name: "empty patch keeps everything", patch: &v1beta1.Function{}, want: func(*v1beta1.Function) {}},
		{
			name:  "code replaces code, type and checksum",
			patch: &v1beta1.Function{Spec: v1beta1.FunctionSpec{Function: "new", FunctionContentType: "base64+zip", Checksum: ""}},
			want: func(fn *v1beta1.Function) {
				fn.Spec.Function, fn.Spec.FunctionContentType, fn.Spec.Checksum = "new", "base64+zip", ""
			},
		},
		{
			name:  "strings and labels",
			patch: &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"b": "2", "a": "3"}}, Spec: v1beta1.FunctionSpec{Handler: "h.bar", Runtime: "nodejs20", Timeout: "5", Deps: "x"}},
			want: func(fn *v1beta1.Function) {
				fn.Labels = map[string]string{"a": "3", "b": "2"}
				fn.Spec.Handler, fn.Spec.Runtime, fn.Spec.Timeout, fn.Spec.Deps = "h.bar", "nodejs20", "5", "x"
			},
		},
		{
			name:  "ports: a Service port alone keeps the target port",
			patch: &v1beta1.Function{Spec: v1beta1.FunctionSpec{ServiceSpec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http-function-port", Port: 8080}}}}},
			want: func(fn *v1beta1.Function) {
				fn.Spec.ServiceSpec.Ports = []corev1.ServicePort{{Name: "http-function-port", Port: 8080, TargetPort: intstr.FromInt32(9000)}}
			},
		},
		{
			name:  "ports: a target port alone moves a Service port that was the same",
			patch: &v1beta1.Function{Spec: v1beta1.FunctionSpec{ServiceSpec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http-function-port", TargetPort: intstr.FromInt32(7000)}}}}},
			want: func(fn *v1beta1.Function) {
				fn.Spec.ServiceSpec.Ports = []corev1.ServicePort{{Name: "http-function-port", Port: 7000, TargetPort: intstr.FromInt32(7000)}}
			},
		},
		{
			name:  "ports: both given",
			patch: &v1beta1.Function{Spec: v1beta1.FunctionSpec{ServiceSpec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http-function-port", Port: 80, TargetPort: intstr.FromInt32(7000)}}}}},
			want: func(fn *v1beta1.Function) {
				fn.Spec.ServiceSpec.Ports = []corev1.ServicePort{{Name: "http-function-port", Port: 80, TargetPort: intstr.FromInt32(7000)}}
			},
		},
		{
			name: "pod and container flags of the original: node selector, service account, pull policy, envFrom",
			patch: func() *v1beta1.Function {
				fn := withTemplate(t, &v1beta1.Function{}, nil, &corev1.Container{
					ImagePullPolicy: corev1.PullNever,
					Env:             []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "TOKEN"}}}},
					EnvFrom:         []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				})
				d, _ := fn.Spec.DeploymentTemplate()
				d.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
				d.Spec.Template.Spec.ServiceAccountName = "fn-sa"
				fn.Spec.SetDeploymentTemplate(d)
				return fn
			}(),
			want: func(fn *v1beta1.Function) {
				d, _ := fn.Spec.DeploymentTemplate()
				ps := &d.Spec.Template.Spec
				ps.NodeSelector = map[string]string{"disk": "ssd"}
				ps.ServiceAccountName = "fn-sa"
				c := &ps.Containers[0]
				c.ImagePullPolicy = corev1.PullNever
				c.Env = append(c.Env, corev1.EnvVar{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "TOKEN"}}})
				c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}
				fn.Spec.SetDeploymentTemplate(d)
			},
		},
		{
			name: "template: replicas, env by name, resources, image, secrets by name",
			patch: withTemplate(t, &v1beta1.Function{}, ptr(int32(0)), &corev1.Container{
				Image:        "new:2",
				Env:          []corev1.EnvVar{{Name: "B", Value: "3"}, {Name: "C", Value: "4"}},
				Resources:    corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
				VolumeMounts: []corev1.VolumeMount{{Name: "s-vol", MountPath: "/s"}, {Name: "t-vol", MountPath: "/t"}},
			}, secretVol("s"), secretVol("t")),
			want: func(fn *v1beta1.Function) {
				withTemplate(t, fn, ptr(int32(0)), &corev1.Container{
					Image:        "new:2",
					Env:          []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "3"}, {Name: "C", Value: "4"}},
					Resources:    corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
					VolumeMounts: []corev1.VolumeMount{{Name: "s-vol", MountPath: "/s"}, {Name: "t-vol", MountPath: "/t"}},
				}, secretVol("s"), secretVol("t"))
			},
		},
		{
			name:  "autoscaler replaced whole",
			patch: &v1beta1.Function{Spec: v1beta1.FunctionSpec{HorizontalPodAutoscaler: raw(`{"metadata":{"name":"hello"},"spec":{"minReplicas":0,"maxReplicas":2}}`)}},
			want: func(fn *v1beta1.Function) {
				fn.Spec.HorizontalPodAutoscaler = raw(`{"metadata":{"name":"hello"},"spec":{"minReplicas":0,"maxReplicas":2}}`)
			},
		},
		{
			name:  "template without container keeps the container",
			patch: withTemplate(t, &v1beta1.Function{}, ptr(int32(5)), nil),
			want: func(fn *v1beta1.Function) {
				d, _ := fn.Spec.DeploymentTemplate()
				d.Spec.Replicas = ptr(int32(5))
				fn.Spec.SetDeploymentTemplate(d)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := base()
			got, err := MergeFunction(old, tt.patch)
			if err != nil {
				t.Fatal(err)
			}
			want := base()
			tt.want(want)
			if d := cmp.Diff(want.Labels, got.Labels); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
			wd, _ := want.Spec.DeploymentTemplate()
			gd, _ := got.Spec.DeploymentTemplate()
			if d := cmp.Diff(wd, gd); d != "" {
				t.Errorf("deployment (-want +got):\n%s", d)
			}
			want.Spec.Deployment, got.Spec.Deployment = nil, nil
			if d := cmp.Diff(want.Spec, got.Spec); d != "" {
				t.Errorf("spec (-want +got):\n%s", d)
			}
			if d := cmp.Diff(base(), old); d != "" {
				t.Errorf("old was modified (-want +got):\n%s", d)
			}
		})
	}

	bad := &v1beta1.Function{Spec: v1beta1.FunctionSpec{Deployment: &runtime.RawExtension{Raw: []byte(`{"spec":{"replicas":"two"}}`)}}}
	_, err := MergeFunction(base(), bad)
	if CodeOf(err) != CodeInvalid || !strings.HasPrefix(err.Error(), "spec.deployment is not a valid apps/v1 Deployment") {
		t.Errorf("bad template: %v", err)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# TYPE function_calls_total counter
function_calls_total{method="GET"} 3
function_calls_total{method="POST"} 1
# TYPE function_failures_total counter
function_failures_total{method="GET"} 1
# TYPE function_duration_seconds histogram
function_duration_seconds_bucket{method="GET",le="+Inf"} 3
function_duration_seconds_sum{method="GET"} 1.5
function_duration_seconds_count{method="GET"} 3
# TYPE other_total counter
other_total 9
`
	stats, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []FunctionMetrics{
		{Function: "f", Namespace: "ns", Method: "GET", TotalCalls: 3, TotalFailures: 1, TotalDurationSeconds: 1.5, AvgDurationSeconds: 0.5},
		{Function: "f", Namespace: "ns", Method: "POST", TotalCalls: 1},
	}
	if d := cmp.Diff(want, MetricsRows("ns", "f", stats)); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]FunctionMetrics{{Function: "f", Namespace: "ns"}}, MetricsRows("ns", "f", nil)); d != "" {
		t.Errorf("no samples (-want +got):\n%s", d)
	}
	if _, err := ParseMetrics(strings.NewReader("function_calls_total{method=GET 1\n")); err == nil {
		t.Error("bad text parsed")
	}
}

func raw(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }
