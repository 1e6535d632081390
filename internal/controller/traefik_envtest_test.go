package controller_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/kubetest"
	"github.com/kubeless/kubeless/internal/render"
)

// TestTraefikGatewayMakesMiddlewares: an HTTPTrigger with gateway traefik
// gets its Middlewares (CORS, basic auth, path), owned by the trigger and
// chained by its Ingress, with the RBAC of kubeless.yaml; when the trigger
// moves to the nginx gateway, they are deleted and the Ingress gets the
// nginx annotations.
func TestTraefikGatewayMakesMiddlewares(t *testing.T) {
	c := startController(t)
	ctx := context.Background()
	if err := applyFile(ctx, c, filepath.Join("testdata", "traefik-middleware-crd.yaml")); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	kubetest.Eventually(t, waitFor, func() error {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(render.TraefikMiddlewareGVK.GroupVersion().WithKind("MiddlewareList"))
		return c.List(ctx, l, client.InNamespace(ns))
	})
	fn := newFunction(ns, "hello", "python3.11", "hello.foo", "def foo(event, context):\n    return 'hi'\n", "")
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	ht := &v1beta1.HTTPTrigger{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello", HostName: "hello.example.com", Path: "greet", Gateway: "traefik",
			TLSSecret: "hello-cert", BasicAuthSecret: "hello-auth", CorsEnable: true, CorsDomain: "https://app.example.com"},
	}
	if err := c.Create(ctx, ht); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, ht, func() *v1beta1.TriggerStatus { return &ht.Status }, v1beta1.ReasonReady)

	middleware := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(render.TraefikMiddlewareGVK)
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	for name, field := range map[string]string{"web-cors": "headers", "web-auth": "basicAuth", "web-path": "replacePath"} {
		m := middleware(name)
		get(t, c, client.ObjectKeyFromObject(m), m)
		ownedBy(t, m, ht.UID)
		if _, ok, _ := unstructured.NestedMap(m.Object, "spec", field); !ok {
			t.Errorf("Middleware %s: spec %v, want %s", name, m.Object["spec"], field)
		}
	}
	auth := middleware("web-auth")
	get(t, c, client.ObjectKeyFromObject(auth), auth)
	if secret, _, _ := unstructured.NestedString(auth.Object, "spec", "basicAuth", "secret"); secret != "hello-auth" {
		t.Errorf("basicAuth secret %q, want hello-auth", secret)
	}
	var ing networkingv1.Ingress
	get(t, c, client.ObjectKeyFromObject(ht), &ing)
	want := ns + "-web-cors@kubernetescrd," + ns + "-web-auth@kubernetescrd," + ns + "-web-path@kubernetescrd"
	if got := ing.Annotations[render.AnnotationTraefikMiddlewares]; got != want || ing.Annotations[render.AnnotationIngressClass] != "traefik" ||
		ing.Annotations["traefik.ingress.kubernetes.io/router.tls"] != "true" {
		t.Errorf("Ingress annotations %v, want middlewares %s", ing.Annotations, want)
	}

	// To the nginx gateway: the Middlewares go, the Ingress has nginx's annotations.
	var cur v1beta1.HTTPTrigger
	get(t, c, client.ObjectKeyFromObject(ht), &cur)
	cur.Spec.Gateway = "nginx"
	if err := c.Update(ctx, &cur); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, waitFor, func() error {
		for _, name := range []string{"web-cors", "web-auth", "web-path"} {
			m := middleware(name)
			if err := c.Get(ctx, client.ObjectKeyFromObject(m), m); !apierrors.IsNotFound(err) {
				return fmt.Errorf("Middleware %s still there (%v)", name, err)
			}
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ht), &ing); err != nil {
			return err
		}
		if _, ok := ing.Annotations[render.AnnotationTraefikMiddlewares]; ok || ing.Annotations["nginx.ingress.kubernetes.io/auth-secret"] != "hello-auth" {
			return fmt.Errorf("Ingress annotations %v", ing.Annotations)
		}
		return nil
	})
}

// TestTraefikMiddlewaresRestored: the controller watches the Middlewares
// an HTTPTrigger owns, so one edited by hand gets its rendered spec back,
// and one deleted comes back, without any change to the trigger or its
// function.
func TestTraefikMiddlewaresRestored(t *testing.T) {
	c := startController(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	fn := newFunction(ns, "hello", "python3.11", "hello.foo", "def foo(event, context):\n    return 'hi'\n", "")
	if err := c.Create(ctx, fn); err != nil {
		t.Fatal(err)
	}
	ht := &v1beta1.HTTPTrigger{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello", Gateway: "traefik",
			CorsEnable: true, CorsDomain: "https://app.example.com"},
	}
	if err := c.Create(ctx, ht); err != nil {
		t.Fatal(err)
	}
	triggerReady(t, c, ht, func() *v1beta1.TriggerStatus { return &ht.Status }, v1beta1.ReasonReady)

	cors := &unstructured.Unstructured{}
	cors.SetGroupVersionKind(render.TraefikMiddlewareGVK)
	cors.SetNamespace(ns)
	cors.SetName("web-cors")
	get(t, c, client.ObjectKeyFromObject(cors), cors)
	want, _, _ := unstructured.NestedStringSlice(cors.Object, "spec", "headers", "accessControlAllowOriginList")
	if len(want) != 1 || want[0] != "https://app.example.com" {
		t.Fatalf("Middleware web-cors allows origins %q, want [https://app.example.com]", want)
	}
	trigger := &v1beta1.HTTPTrigger{}
	get(t, c, client.ObjectKeyFromObject(ht), trigger)
	origins := func() ([]string, error) {
		m := cors.DeepCopy()
		if err := c.Get(ctx, client.ObjectKeyFromObject(m), m); err != nil {
			return nil, err
		}
		got, _, err := unstructured.NestedStringSlice(m.Object, "spec", "headers", "accessControlAllowOriginList")
		return got, err
	}

	// Edited by hand: the origins come back.
	edited := cors.DeepCopy()
	if err := unstructured.SetNestedStringSlice(edited.Object, []string{"https://evil.example.com"}, "spec", "headers", "accessControlAllowOriginList"); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, edited); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, waitFor, func() error {
		got, err := origins()
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0] != want[0] {
			return fmt.Errorf("Middleware web-cors allows origins %q, want %q", got, want)
		}
		return nil
	})

	// Deleted: a new one comes back.
	if err := c.Delete(ctx, cors.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, waitFor, func() error {
		m := cors.DeepCopy()
		if err := c.Get(ctx, client.ObjectKeyFromObject(m), m); err != nil {
			return err
		}
		if m.GetUID() == cors.GetUID() {
			return fmt.Errorf("Middleware web-cors %s not deleted yet", m.GetUID())
		}
		ownedBy(t, m, ht.UID)
		return nil
	})

	// The trigger itself was not changed: its watch, not a change of its
	// own, put the Middleware back.
	after := &v1beta1.HTTPTrigger{}
	get(t, c, client.ObjectKeyFromObject(ht), after)
	if after.Generation != trigger.Generation {
		t.Errorf("the trigger's generation went from %d to %d", trigger.Generation, after.Generation)
	}
}
