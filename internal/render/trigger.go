package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// CronEventNamespace is the event-namespace header of cron trigger calls.
const CronEventNamespace = "cronjobtrigger.kubeless.io"

// LabelCronJobTrigger names the trigger on the jobs and pods of its CronJob
// (they carry created-by=kubeless but not the function label, so that the
// function's Service and pod selectors never pick them).
const LabelCronJobTrigger = "kubeless.io/cronjobtrigger"

var (
	cronTriggerGVK = v1beta1.GroupVersion.WithKind("CronJobTrigger")
	httpTriggerGVK = v1beta1.GroupVersion.WithKind("HTTPTrigger")
)

// triggerMeta is the metadata of a trigger's object: named like the
// trigger, labels trigger's ∪ created-by=kubeless,function=<function>, owned
// by the trigger.
func triggerMeta(obj metav1.Object, function string, owner []metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      obj.GetName(),
		Namespace: obj.GetNamespace(),
		Labels: union(obj.GetLabels(), map[string]string{
			v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless,
			v1beta1.LabelFunction:  function,
		}),
		OwnerReferences: owner,
	}
}

// CronJob returns the batch/v1 CronJob, named like the trigger, that calls
// fn on tr's schedule (docs/compatibility.md §1.4). Each job runs one
// container "trigger" in the provision image (any image with sh and curl or
// wget, so no runtime image is needed), whose constant script sends the
// event headers (event-id and event-time made at run time, event-type
// application/json, event-namespace cronjobtrigger.kubeless.io) to
// http://<function>.<namespace>.svc.<domain>:<port>, with a GET, or a POST
// of the payload as JSON when the trigger has one. The job's deadline is the
// function's timeout; history limits 3 and 1 as in the original.
func CronJob(tr *v1beta1.CronJobTrigger, fn *v1beta1.Function, cfg Config) (*batchv1.CronJob, error) {
	if tr.Spec.FunctionName != fn.Name {
		return nil, errorf(v1beta1.ReasonInvalidTrigger, "trigger %q is for function %q, not %q", tr.Name, tr.Spec.FunctionName, fn.Name)
	}
	if strings.TrimSpace(tr.Spec.Schedule) == "" {
		return nil, errorf(v1beta1.ReasonInvalidTrigger, "trigger %q: spec.schedule is empty, want a cron expression such as \"*/5 * * * *\"", tr.Name)
	}
	secs, err := strconv.ParseInt(timeout(fn), 10, 64)
	if err != nil {
		return nil, errorf(v1beta1.ReasonInvalidTrigger, "function %q: spec.timeout %q is not a whole number of seconds", fn.Name, fn.Spec.Timeout)
	}
	env := []corev1.EnvVar{
		{Name: EnvFunctionURL, Value: FunctionURL(fn, cfg)},
		{Name: EnvEventNamespace, Value: CronEventNamespace},
	}
	if p := tr.Spec.Payload; p != nil {
		raw, err := p.MarshalJSON()
		if err != nil {
			return nil, errorf(v1beta1.ReasonInvalidTrigger, "trigger %q: spec.payload: %v", tr.Name, err)
		}
		if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, errorf(v1beta1.ReasonInvalidTrigger, "trigger %q: spec.payload is not JSON: %v", tr.Name, err)
			}
			env = append(env, corev1.EnvVar{Name: EnvPayload, Value: literal(buf.String())})
		}
	}
	three, one, no := int32(3), int32(1), false
	var deadline *int64
	if secs > 0 {
		deadline = &secs
	}
	meta := triggerMeta(tr, fn.Name, ownerRef(cronTriggerGVK, tr))
	// The jobs' pods must not carry the function's selector labels: its
	// Service would send calls to them, and they would count as its pods.
	podLabels := map[string]string{
		v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless,
		LabelCronJobTrigger:    tr.Name,
	}
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: meta,
		Spec: batchv1.CronJobSpec{
			Schedule:                   tr.Spec.Schedule,
			SuccessfulJobsHistoryLimit: &three,
			FailedJobsHistoryLimit:     &one,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: batchv1.JobSpec{
					ActiveDeadlineSeconds: deadline,
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
						Spec: corev1.PodSpec{
							RestartPolicy: corev1.RestartPolicyNever,
							// the restricted Pod Security Standard, as function pods
							SecurityContext:              restrictedPodSecurityContext(),
							AutomountServiceAccountToken: &no,
							ImagePullSecrets:             addPullSecrets(nil, cfg.ImagePullSecrets...),
							Containers: []corev1.Container{{
								Name:            ContainerTrigger,
								Image:           cfg.provisionImage(),
								ImagePullPolicy: cfg.pullPolicy(),
								Command:         []string{"sh", "-c"},
								Args:            []string{cronScript},
								Env:             env,
								SecurityContext: restrictedSecurityContext(),
							}},
						},
					},
				},
			},
		},
	}, nil
}

