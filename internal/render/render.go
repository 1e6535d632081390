// Package render builds the Kubernetes objects of a Function and of its
// triggers: ConfigMap, Service, Deployment, HorizontalPodAutoscaler, CronJob
// and Ingress (docs/compatibility.md §3, §1.3, §1.4), with the original's
// known bugs fixed (docs/compatibility.md §3.3: readiness probe, checksum annotation, current API
// versions).
//
// The package is pure: every builder takes the Function (and the catalog
// entry of its runtime, and a Config) and returns a new object or an error.
// It reads no environment, runs nothing and talks to no API server; the
// controller applies what it returns.
//
// User values (handler, code, checksum, URL, dependency names, env) reach the
// shell scripts of the generated containers only through environment
// variables: the script text of each container depends only on the content
// type and on the catalog, never on a user value.
//
// Bad input is reported as an *Error whose Reason is one of the Ready
// condition reasons of api/v1beta1 (InvalidHandler, UnknownRuntime,
// InvalidContentType, InvalidChecksum, InvalidDeployment, InvalidAutoscaler,
// InvalidTrigger) and whose text is the message to show.
package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/fnspec"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"

	"github.com/kubeless/kubeless/pkg/contract"
)

// Names shared by the generated objects.
const (
	// ContainerPortName names the port in the function container. A
	// container port name is at most 15 characters (an IANA service name),
	// so it cannot be PortName; the Service's targetPort is the number.
	ContainerPortName = "http-function"
	// PortName is the name of the function's port in the Service ("http-"
	// for Istio).
	PortName = "http-function-port"
	// DefaultPort is the function's port when spec.service has no ports.
	DefaultPort int32 = contract.DefaultPort
	// SourceDir is where the prepare container sees the ConfigMap.
	SourceDir = "/src"
	// PhaseSecretsDir is where the catalog's phase secrets are mounted in
	// the install and compile containers.
	PhaseSecretsDir = "/var/run/secrets/kubeless.io"
	// DefaultProvisionImage runs the prepare step and the cron trigger's
	// call. Any image with a POSIX sh, base64, sha256sum, unzip, tar and wget
	// or curl works; busybox has them all.
	DefaultProvisionImage = "busybox:1.37"

	// AnnotationChecksum on the pod template is a hash of everything the
	// pods read at start (code, deps, handler, runtime, timeout, content
	// type, checksum, user env): when it changes the Deployment rolls.
	AnnotationChecksum = "kubeless.io/function-checksum"

	// Init container names: the build steps (langruntime.BuildStep).
	ContainerPrepare = string(langruntime.StepPrepare)
	ContainerInstall = string(langruntime.StepInstall)
	ContainerCompile = string(langruntime.StepCompile)
	// ContainerTrigger is the container of a cron trigger's job.
	ContainerTrigger = "trigger"
)

// Config holds the controller's settings that shape the objects.
type Config struct {
	// ProvisionImage runs the prepare init container and cron trigger jobs.
	// Empty means DefaultProvisionImage.
	ProvisionImage string
	// ImagePullPolicy of the generated containers (the function container
	// keeps the template's when set). Empty means IfNotPresent.
	ImagePullPolicy corev1.PullPolicy
	// RuntimeImageOverride maps a runtime string ("python3.12") to the image
	// used instead of the catalog's runtime image, for tests with local
	// images.
	RuntimeImageOverride map[string]string
	// ImagePullSecrets are added to every function pod (the original's
	// provision-image-secret and builder-image-secret).
	ImagePullSecrets []corev1.LocalObjectReference
	// ClusterDomain is the cluster's DNS suffix for the cron trigger's URL.
	// Empty means "cluster.local".
	ClusterDomain string
}

func (c Config) provisionImage() string {
	if c.ProvisionImage != "" {
		return c.ProvisionImage
	}
	return DefaultProvisionImage
}

func (c Config) pullPolicy() corev1.PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	return corev1.PullIfNotPresent
}

// Error is bad input in a Function or trigger. Reason is the Ready
// condition's reason; the text is the message.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func newError(reason string, err error) *Error { return &Error{Reason: reason, Err: err} }

func errorf(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Reason returns the condition reason of err when it is (or wraps) an
// *Error, and "" otherwise.
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Lookup finds fn's runtime in the catalog. A Function without a runtime
// (one that brings its own image) gives the zero Entry and no error. An
// unknown runtime is an *Error with reason UnknownRuntime whose text is the
// original's "Invalid runtime: <rt>. Supported runtimes are: <list>".
func Lookup(cat *langruntime.Catalog, fn *v1beta1.Function) (langruntime.Entry, error) {
	if fn.Spec.Runtime == "" {
		return langruntime.Entry{}, nil
	}
	p, err := fnspec.Validate(fnspec.Spec{Runtime: fn.Spec.Runtime}, cat)
	if err != nil {
		return langruntime.Entry{}, newError(fieldReasons[fnspec.FieldOf(err)], err)
	}
	return p.Entry, nil
}

// functionGVK is the kind of the owner of a Function's objects.
var functionGVK = v1beta1.GroupVersion.WithKind("Function")

func ownerRef(gvk schema.GroupVersionKind, obj metav1.Object) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
		Name: obj.GetName(), UID: obj.GetUID(),
		Controller: &yes, BlockOwnerDeletion: &yes,
	}}
}

