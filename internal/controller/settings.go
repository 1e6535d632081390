package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/render"
)

// Keys of the kubeless-config ConfigMap (docs/compatibility.md §2) that
// the controller reads. The others of the original (enable-build-step,
// builder-image, function-registry-tls-verify, ingress-enabled, service-type)
// are accepted and have no effect.
const (
	KeyRuntimeImages        = "runtime-images"
	KeyDeployment           = "deployment"
	KeyProvisionImage       = "provision-image"
	KeyProvisionImageSecret = "provision-image-secret"
	KeyBuilderImageSecret   = "builder-image-secret"
	KeyFunctionsNamespace   = "functions-namespace"
	// KeyImagePullPolicy (Always, IfNotPresent or Never) is new: the pull
	// policy of the generated containers, so that clusters without a
	// registry can run imported images.
	KeyImagePullPolicy = "image-pull-policy"
	// KeyClusterDomain is new: the cluster's DNS suffix, for the URL that
	// cron trigger jobs call (default cluster.local).
	KeyClusterDomain = "cluster-domain"
	// KeyPodAllow is new: the exceptions to the "restricted" Pod Security
	// Standard that Functions' own spec.deployment may ask for (see
	// render.ParsePodAllow); empty means none.
	KeyPodAllow = render.KeyPodAllow
	// KeyLegacyRuntimes is new: "nearest" (the default) runs a Function
	// whose runtime is a name of the original's catalog (python3.7,
	// nodejs12 ...) on the nearest version of its language; "refuse" makes
	// those names unknown runtimes.
	KeyLegacyRuntimes = "legacy-runtimes"
)

// settings are what a reconcile needs from kubeless-config: the catalog, the
// Deployment template every function's is merged onto, and the render
// configuration.
type settings struct {
	catalog    *langruntime.Catalog
	deployment []byte // JSON of the "deployment" key; nil when empty
	render     render.Config
	// podAllow: what Functions' templates may ask for beyond the
	// restricted Pod Security Standard.
	podAllow render.PodAllow
}

// configError is a kubeless-config that cannot be read; functions show it in
// their Ready condition (reason InvalidConfig) until the ConfigMap is fixed.
type configError struct {
	key types.NamespacedName
	err error
}

func (e *configError) Error() string {
	return fmt.Sprintf("ConfigMap %s: %v: fix it with kubectl edit configmap -n %s %s", e.key, e.err, e.key.Namespace, e.key.Name)
}

// configSource reads kubeless-config through the manager's cache and parses
// it again only when its resourceVersion changes. The Function and trigger
// reconcilers watch the ConfigMap, so a change reaches every function
// without a restart (the original read it once at start).
type configSource struct {
	reader   client.Reader
	key      types.NamespacedName
	defaults render.Config

	mu  sync.Mutex
	rv  string
	cur *settings
	err error
}

