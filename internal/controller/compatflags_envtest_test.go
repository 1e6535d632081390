package controller_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestOriginalCLIFlagsReachTheCluster: a Function as the original CLI's
// flags make it (--headless, --servicePort 80 --port 9000,
// --node-selectors, --image-pull-policy, --env-from-secret,
// --env-from-configmap NAME:KEY) gets a headless Service on port 80 to
// 9000 and pods with the node selector, pull policy and env sources, on a
// real API server (server-side apply of a headless Service included).
func TestOriginalCLIFlagsReachTheCluster(t *testing.T) {
	c := startController(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	fn := newFunction(ns, "flags", "python3.11", "hello.foo", "def foo(event, context):\n    return 'hi'\n", "")
	fn.Spec.ServiceSpec = corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{
		Name: "http-function-port", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(9000)}}}
	envFrom := []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}}
	level := corev1.EnvVar{Name: "LEVEL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "LEVEL"}}}
	tpl := &appsv1.Deployment{}
	tpl.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	tpl.Spec.Template.Spec.Containers = []corev1.Container{{ImagePullPolicy: corev1.PullIfNotPresent, EnvFrom: envFrom, Env: []corev1.EnvVar{level}}}
	if err := fn.Spec.SetDeploymentTemplate(tpl); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(fn)

	var svc corev1.Service
	get(t, c, key, &svc)
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].TargetPort.IntVal != 9000 {
		t.Errorf("Service clusterIP %q ports %+v, want headless, 80 to 9000", svc.Spec.ClusterIP, svc.Spec.Ports)
	}
	var d appsv1.Deployment
	get(t, c, key, &d)
	ps := d.Spec.Template.Spec
	fc := ps.Containers[0]
	if !cmp.Equal(ps.NodeSelector, map[string]string{"disk": "ssd"}) || fc.ImagePullPolicy != corev1.PullIfNotPresent || !cmp.Equal(fc.EnvFrom, envFrom) {
		t.Errorf("pod: nodeSelector %v, pull policy %s, envFrom %+v", ps.NodeSelector, fc.ImagePullPolicy, fc.EnvFrom)
	}
	if envValue(fc, "FUNC_PORT") != "9000" || len(fc.Ports) != 1 || fc.Ports[0].ContainerPort != 9000 {
		t.Errorf("function container ports %+v, FUNC_PORT %q: want 9000", fc.Ports, envValue(fc, "FUNC_PORT"))
	}
	found := false
	for _, e := range fc.Env {
		if e.Name == "LEVEL" && cmp.Equal(e, level) {
			found = true
		}
	}
	if !found {
		t.Errorf("function container env %+v lacks LEVEL from the ConfigMap", fc.Env)
	}
}