// AnnotationIngressClass selects the ingress controller of an Ingress (the
// original's way; spec.ingressClassName cannot be set with it).
const AnnotationIngressClass = "kubernetes.io/ingress.class"

// Ingress returns the networking.k8s.io/v1 Ingress, named like the trigger,
// that routes http://<host-name>/<path> to fn's Service
// (docs/compatibility.md §1.3). kubernetes.io/ingress.class is set to the
// gateway whenever the trigger names one (nginx with basic auth and no
// gateway); the trigger's own annotations are copied over those, as the
// original did; then what the spec asks for, per gateway:
//
//   - nginx (and no gateway), for ingress-nginx, the original's annotations:
//     rewrite-target "/", basic auth (auth-type, auth-secret), CORS
//     (enable-cors, cors-allow-origin), ssl-redirect with ACME;
//   - traefik, for Traefik v2 and v3 (the original's Traefik 1.x annotations
//     only worked with Ingress APIs that Kubernetes removed):
//     traefik.ingress.kubernetes.io/router.middlewares lists the Middlewares
//     of TraefikMiddlewares (CORS, basic auth, path "/"), and
//     router.tls "true" with TLS;
//   - kong: as nginx but no basic auth (the original's annotations).
//
// TLS from tls-secret, or from ACME (kubernetes.io/tls-acme, Secret
// <trigger>-tls) with tls. The backend is the Service's port (the original
// wrongly used its target port).
func Ingress(tr *v1beta1.HTTPTrigger, fn *v1beta1.Function) (*networkingv1.Ingress, error) {
	s := tr.Spec
	if err := checkHTTPTrigger(tr, fn); err != nil {
		return nil, err
	}
	gateway := gatewayOf(tr)
	ann := map[string]string{}
	if gateway != GatewayTraefik {
		ann["nginx.ingress.kubernetes.io/rewrite-target"] = "/"
	}
	// The ingress class of a named gateway, then the trigger's own
	// annotations over it (as the original: the serverless framework's
	// plugin sets the class and its additionalAnnotations that way), then
	// what the spec asks for.
	if s.Gateway != "" || s.BasicAuthSecret != "" {
		ann[AnnotationIngressClass] = gateway
	}
	for k, v := range tr.Annotations {
		if k != lastApplied {
			ann[k] = v
		}
	}
	tlsOn := s.TLSSecret != "" || s.TLSAcme
	if gateway != GatewayTraefik {
		// nginx, and kong as the original (refused above with basic auth)
		if s.BasicAuthSecret != "" {
			ann["nginx.ingress.kubernetes.io/auth-secret"] = s.BasicAuthSecret
			ann["nginx.ingress.kubernetes.io/auth-type"] = "basic"
		}
		if s.CorsEnable {
			ann["nginx.ingress.kubernetes.io/enable-cors"] = "true"
			if s.CorsDomain != "" {
				ann["nginx.ingress.kubernetes.io/cors-allow-origin"] = s.CorsDomain
			}
		}
		if s.TLSAcme {
			ann["nginx.ingress.kubernetes.io/ssl-redirect"] = "true"
		}
	} else {
		var refs []string
		for _, m := range TraefikMiddlewares(tr, fn) {
			refs = append(refs, tr.Namespace+"-"+m.GetName()+"@kubernetescrd")
		}
		ann[AnnotationTraefikMiddlewares] = strings.Join(refs, ",")
		if tlsOn {
			ann["traefik.ingress.kubernetes.io/router.tls"] = "true"
		}
	}
	var tls []networkingv1.IngressTLS
	switch {
	case s.TLSSecret != "":
		tls = []networkingv1.IngressTLS{{Hosts: []string{s.HostName}, SecretName: s.TLSSecret}}
	case s.TLSAcme:
		ann["kubernetes.io/tls-acme"] = "true"
		tls = []networkingv1.IngressTLS{{Hosts: []string{s.HostName}, SecretName: tr.Name + "-tls"}}
	}
	port, _ := servicePort(fn)
	pathType := networkingv1.PathTypeImplementationSpecific
	meta := triggerMeta(tr, fn.Name, ownerRef(httpTriggerGVK, tr))
	meta.Annotations = ann
	return &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: meta,
		Spec: networkingv1.IngressSpec{
			TLS: tls,
			Rules: []networkingv1.IngressRule{{
				Host: s.HostName,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/" + strings.TrimLeft(s.Path, "/"),
						PathType: &pathType,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: fn.Name,
							Port: networkingv1.ServiceBackendPort{Number: port},
						}},
					}},
				}},
			}},
		},
	}, nil
}

