package controller

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// The objects an original Kubeless v1.0.x installation leaves, in the
// shapes its controllers made them: plain owner references (no controller
// flag), the function's labels plus created-by=kubeless, finalizers on the
// Function and the triggers, the Ingress with the trigger's labels, and the
// cron trigger's CronJob named trigger-<function> owned by kind "Trigger".
type original struct {
	fn      *v1beta1.Function
	http    *v1beta1.HTTPTrigger
	cron    *v1beta1.CronJobTrigger
	objects []client.Object
}

func originalInstallation(ingressLabels map[string]string) original {
	labels := map[string]string{"created-by": "kubeless", "function": "hello"}
	fnRef := []metav1.OwnerReference{{APIVersion: "kubeless.io/v1beta1", Kind: "Function", Name: "hello", UID: "hello-uid"}}
	fn := function("hello", func(f *v1beta1.Function) {
		f.Labels = labels
		f.Finalizers = []string{"kubeless.io/function"}
		f.Spec.ServiceSpec = corev1.ServiceSpec{
			Ports:    []corev1.ServicePort{{Name: "http-function-port", Port: 8080, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
			Selector: labels,
			Type:     corev1.ServiceTypeClusterIP,
		}
		f.Spec.HorizontalPodAutoscaler = &runtime.RawExtension{Raw: []byte(`{"metadata":{"name":"hello","namespace":"default","labels":{"created-by":"kubeless","function":"hello"}},
		  "spec":{"scaleTargetRef":{"apiVersion":"apps/v1beta1","kind":"Deployment","name":"hello"},"minReplicas":1,"maxReplicas":3,
		  "metrics":[{"type":"Resource","resource":{"name":"cpu","targetAverageUtilization":70}}]}}`)}
	})
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "default", Name: "hello", Labels: labels, OwnerReferences: fnRef}
	}
	one := int32(1)
	http := &v1beta1.HTTPTrigger{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello", UID: "http-uid", Generation: 1,
			Labels: map[string]string{"created-by": "kubeless"}, Finalizers: []string{"kubeless.io/httptrigger"},
			// what the serverless framework's plugin puts on its triggers
			Annotations: map[string]string{"kubernetes.io/ingress.class": "nginx-internal", "nginx.ingress.kubernetes.io/proxy-body-size": "8m"}},
		Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello", HostName: "hello.example.com", Gateway: "nginx"},
	}
	cron := &v1beta1.CronJobTrigger{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello-cron", UID: "cron-uid", Generation: 1,
			Labels: map[string]string{"created-by": "kubeless"}, Finalizers: []string{"kubeless.io/cronjobtrigger"}},
		Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "* * * * *"},
	}
	prefix := networkingv1.PathTypeImplementationSpecific
	deadline := int64(180)
	three := int32(3)
	objs := []client.Object{
		&corev1.ConfigMap{ObjectMeta: meta(), Data: map[string]string{"handler": "hello.foo", "hello.py": "old", "requirements.txt": ""}},
		&corev1.Service{ObjectMeta: meta(), Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.42", Type: corev1.ServiceTypeClusterIP, Selector: labels,
			Ports: []corev1.ServicePort{{Name: "http-function-port", Port: 8080, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}},
		&appsv1.Deployment{ObjectMeta: meta(), Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: "kubeless/python:3.7"}}}}}},
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: meta(), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1beta1", Kind: "Deployment", Name: "hello"}}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello", Labels: ingressLabels,
			Annotations:     map[string]string{"nginx.ingress.kubernetes.io/rewrite-target": "/", "kubernetes.io/ingress.class": "nginx"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeless.io/v1beta1", Kind: "HTTPTrigger", Name: "hello", UID: "http-uid"}}},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "hello.example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: "hello", Port: networkingv1.ServiceBackendPort{Number: 8080}}}}}}}}}}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "trigger-hello", Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeless.io/v1beta1", Kind: "Trigger", Name: "hello-cron", UID: "cron-uid"}}},
			Spec: batchv1.CronJobSpec{Schedule: "* * * * *", SuccessfulJobsHistoryLimit: &three,
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{ActiveDeadlineSeconds: &deadline,
					Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
						Containers: []corev1.Container{{Name: "trigger", Image: "kubeless/unzip",
							Args: []string{"curl", "-Lv", "-H", "event-namespace: cronjobtrigger.kubeless.io", "http://hello.default.svc.cluster.local:8080"}}}}}}}}},
	}
	return original{fn: fn, http: http, cron: cron, objects: objs}
}