func (s *configSource) load(ctx context.Context) (*settings, error) {
	var cm corev1.ConfigMap
	err := s.reader.Get(ctx, s.key, &cm)
	if apierrors.IsNotFound(err) {
		// No ConfigMap: the built-in catalog and the flags' defaults.
		return &settings{catalog: langruntime.Default(), render: s.defaults}, nil
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rv != cm.ResourceVersion || (s.cur == nil && s.err == nil) {
		s.cur, s.err = parseSettings(cm.Data, s.defaults)
		if s.err != nil {
			s.err = &configError{key: s.key, err: s.err}
		}
		s.rv = cm.ResourceVersion
	}
	return s.cur, s.err
}

// parseSettings reads the keys of kubeless-config over defaults.
func parseSettings(data map[string]string, defaults render.Config) (*settings, error) {
	st := &settings{render: defaults}
	if raw := strings.TrimSpace(data[KeyRuntimeImages]); raw != "" {
		cat, err := langruntime.Parse([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", KeyRuntimeImages, err)
		}
		st.catalog = cat
	} else {
		st.catalog = langruntime.Default()
	}
	refuse, err := langruntime.ParseOldNames(data[KeyLegacyRuntimes])
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", KeyLegacyRuntimes, err)
	}
	st.catalog.RefuseOldNames = refuse
	if raw := strings.TrimSpace(data[KeyDeployment]); raw != "" && raw != "{}" {
		// Strict, as the original: a typo in the shared template is an
		// error, not a silently ignored field.
		var d appsv1.Deployment
		if err := yaml.UnmarshalStrict([]byte(raw), &d); err != nil {
			return nil, fmt.Errorf("key %s is not an apps/v1 Deployment: %w", KeyDeployment, err)
		}
		j, err := yaml.YAMLToJSON([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", KeyDeployment, err)
		}
		st.deployment = j
	}
	if v := strings.TrimSpace(data[KeyProvisionImage]); v != "" {
		st.render.ProvisionImage = v
	}
	for _, k := range []string{KeyProvisionImageSecret, KeyBuilderImageSecret} {
		if v := strings.TrimSpace(data[k]); v != "" {
			st.render.ImagePullSecrets = append(append([]corev1.LocalObjectReference(nil), st.render.ImagePullSecrets...), corev1.LocalObjectReference{Name: v})
		}
	}
	if v := strings.TrimSpace(data[KeyImagePullPolicy]); v != "" {
		p, err := ParsePullPolicy(v)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", KeyImagePullPolicy, err)
		}
		st.render.ImagePullPolicy = p
	}
	if v := strings.TrimSpace(data[KeyClusterDomain]); v != "" {
		st.render.ClusterDomain = v
	}
	allow, err := render.ParsePodAllow(data[KeyPodAllow])
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", KeyPodAllow, err)
	}
	st.podAllow = allow
	return st, nil
}

// ParsePullPolicy checks an image pull policy.
func ParsePullPolicy(v string) (corev1.PullPolicy, error) {
	switch p := corev1.PullPolicy(v); p {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return p, nil
	}
	return "", fmt.Errorf("image pull policy %q is not one of Always, IfNotPresent, Never", v)
}

// withSharedTemplate returns fn with the "deployment" template of
// kubeless-config under its own: the function's fields win, lists of named
// things (containers, env, volumes, ports ...) are merged by name as in a
// strategic merge patch, and the function container of both is
// containers[0]. fn itself is not changed.
func withSharedTemplate(fn *v1beta1.Function, shared []byte) (*v1beta1.Function, error) {
	if len(shared) == 0 {
		return fn, nil
	}
	if _, err := fn.Spec.DeploymentTemplate(); err != nil {
		return nil, err
	}
	base, err := nameFunctionContainer(shared, fn.Name)
	if err != nil {
		return nil, err
	}
	own := []byte("{}")
	if fn.Spec.Deployment != nil && len(fn.Spec.Deployment.Raw) > 0 {
		own = fn.Spec.Deployment.Raw
	}
	if own, err = nameFunctionContainer(own, fn.Name); err != nil {
		return nil, err
	}
	merged, err := strategicpatch.StrategicMergePatch(base, own, appsv1.Deployment{})
	if err != nil {
		return nil, fmt.Errorf("merge spec.deployment with the deployment of kubeless-config: %w", err)
	}
	out := fn.DeepCopy()
	out.Spec.Deployment = &runtime.RawExtension{Raw: merged}
	return out, nil
}

// nameFunctionContainer names containers[0] of a Deployment's JSON, so that
// the strategic merge pairs the function containers of two templates.
func nameFunctionContainer(raw []byte, name string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return []byte("{}"), nil
	}
	cs, ok, _ := unstructured.NestedSlice(m, "spec", "template", "spec", "containers")
	if ok && len(cs) > 0 {
		if c, ok := cs[0].(map[string]any); ok {
			c["name"] = name
			if err := unstructured.SetNestedSlice(m, cs, "spec", "template", "spec", "containers"); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(m)
}