// The gateways of an HTTPTrigger (spec.gateway; none means nginx).
const (
	GatewayNginx   = "nginx"
	GatewayTraefik = "traefik"
	GatewayKong    = "kong"
)

// AnnotationTraefikMiddlewares is the Ingress annotation with which Traefik
// chains Middlewares (<namespace>-<name>@kubernetescrd, comma-separated) in
// front of the Ingress's routers.
const AnnotationTraefikMiddlewares = "traefik.ingress.kubernetes.io/router.middlewares"

// TraefikMiddlewareGVK is the kind of Traefik's Middlewares (the CRD
// middlewares.traefik.io of Traefik v2.10 and later, v3).
var TraefikMiddlewareGVK = schema.GroupVersionKind{Group: "traefik.io", Version: "v1alpha1", Kind: "Middleware"}

// The suffixes of the names of a trigger's Traefik Middlewares
// (<trigger>-<suffix>), in the order they run.
const (
	MiddlewareCORS = "cors"
	MiddlewareAuth = "auth"
	MiddlewarePath = "path"
)

// TraefikMiddlewareNames are the names of every Middleware that
// TraefikMiddlewares may make for tr, wanted or not (so that those no
// longer wanted can be deleted).
func TraefikMiddlewareNames(tr *v1beta1.HTTPTrigger) []string {
	return []string{tr.Name + "-" + MiddlewareCORS, tr.Name + "-" + MiddlewareAuth, tr.Name + "-" + MiddlewarePath}
}