// TestTakeOverTheOriginal: the controller adopts the original's objects in
// place (Service name, ports and cluster IP kept), replaces its cron
// trigger's CronJob by the trigger's own (one CronJob: the schedule fires
// once), copies the trigger's annotations to the Ingress, and removes the
// original controllers' finalizers.
func TestTakeOverTheOriginal(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ingressLabels map[string]string
	}{
		{"CLI trigger", map[string]string{"created-by": "kubeless"}},
		// a trigger without labels (its Ingress has none): adopted by its
		// owner reference
		{"unlabelled trigger", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := originalInstallation(tc.ingressLabels)
			e := newFakeEnv(t, append([]client.Object{o.fn, o.http, o.cron}, o.objects...)...)
			ctx := context.Background()
			reconcileOnce(t, e.fn, "default", "hello")
			reconcileOnce(t, e.http, "default", "hello")
			reconcileOnce(t, e.cron, "default", "hello-cron")
			reconcileOnce(t, e.cron, "default", "hello-cron")

			for _, obj := range []client.Object{&corev1.ConfigMap{}, &corev1.Service{}, &appsv1.Deployment{}, &autoscalingv2.HorizontalPodAutoscaler{}} {
				if err := e.c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "hello"}, obj); err != nil {
					t.Fatalf("%T: %v", obj, err)
				}
				if ref := metav1.GetControllerOf(obj); ref == nil || ref.UID != "hello-uid" || ref.Kind != "Function" {
					t.Errorf("%T not adopted: controller %+v", obj, ref)
				}
				if n := len(obj.GetOwnerReferences()); n != 1 {
					t.Errorf("%T has %d owner references, want the Function's one", obj, n)
				}
			}
			var svc corev1.Service
			if err := e.c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "hello"}, &svc); err != nil {
				t.Fatal(err)
			}
			if p := svc.Spec.Ports; svc.Spec.ClusterIP != "10.96.0.42" || len(p) != 1 || p[0].Port != 8080 || p[0].Name != "http-function-port" {
				t.Errorf("Service changed: cluster IP %s, ports %+v", svc.Spec.ClusterIP, p)
			}
			var cm corev1.ConfigMap
			if err := e.c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "hello"}, &cm); err != nil || cm.Data["hello.py"] != o.fn.Spec.Function {
				t.Errorf("ConfigMap data %v (%v), want the Function's code", cm.Data, err)
			}

			var ing networkingv1.Ingress
			if err := e.c.Get(ctx, types.NamespacedName{Namespace: "default", Name: "hello"}, &ing); err != nil {
				t.Fatal(err)
			}
			if ref := metav1.GetControllerOf(&ing); ref == nil || ref.UID != "http-uid" {
				t.Errorf("Ingress not adopted: controller %+v", ref)
			}
			if ing.Annotations["kubernetes.io/ingress.class"] != "nginx-internal" || ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"] != "8m" {
				t.Errorf("Ingress annotations %v, want the trigger's", ing.Annotations)
			}

			var cjs batchv1.CronJobList
			if err := e.c.List(ctx, &cjs, client.InNamespace("default")); err != nil {
				t.Fatal(err)
			}
			if len(cjs.Items) != 1 || cjs.Items[0].Name != "hello-cron" {
				var names []string
				for _, c := range cjs.Items {
					names = append(names, c.Name)
				}
				t.Fatalf("CronJobs %v, want only the trigger's hello-cron (the original's trigger-hello replaced)", names)
			}
			if ref := metav1.GetControllerOf(&cjs.Items[0]); ref == nil || ref.UID != "cron-uid" {
				t.Errorf("CronJob controller %+v", ref)
			}

			var fn v1beta1.Function
			var ht v1beta1.HTTPTrigger
			var ct v1beta1.CronJobTrigger
			for _, obj := range []client.Object{&fn, &ht, &ct} {
				key := types.NamespacedName{Namespace: "default", Name: "hello"}
				if obj == &ct {
					key.Name = "hello-cron"
				}
				if err := e.c.Get(ctx, key, obj); err != nil {
					t.Fatal(err)
				}
				if f := obj.GetFinalizers(); len(f) != 0 {
					t.Errorf("%T keeps the original's finalizers %v", obj, f)
				}
			}
			for _, c := range [][]metav1.Condition{fn.Status.Conditions, ht.Status.Conditions, ct.Status.Conditions} {
				for _, cond := range c {
					if cond.Reason == v1beta1.ReasonConflict {
						t.Errorf("condition %+v", cond)
					}
				}
			}
		})
	}
}

// TestOriginalCronJobOnlyIfOriginal: a trigger-<function> CronJob that the
// original did not make (another controller's, or unlabelled) is left alone.
func TestOriginalCronJobOnlyIfOriginal(t *testing.T) {
	yes := true
	for name, meta := range map[string]metav1.ObjectMeta{
		"someone else's": {Labels: map[string]string{"created-by": "kubeless"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "x", UID: "x", Controller: &yes}}},
		"unlabelled":             {OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeless.io/v1beta1", Kind: "Trigger", Name: "hello-cron", UID: "cron-uid"}}},
		"not owned by a trigger": {Labels: map[string]string{"created-by": "kubeless"}},
	} {
		t.Run(name, func(t *testing.T) {
			cj := &batchv1.CronJob{ObjectMeta: meta, Spec: batchv1.CronJobSpec{Schedule: "@daily"}}
			cj.Namespace, cj.Name = "default", "trigger-hello"
			ct := &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello-cron", UID: "cron-uid"},
				Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "* * * * *"}}
			e := newFakeEnv(t, function("hello"), ct, cj)
			reconcileOnce(t, e.cron, "default", "hello-cron")
			if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(cj), &batchv1.CronJob{}); err != nil {
				t.Errorf("%s CronJob trigger-hello deleted: %v", name, err)
			}
		})
	}
}
