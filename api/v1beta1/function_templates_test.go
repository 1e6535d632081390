package v1beta1_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func raw(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

func TestDeploymentTemplate(t *testing.T) {
	tests := []struct {
		name    string
		spec    v1beta1.FunctionSpec
		want    *appsv1.Deployment
		wantErr string
	}{
		{
			name: "absent",
			want: &appsv1.Deployment{},
		},
		{
			name: "null",
			spec: v1beta1.FunctionSpec{Deployment: raw("null")},
			want: &appsv1.Deployment{},
		},
		{
			name: "empty-shaped, as the original CLI wrote it",
			spec: v1beta1.FunctionSpec{Deployment: raw(`{"metadata":{"creationTimestamp":null},"spec":{"strategy":{},` +
				`"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"imagePullPolicy":"Always","name":"","resources":{}}]}}},"status":{}}`)},
			want: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{ImagePullPolicy: corev1.PullAlways}},
			}}}},
		},
		{
			name: "unknown fields are ignored, as in the original",
			spec: v1beta1.FunctionSpec{Deployment: raw(`{"spec":{"replicas":2,"affinity":{"nodeAffinity":{}}}}`)},
			want: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: new(int32(2))}},
		},
		{
			name:    "a value of the wrong type",
			spec:    v1beta1.FunctionSpec{Deployment: raw(`{"spec":{"template":{"spec":{"containers":[{"name":"","env":[{"name":"PORT","value":8080}]}]}}}}`)},
			wantErr: "spec.deployment is not a valid apps/v1 Deployment: ",
		},
		{
			name:    "field names are case-sensitive, as in the API server",
			spec:    v1beta1.FunctionSpec{Deployment: raw(`{"spec":{"Replicas":"two"}}`)},
			want:    &appsv1.Deployment{},
			wantErr: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.spec.DeploymentTemplate()
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetDeploymentTemplate(t *testing.T) {
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"a": "b"}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Env:             []corev1.EnvVar{{Name: "FOO", Value: "bar"}},
				ImagePullPolicy: corev1.PullIfNotPresent,
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
					corev1.ResourceMemory: resource.MustParse("128Mi"),
				}},
			}},
		}}},
	}
	var s v1beta1.FunctionSpec
	if err := s.SetDeploymentTemplate(d); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(s.Deployment.Raw), "apiVersion") {
		t.Errorf("apiVersion written: %s", s.Deployment.Raw)
	}
	got, err := s.DeploymentTemplate()
	if err != nil {
		t.Fatal(err)
	}
	want := d.DeepCopy()
	want.TypeMeta = metav1.TypeMeta{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if d.APIVersion != "apps/v1" {
		t.Errorf("SetDeploymentTemplate changed its argument")
	}
	if err := s.SetDeploymentTemplate(nil); err != nil || s.Deployment != nil {
		t.Errorf("SetDeploymentTemplate(nil): %v, %v", err, s.Deployment)
	}
}