// objectMeta returns the metadata of a child object of fn named name:
// fn's labels plus created-by=kubeless and function=<fn>, and fn as
// controlling owner.
func objectMeta(fn *v1beta1.Function, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       fn.Namespace,
		Labels:          FunctionLabels(fn),
		OwnerReferences: ownerRef(functionGVK, fn),
	}
}

// FunctionLabels returns fn's labels with function=<name> and
// created-by=kubeless, the labels of every object made for fn.
func FunctionLabels(fn *v1beta1.Function) map[string]string {
	l := map[string]string{}
	for k, v := range fn.Labels {
		l[k] = v
	}
	l[v1beta1.LabelFunction] = fn.Name
	l[v1beta1.LabelCreatedBy] = v1beta1.CreatedByKubeless
	return l
}

// SelectorLabels returns the labels that select fn's pods.
func SelectorLabels(fn *v1beta1.Function) map[string]string {
	return map[string]string{
		v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless,
		v1beta1.LabelFunction:  fn.Name,
	}
}

// parsed is a Function's validated spec.
type parsed struct {
	handler source.Handler // zero when spec.handler is empty
	ct      source.ContentType
}

// hasCode reports whether the Function carries code (handler and function),
// as opposed to one that brings its own image.
func hasCode(fn *v1beta1.Function) bool {
	return fn.Spec.Handler != "" && fn.Spec.Function != ""
}

// fieldReasons is the condition reason of each field fnspec rejects. A bad
// timeout would break the Deployment's environment, hence its reason.
var fieldReasons = map[fnspec.Field]string{
	fnspec.FieldRuntime:     v1beta1.ReasonUnknownRuntime,
	fnspec.FieldHandler:     v1beta1.ReasonInvalidHandler,
	fnspec.FieldContentType: v1beta1.ReasonInvalidContentType,
	fnspec.FieldChecksum:    v1beta1.ReasonInvalidChecksum,
	fnspec.FieldTimeout:     v1beta1.ReasonInvalidDeployment,
}

// ContentType is fn's parsed content type, checked with the rest of the
// spec by fnspec (the controller's check of inline code uses it); a bad
// spec is an *Error with the field's reason.
func ContentType(fn *v1beta1.Function) (source.ContentType, error) {
	p, err := parse(fn)
	return p.ct, err
}

// parse validates the handler, content type, checksum and timeout of fn
// with fnspec (the runtime is looked up by Lookup).
func parse(fn *v1beta1.Function) (parsed, error) {
	p, err := fnspec.Validate(fnspec.Spec{
		Handler:     fn.Spec.Handler,
		ContentType: fn.Spec.FunctionContentType,
		Checksum:    fn.Spec.Checksum,
		Timeout:     fn.Spec.Timeout,
	}, nil)
	if err != nil {
		return parsed{}, newError(fieldReasons[fnspec.FieldOf(err)], err)
	}
	return parsed{handler: p.Handler, ct: p.ContentType}, nil
}

// servicePort returns the function's Service port and the container port
// behind it: spec.service.ports[0] (port, and targetPort when it is a
// number), or 8080 for both.
func servicePort(fn *v1beta1.Function) (port, target int32) {
	ports := fn.Spec.ServiceSpec.Ports
	if len(ports) == 0 {
		return DefaultPort, DefaultPort
	}
	port = ports[0].Port
	if port == 0 {
		port = DefaultPort
	}
	target = ports[0].TargetPort.IntVal
	if target == 0 {
		target = port
	}
	return port, target
}

func timeout(fn *v1beta1.Function) string {
	if fn.Spec.Timeout != "" {
		return fn.Spec.Timeout
	}
	return strconv.Itoa(contract.DefaultTimeoutSeconds)
}

// literal escapes "$" in an env value that carries a user value, so that
// Kubernetes does not expand $(NAME) references in it: the container sees
// the value exactly as the user wrote it. (The user's own env entries, from
// spec.deployment, keep Kubernetes semantics.)
func literal(v string) string { return strings.ReplaceAll(v, "$", "$$") }

func envVars(env []langruntime.EnvVar) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(env))
	for _, e := range env {
		out = append(out, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	return out
}
