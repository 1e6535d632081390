package controller

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func kubelessConfig(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultConfig.Namespace, Name: DefaultConfig.Name}, Data: data}
}

// TestTemplateRefused: a Function whose own template makes its pods
// privileged, uses a host namespace or path, or names a service account
// gets TemplateRefused and no object at all, unless kubeless-config's
// function-pod-allow allows it; kubeless-config's own template is not
// checked.
func TestTemplateRefused(t *testing.T) {
	hostile := `{"spec":{"template":{"spec":{"hostPID":true,"serviceAccountName":"admin",
	  "volumes":[{"name":"root","hostPath":{"path":"/"}}],
	  "containers":[{"securityContext":{"privileged":true},"volumeMounts":[{"name":"root","mountPath":"/host"}]}]}}}}`
	for _, tc := range []struct {
		name    string
		allow   string
		refused bool
		msg     []string
	}{
		{"no allow-list", "", true, []string{`privileged container containers[0] (allowed by "privileged")`,
			`hostPID (allowed by "hostNamespaces")`, `hostPath volume root (/) (allowed by "hostPath")`,
			`service account admin (allowed by "serviceAccount")`, "function-pod-allow"}},
		{"some allowed", "privileged,hostPath", true, []string{"hostPID", "service account admin"}},
		{"all named", "privileged, hostNamespaces, hostPath, serviceAccount", false, nil},
		{"star", "*", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := function("evil", func(f *v1beta1.Function) { f.Spec.Deployment = &runtime.RawExtension{Raw: []byte(hostile)} })
			e := newFakeEnv(t, fn, kubelessConfig(map[string]string{KeyPodAllow: tc.allow}))
			reconcileOnce(t, e.fn, "default", "evil")
			cond := readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
			var deps appsv1.DeploymentList
			var cms corev1.ConfigMapList
			var svcs corev1.ServiceList
			for _, l := range []client.ObjectList{&deps, &cms, &svcs} {
				if err := e.c.List(context.Background(), l, client.InNamespace("default")); err != nil {
					t.Fatal(err)
				}
			}
			made := len(deps.Items) + len(cms.Items) + len(svcs.Items)
			if !tc.refused {
				if cond.Reason == v1beta1.ReasonTemplateRefused || len(deps.Items) != 1 {
					t.Fatalf("allowed template: condition %s %q, %d Deployments", cond.Reason, cond.Message, len(deps.Items))
				}
				ps := deps.Items[0].Spec.Template.Spec
				if !ps.HostPID || ps.ServiceAccountName != "admin" || !*ps.Containers[0].SecurityContext.Privileged {
					t.Errorf("the allowed template lost what it asked for: %+v", ps)
				}
				return
			}
			if cond.Status != metav1.ConditionFalse || cond.Reason != v1beta1.ReasonTemplateRefused {
				t.Fatalf("condition %s/%s %q, want False/TemplateRefused", cond.Status, cond.Reason, cond.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(cond.Message, m) {
					t.Errorf("message %q does not say %q", cond.Message, m)
				}
			}
			if made != 0 {
				t.Errorf("a refused template made %d Deployments, %d ConfigMaps, %d Services; want none", len(deps.Items), len(cms.Items), len(svcs.Items))
			}
			if evs := drain(e.rec); len(evs) != 1 || !strings.HasPrefix(evs[0], "Warning TemplateRefused ") {
				t.Errorf("events %v, want one Warning TemplateRefused", evs)
			}
		})
	}
}

// TestSharedTemplateIsNotChecked: the administrator's template in
// kubeless-config may give every function a service account; a Function
// still may not name one.
func TestSharedTemplateIsNotChecked(t *testing.T) {
	cfg := kubelessConfig(map[string]string{KeyDeployment: `{"spec":{"template":{"spec":{"serviceAccountName":"functions"}}}}`})
	fn := function("hello")
	e := newFakeEnv(t, fn, cfg)
	reconcileOnce(t, e.fn, "default", "hello")
	var d appsv1.Deployment
	if err := e.c.Get(context.Background(), client.ObjectKeyFromObject(fn), &d); err != nil {
		t.Fatal(err)
	}
	if ps := d.Spec.Template.Spec; ps.ServiceAccountName != "functions" || ps.AutomountServiceAccountToken != nil {
		t.Errorf("service account %q, automount %v: want kubeless-config's, its token mounted", ps.ServiceAccountName, ps.AutomountServiceAccountToken)
	}

	own := function("own", func(f *v1beta1.Function) {
		f.Spec.Deployment = &runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"spec":{"serviceAccountName":"admin"}}}}`)}
	})
	e = newFakeEnv(t, own, cfg)
	reconcileOnce(t, e.fn, "default", "own")
	if c := readyOf(t, e.c, own, func() []metav1.Condition { return own.Status.Conditions }); c.Reason != v1beta1.ReasonTemplateRefused {
		t.Errorf("condition %s %q, want TemplateRefused", c.Reason, c.Message)
	}
}

// TestPodAllowKey: a bad function-pod-allow is InvalidConfig naming the
// key and the known names.
func TestPodAllowKey(t *testing.T) {
	fn := function("hello")
	e := newFakeEnv(t, fn, kubelessConfig(map[string]string{KeyPodAllow: "privileged,everything"}))
	reconcileOnce(t, e.fn, "default", "hello")
	c := readyOf(t, e.c, fn, func() []metav1.Condition { return fn.Status.Conditions })
	if c.Reason != v1beta1.ReasonInvalidConfig || !strings.Contains(c.Message, `key function-pod-allow: unknown exception "everything"; known: privileged,`) {
		t.Errorf("condition %s %q", c.Reason, c.Message)
	}
}