// corsAllowHeaders and corsAllowMethods are ingress-nginx's defaults for
// enable-cors, so that a trigger answers preflights alike behind both
// gateways.
var (
	corsAllowMethods = []any{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"}
	corsAllowHeaders = []any{"DNT", "Keep-Alive", "User-Agent", "X-Requested-With", "If-Modified-Since",
		"Cache-Control", "Content-Type", "Range", "Authorization"}
)

// corsMaxAge is ingress-nginx's default Access-Control-Max-Age (20 days).
const corsMaxAge = 1728000

// TraefikMiddlewares returns the traefik.io/v1alpha1 Middlewares that the
// Ingress of tr chains when its gateway is traefik (none for another
// gateway), each named <trigger>-<suffix>, labelled and owned like the
// Ingress, in the order they run:
//
//   - <trigger>-cors with cors-enable: a headers Middleware that answers
//     preflights itself (before basic auth, as preflights carry no
//     credentials) with ingress-nginx's default methods, headers, max age and
//     credentials, and cors-domain's origins (comma-separated) or "*";
//   - <trigger>-auth with basic-auth-secret: basicAuth with that Secret (one
//     key holding htpasswd lines, as kubectl create secret generic
//     --from-file=auth makes for ingress-nginx; or a kubernetes.io/basic-auth Secret);
//   - <trigger>-path always: replacePath "/", what nginx's rewrite-target
//     "/" does (the runtimes serve the function at "/").
func TraefikMiddlewares(tr *v1beta1.HTTPTrigger, fn *v1beta1.Function) []*unstructured.Unstructured {
	if gatewayOf(tr) != GatewayTraefik {
		return nil
	}
	s := tr.Spec
	var out []*unstructured.Unstructured
	add := func(suffix string, spec map[string]any) {
		meta := triggerMeta(tr, fn.Name, ownerRef(httpTriggerGVK, tr))
		u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		u.SetGroupVersionKind(TraefikMiddlewareGVK)
		u.SetName(tr.Name + "-" + suffix)
		u.SetNamespace(meta.Namespace)
		u.SetLabels(meta.Labels)
		u.SetOwnerReferences(meta.OwnerReferences)
		out = append(out, u)
	}
	if s.CorsEnable {
		origins := []any{}
		for _, o := range strings.Split(s.CorsDomain, ",") {
			if o = strings.TrimSpace(o); o != "" {
				origins = append(origins, o)
			}
		}
		if len(origins) == 0 {
			origins = []any{"*"}
		}
		add(MiddlewareCORS, map[string]any{"headers": map[string]any{
			"accessControlAllowMethods":     corsAllowMethods,
			"accessControlAllowHeaders":     corsAllowHeaders,
			"accessControlAllowOriginList":  origins,
			"accessControlAllowCredentials": true,
			"accessControlMaxAge":           int64(corsMaxAge),
		}})
	}
	if s.BasicAuthSecret != "" {
		add(MiddlewareAuth, map[string]any{"basicAuth": map[string]any{"secret": s.BasicAuthSecret}})
	}
	add(MiddlewarePath, map[string]any{"replacePath": map[string]any{"path": "/"}})
	return out
}

// gatewayOf is tr's gateway, nginx when it names none.
func gatewayOf(tr *v1beta1.HTTPTrigger) string {
	if tr.Spec.Gateway == "" {
		return GatewayNginx
	}
	return tr.Spec.Gateway
}

// checkHTTPTrigger refuses what no gateway can make of tr.
func checkHTTPTrigger(tr *v1beta1.HTTPTrigger, fn *v1beta1.Function) error {
	s := tr.Spec
	if s.FunctionName != fn.Name {
		return errorf(v1beta1.ReasonInvalidTrigger, "trigger %q is for function %q, not %q", tr.Name, s.FunctionName, fn.Name)
	}
	if s.TLSAcme && s.TLSSecret != "" {
		return errorf(v1beta1.ReasonInvalidTrigger, "trigger %q: tls (ACME) and tls-secret exclude each other: give one of them", tr.Name)
	}
	if (s.TLSAcme || s.TLSSecret != "") && s.HostName == "" {
		return errorf(v1beta1.ReasonInvalidTrigger, "trigger %q: TLS needs host-name", tr.Name)
	}
	switch g := gatewayOf(tr); g {
	case GatewayNginx, GatewayTraefik:
	case GatewayKong:
		if s.BasicAuthSecret != "" {
			return errorf(v1beta1.ReasonInvalidTrigger, "trigger %q: basic-auth-secret works with the nginx and traefik gateways, not %q", tr.Name, g)
		}
	default:
		return errorf(v1beta1.ReasonInvalidTrigger, "trigger %q: unknown gateway %q (known: nginx, traefik, kong)", tr.Name, g)
	}
	return nil
}

// FunctionURL is the URL of fn's Service inside the cluster:
// http://<function>.<namespace>.svc.<domain>:<port>, the domain being
// cfg's ClusterDomain (cluster.local by default).
func FunctionURL(fn *v1beta1.Function, cfg Config) string {
	domain := cfg.ClusterDomain
	if domain == "" {
		domain = "cluster.local"
	}
	port, _ := servicePort(fn)
	return fmt.Sprintf("http://%s.%s.svc.%s:%d", fn.Name, fn.Namespace, domain, port)
}