func TestAutoscaler(t *testing.T) {
	qty := func(s string) *resource.Quantity { q := resource.MustParse(s); return &q }
	deploymentRef := func(name string) autoscalingv2.CrossVersionObjectReference {
		return autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name}
	}
	labels := func(fn string) map[string]string { return map[string]string{"created-by": "kubeless", "function": fn} }
	tests := []struct {
		name    string
		spec    v1beta1.FunctionSpec // or file
		file    string
		want    *autoscalingv2.HorizontalPodAutoscaler
		wantErr string
	}{
		{name: "absent"},
		{name: "empty-shaped, as the original CLI wrote it: no autoscaling", file: "function-cli.yaml"},
		{
			name: "no scaleTargetRef.name: no autoscaling, as in the original",
			spec: v1beta1.FunctionSpec{HorizontalPodAutoscaler: raw(`{"metadata":{"name":"f"},"spec":{"maxReplicas":3}}`)},
		},
		{
			name: "original CLI, --metric cpu (autoscaling/v2beta1)",
			file: "function-cli-full.yaml",
			want: &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", Labels: labels("hello")},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: deploymentRef("hello"),
					MinReplicas:    new(int32(1)),
					MaxReplicas:    5,
					Metrics: []autoscalingv2.MetricSpec{{
						Type: autoscalingv2.ResourceMetricSourceType,
						Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
							Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(70)),
						}},
					}},
				},
			},
		},
		{
			name: "original CLI, --metric qps (autoscaling/v2beta1)",
			file: "function-cli-qps.yaml",
			want: &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: "node-zip", Namespace: "default", Labels: labels("node-zip")},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: deploymentRef("node-zip"),
					MinReplicas:    new(int32(2)),
					MaxReplicas:    4,
					Metrics: []autoscalingv2.MetricSpec{{
						Type: autoscalingv2.ObjectMetricSourceType,
						Object: &autoscalingv2.ObjectMetricSource{
							DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Service", Name: "node-zip"},
							Metric:          autoscalingv2.MetricIdentifier{Name: "function_calls"},
							Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("10")},
						},
					}},
				},
			},
		},
		{
			name: "autoscaling/v2 shape",
			file: "function-autoscale-v2.yaml",
			want: &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: "scaled"},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: deploymentRef("scaled"),
					MinReplicas:    new(int32(1)),
					MaxReplicas:    10,
					Metrics: []autoscalingv2.MetricSpec{{
						Type: autoscalingv2.ResourceMetricSourceType,
						Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{
							Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("200Mi"),
						}},
					}, {
						Type: autoscalingv2.ObjectMetricSourceType,
						Object: &autoscalingv2.ObjectMetricSource{
							DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Service", Name: "scaled"},
							Metric:          autoscalingv2.MetricIdentifier{Name: "function_calls"},
							Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("20")},
						},
					}},
					Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
						ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: new(int32(60))},
					},
				},
			},
		},
		{
			name: "other autoscaling/v2beta1 metrics",
			spec: v1beta1.FunctionSpec{HorizontalPodAutoscaler: raw(`{"metadata":{"name":"f"},"spec":{
				"scaleTargetRef":{"apiVersion":"extensions/v1beta1","kind":"Deployment","name":"f"},"maxReplicas":3,"metrics":[
				{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}},
				{"type":"ContainerResource","containerResource":{"name":"cpu","container":"f","targetAverageUtilization":50}},
				{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"5","selector":{"matchLabels":{"a":"b"}}}},
				{"type":"External","external":{"metricName":"queue","metricSelector":{"matchLabels":{"q":"x"}},"targetValue":"30"}},
				{"type":"External","external":{"metricName":"lag","targetAverageValue":"2"}},
				{"type":"Object","object":{"metricName":"hits","target":{"kind":"Ingress","name":"f","apiVersion":"networking.k8s.io/v1"},"targetValue":"1","averageValue":"7"}}]}}`)},
			want: &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: "f"},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: deploymentRef("f"),
					MaxReplicas:    3,
					Metrics: []autoscalingv2.MetricSpec{{
						Type: autoscalingv2.ResourceMetricSourceType,
						Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{
							Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("100Mi"),
						}},
					}, {
						Type: autoscalingv2.ContainerResourceMetricSourceType,
						ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceCPU, Container: "f", Target: autoscalingv2.MetricTarget{
							Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(50)),
						}},
					}, {
						Type: autoscalingv2.PodsMetricSourceType,
						Pods: &autoscalingv2.PodsMetricSource{
							Metric: autoscalingv2.MetricIdentifier{Name: "rps", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}},
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("5")},
						},
					}, {
						Type: autoscalingv2.ExternalMetricSourceType,
						External: &autoscalingv2.ExternalMetricSource{
							Metric: autoscalingv2.MetricIdentifier{Name: "queue", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"q": "x"}}},
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("30")},
						},
					}, {
						Type: autoscalingv2.ExternalMetricSourceType,
						External: &autoscalingv2.ExternalMetricSource{
							Metric: autoscalingv2.MetricIdentifier{Name: "lag"},
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("2")},
						},
					}, {
						Type: autoscalingv2.ObjectMetricSourceType,
						Object: &autoscalingv2.ObjectMetricSource{
							DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "f"},
							Metric:          autoscalingv2.MetricIdentifier{Name: "hits"},
							Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("7")},
						},
					}},
				},
			},
		},
		{
			name:    "wrong type",
			spec:    v1beta1.FunctionSpec{HorizontalPodAutoscaler: raw(`{"metadata":{"name":"f"},"spec":{"maxReplicas":"three"}}`)},
			wantErr: "spec.horizontalPodAutoscaler is not a valid HorizontalPodAutoscaler: ",
		},
		{
			name:    "unknown metric type",
			spec:    v1beta1.FunctionSpec{HorizontalPodAutoscaler: raw(`{"metadata":{"name":"f"},"spec":{"scaleTargetRef":{"name":"f"},"maxReplicas":3,"metrics":[{"type":"Custom"}]}}`)},
			wantErr: `spec.horizontalPodAutoscaler.spec.metrics[0]: unknown metric type "Custom"`,
		},
		{
			name:    "metric without its source",
			spec:    v1beta1.FunctionSpec{HorizontalPodAutoscaler: raw(`{"metadata":{"name":"f"},"spec":{"scaleTargetRef":{"name":"f"},"maxReplicas":3,"metrics":[{"type":"Pods"}]}}`)},
			wantErr: `spec.horizontalPodAutoscaler.spec.metrics[0]: type Pods needs a "pods" field`,
		},
		{
			name:    "metric without a target",
			spec:    v1beta1.FunctionSpec{HorizontalPodAutoscaler: raw(`{"metadata":{"name":"f"},"spec":{"scaleTargetRef":{"name":"f"},"maxReplicas":3,"metrics":[{"type":"Resource","resource":{"name":"cpu"}}]}}`)},
			wantErr: `spec.horizontalPodAutoscaler.spec.metrics[0]: resource "cpu" has no target`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			if tt.file != "" {
				s = decode(t, tt.file).(*v1beta1.Function).Spec
			}
			got, err := s.Autoscaler()
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got == nil {
				return
			}
			// What SetAutoscaler stores reads back the same.
			var again v1beta1.FunctionSpec
			if err := again.SetAutoscaler(got); err != nil {
				t.Fatal(err)
			}
			back, err := again.Autoscaler()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("SetAutoscaler then Autoscaler (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetAutoscalerNil(t *testing.T) {
	s := v1beta1.FunctionSpec{HorizontalPodAutoscaler: raw(`{}`)}
	if err := s.SetAutoscaler(nil); err != nil || s.HorizontalPodAutoscaler != nil {
		t.Errorf("SetAutoscaler(nil): %v, %v", err, s.HorizontalPodAutoscaler)
	}
}
