package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/langruntime"

	"github.com/kubeless/kubeless/pkg/contract"
)

// lastApplied is kubectl's annotation; it is not copied from the Function to
// its Deployment and pods.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Deployment returns the Deployment <name> that runs fn
// (docs/compatibility.md §3.3), starting from spec.deployment:
//
//   - labels: template ∪ fn's ∪ created-by/function; annotations: template ∪
//     fn's; selector created-by=kubeless,function=<name>; replicas and the
//     other fields of the template's spec kept; strategy RollingUpdate with
//     maxUnavailable 0 unless the template has one.
//   - pod template: template labels and annotations ∪ fn's, Prometheus
//     annotations (prometheus.io/scrape, path /metrics, port) and
//     AnnotationChecksum; runAsUser/fsGroup 1000 and a preferred pod
//     anti-affinity unless the template sets them; the template's other pod
//     fields (volumes, serviceAccountName, sidecars ...) kept.
//   - containers[0] is the function container, named like the function:
//     the template's fields (image, env, resources, volumeMounts ...) kept,
//     the env of docs/compatibility.md §3.4 added, port http-function-port, liveness (catalog or
//     default) and readiness probes on /healthz unless the template has them.
//   - a Function with code and no image in the template gets the runtime
//     image of its catalog entry (or Config.RuntimeImageOverride), the
//     volumes <name> (emptyDir, /kubeless) and <name>-deps (the ConfigMap,
//     /src) and the init containers prepare, install (when there are
//     dependencies and the runtime has an installation phase) and compile
//     (when it has a compilation phase), which replace the template's init
//     containers; initContainers[0].resources of the template applies to
//     each. A template image (custom runtime image) means no init containers
//     and no volumes, as in the original.
//
// Function container env: FUNC_HANDLER, MOD_NAME, FUNC_TIMEOUT,
// FUNC_RUNTIME, FUNC_MEMORY_LIMIT (only for a Function with code), FUNC_PORT,
// KUBELESS_INSTALL_VOLUME and the catalog's runtime env (sorted by name, only
// when the runtime is in the catalog), then the user's env (template
// containers[0].env) in its order, so that user values may refer to the
// renderer's ($(FUNC_PORT)). A user variable named like one the renderer
// sets (FUNC_*, MOD_NAME, KUBELESS_INSTALL_VOLUME) is dropped: the
// renderer's value is the one the runtime gets, as in the original (#834). A
// user variable named like a catalog variable (PYTHONPATH ...) replaces it,
// and its $(PYTHONPATH) means the catalog value. The build init containers
// get the same layering: their KUBELESS_* variables, the catalog phase env,
// then the user's env (so NPM_REGISTRY and the like reach the build, as in
// the original). See mergeEnv.
//
// entry is fn's runtime (see Lookup); it may be the zero Entry only for a
// Function whose template brings the image.
// PreStopSeconds is how long a function pod keeps serving after it is
// told to stop and before it gets SIGTERM (the preStop sleep of its
// container), so that no call is sent to it after it stopped listening.
// It is well inside the default grace period of 30 s.
const PreStopSeconds = 5

func Deployment(fn *v1beta1.Function, entry langruntime.Entry, cfg Config) (*appsv1.Deployment, error) {
	p, err := parse(fn)
	if err != nil {
		return nil, err
	}
	tpl, err := fn.Spec.DeploymentTemplate()
	if err != nil {
		return nil, newError(v1beta1.ReasonInvalidDeployment, err)
	}
	_, target := servicePort(fn)

	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(fn, fn.Name),
		Spec:       *tpl.Spec.DeepCopy(),
	}
	d.Labels = union(tpl.Labels, FunctionLabels(fn))
	d.Annotations = union(tpl.Annotations, fnAnnotations(fn))
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: SelectorLabels(fn)}
	if d.Spec.Strategy.Type == "" && d.Spec.Strategy.RollingUpdate == nil {
		zero := intstr.FromInt32(0)
		d.Spec.Strategy = appsv1.DeploymentStrategy{
			Type:          appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero},
		}
	}

	pod := &d.Spec.Template
	pod.Labels = union(tpl.Spec.Template.Labels, FunctionLabels(fn))
	ps := &pod.Spec
	if len(ps.Containers) == 0 {
		ps.Containers = []corev1.Container{{}}
	}
	c := &ps.Containers[0]
	c.Name = fn.Name
	userEnv := c.Env

	generated := hasCode(fn) && c.Image == ""
	if c.Image == "" && !hasCode(fn) {
		return nil, errorf(v1beta1.ReasonInvalidDeployment,
			"function %q has no code (spec.handler and spec.function) and no image (spec.deployment.spec.template.spec.containers[0].image): give one of them", fn.Name)
	}
	if generated {
		if entry.Runtime == nil {
			return nil, errorf(v1beta1.ReasonUnknownRuntime,
				"function %q: spec.runtime is required for a function with code and no image in spec.deployment", fn.Name)
		}
		img, ok := entry.Image(langruntime.PhaseRuntime)
		image := cfg.RuntimeImageOverride[entry.Name()]
		if image == "" {
			if !ok || img.Image == "" {
				return nil, errorf(v1beta1.ReasonUnknownRuntime, "runtime %s has no runtime image in the catalog", entry.Name())
			}
			image = img.Image
		}
		c.Image = image
	}
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = cfg.pullPolicy()
	}
	// A runtime that cannot load the function says why on stderr; with this
	// policy the end of that output is the termination message, which the
	// controller shows in the CrashLoop condition.
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	}

	// Function container env (docs/compatibility.md §3.4).
	var own []corev1.EnvVar
	if hasCode(fn) {
		mem := "0"
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			mem = q.String()
		}
		own = append(own,
			corev1.EnvVar{Name: contract.EnvFuncHandler, Value: literal(p.handler.Function)},
			corev1.EnvVar{Name: contract.EnvModName, Value: literal(p.handler.Module)},
			corev1.EnvVar{Name: contract.EnvFuncTimeout, Value: literal(timeout(fn))},
			corev1.EnvVar{Name: contract.EnvFuncRuntime, Value: literal(fn.Spec.Runtime)},
			corev1.EnvVar{Name: contract.EnvFuncMemoryLimit, Value: mem},
		)
	}
	own = append(own, corev1.EnvVar{Name: contract.EnvFuncPort, Value: strconv.Itoa(int(target))})
	var catalogEnv []corev1.EnvVar
	if entry.Runtime != nil {
		own = append(own, corev1.EnvVar{Name: contract.EnvInstallVolume, Value: contract.DefaultInstallVolume})
		if img, ok := entry.Image(langruntime.PhaseRuntime); ok {
			catalogEnv = envVars(img.SortedEnv())
		}
	}
	c.Env = mergeEnv(own, catalogEnv, userEnv)

	if !hasPort(c.Ports, target) {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: ContainerPortName, ContainerPort: target, Protocol: corev1.ProtocolTCP})
	}
	if c.LivenessProbe == nil {
		probe, err := livenessProbe(entry, target)
		if err != nil {
			return nil, err
		}
		c.LivenessProbe = probe
	}
	if c.ReadinessProbe == nil {
		c.ReadinessProbe = &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(target)}},
			InitialDelaySeconds: 1,
			PeriodSeconds:       5,
		}
	}

	// A pod that a rolling update (or a scale down) stops leaves the
	// Service's endpoints at the moment it gets SIGTERM, but kube-proxy, the
	// API server's service proxy and ingress controllers learn of it a
	// little later and still send it calls. The preStop sleep keeps it
	// serving until they know; SIGTERM, and the host's drain, come after.
	if c.Lifecycle == nil {
		c.Lifecycle = &corev1.Lifecycle{}
	}
	if c.Lifecycle.PreStop == nil {
		c.Lifecycle.PreStop = &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: PreStopSeconds}}
	}

	if ps.Affinity == nil {
		ps.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 100,
				PodAffinityTerm: corev1.PodAffinityTerm{
					LabelSelector: &metav1.LabelSelector{MatchLabels: SelectorLabels(fn)},
					TopologyKey:   "kubernetes.io/hostname",
				},
			}},
		}}
	}
	ps.ImagePullSecrets = addPullSecrets(ps.ImagePullSecrets, cfg.ImagePullSecrets...)

	if generated {
		if err := addBuild(fn, p, entry, cfg, tpl, ps, userEnv); err != nil {
			return nil, err
		}
	}

	// After the init containers, so that they get it too.
	restrictPod(ps)

	sum, err := podChecksum(fn, userEnv)
	if err != nil {
		return nil, err
	}
	pod.Annotations = union(tpl.Spec.Template.Annotations, fnAnnotations(fn), map[string]string{
		"prometheus.io/scrape": "true",
		"prometheus.io/path":   "/metrics",
		"prometheus.io/port":   strconv.Itoa(int(target)),
		AnnotationChecksum:     sum,
	})
	return d, nil
}

// addBuild adds the volumes, init containers and pull secrets of a Function
// whose code is built into the runtime image's volume.
func addBuild(fn *v1beta1.Function, p parsed, entry langruntime.Entry, cfg Config, tpl *appsv1.Deployment, ps *corev1.PodSpec, userEnv []corev1.EnvVar) error {
	vol := fn.Name
	depsVol := fn.Name + "-deps"
	for _, v := range ps.Volumes {
		if v.Name == vol || v.Name == depsVol {
			return errorf(v1beta1.ReasonInvalidDeployment,
				"spec.deployment: volume %q is reserved for the function's code", v.Name)
		}
	}
	ps.Volumes = append(ps.Volumes,
		corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: depsVol, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: fn.Name},
		}}},
	)
	installMount := corev1.VolumeMount{Name: vol, MountPath: contract.DefaultInstallVolume}
	c := &ps.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, installMount)
	for _, s := range entry.Version.ImagePullSecrets {
		ps.ImagePullSecrets = addPullSecrets(ps.ImagePullSecrets, corev1.LocalObjectReference{Name: s.ImageSecret})
	}

	var resources corev1.ResourceRequirements
	if ics := tpl.Spec.Template.Spec.InitContainers; len(ics) > 0 {
		resources = ics[0].Resources
	}
	depName := entry.Runtime.DepName
	depsFile := entry.Runtime.DepsFile(contract.DefaultInstallVolume)

	// prepare
	prepEnv := []corev1.EnvVar{
		{Name: contract.EnvInstallVolume, Value: contract.DefaultInstallVolume},
		{Name: EnvFunctionFile, Value: literal(codeFileName(p, entry))},
	}
	subdir := p.handler.Dir() != "" && !p.ct.IsArchive()
	if subdir {
		prepEnv = append(prepEnv, corev1.EnvVar{Name: EnvFunctionPath, Value: literal(entry.Runtime.FileName(p.handler.Module, p.ct))})
	}
	if p.ct.Encoding == "url" {
		prepEnv = append(prepEnv, corev1.EnvVar{Name: EnvFunctionURL, Value: literal(fn.Spec.Function)})
	}
	if fn.Spec.Checksum != "" {
		prepEnv = append(prepEnv, corev1.EnvVar{Name: EnvChecksum, Value: literal(fn.Spec.Checksum)})
	}
	if depName != "" && !p.ct.Deps {
		prepEnv = append(prepEnv, corev1.EnvVar{Name: EnvDepsName, Value: depName})
	}
	inits := []corev1.Container{{
		Name:            ContainerPrepare,
		Image:           cfg.provisionImage(),
		ImagePullPolicy: cfg.pullPolicy(),
		Command:         []string{"sh", "-c"},
		Args:            []string{prepareScript(p.ct, subdir)},
		Env:             prepEnv,
		VolumeMounts:    []corev1.VolumeMount{installMount, {Name: depsVol, MountPath: SourceDir}},
		Resources:       *resources.DeepCopy(),
		// the script's fail line, else the end of its output
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}}

	// install
	if img, ok := entry.Image(langruntime.PhaseInstallation); ok && (fn.Spec.Deps != "" || p.ct.Deps) {
		env := []corev1.EnvVar{
			{Name: contract.EnvInstallVolume, Value: contract.DefaultInstallVolume},
			{Name: contract.EnvDepsFile, Value: depsFile},
		}
		if fn.Spec.Deps != "" {
			sum := sha256.Sum256([]byte(fn.Spec.Deps))
			env = append(env, corev1.EnvVar{Name: EnvDepsChecksum, Value: hex.EncodeToString(sum[:])})
		}
		ic, err := buildContainer(ContainerInstall, img, installScript(img.Command), env, userEnv, installMount, resources, cfg, ps)
		if err != nil {
			return err
		}
		inits = append(inits, ic)
	}

	// compile
	if img, ok := entry.Image(langruntime.PhaseCompilation); ok {
		env := []corev1.EnvVar{
			{Name: contract.EnvInstallVolume, Value: contract.DefaultInstallVolume},
			{Name: contract.EnvFuncName, Value: literal(p.handler.Function)},
		}
		// A handler in a sub-folder: MOD_NAME's folder is the package to
		// compile (only then, so that the pods of other functions do not
		// roll).
		if p.handler.Dir() != "" {
			env = append(env, corev1.EnvVar{Name: contract.EnvModName, Value: literal(p.handler.Module)})
		}
		if depsFile != "" {
			env = append(env, corev1.EnvVar{Name: contract.EnvDepsFile, Value: depsFile})
		}
		cc, err := buildContainer(ContainerCompile, img, img.Command, env, userEnv, installMount, resources, cfg, ps)
		if err != nil {
			return err
		}
		inits = append(inits, cc)
	}
	ps.InitContainers = inits
	return nil
}

// buildContainer returns an install or compile container running script
// with `sh -c` in the install volume. Its env is own, the catalog phase env,
// then the user's env without the names in own. The phase's catalog secrets
// are mounted read-only under PhaseSecretsDir (their volumes added to ps).
func buildContainer(name string, img langruntime.Image, script string, own, userEnv []corev1.EnvVar,
	mount corev1.VolumeMount, res corev1.ResourceRequirements, cfg Config, ps *corev1.PodSpec) (corev1.Container, error) {
	env := mergeEnv(own, envVars(img.SortedEnv()), userEnv)
	c := corev1.Container{
		Name:            name,
		Image:           img.Image,
		ImagePullPolicy: cfg.pullPolicy(),
		Command:         []string{"sh", "-c"},
		Args:            []string{script},
		WorkingDir:      contract.DefaultInstallVolume,
		Env:             env,
		VolumeMounts:    []corev1.VolumeMount{mount},
		Resources:       *res.DeepCopy(),
		// pip's or the compiler's error (the end of the output) becomes the
		// termination message, shown in the InitContainerFailed condition
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	for _, s := range img.Secrets {
		if err := addSecretVolume(ps, s.Name); err != nil {
			return c, err
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{
			Name: s.Name, MountPath: path.Join(PhaseSecretsDir, s.Name), ReadOnly: true,
		})
	}
	return c, nil
}

func addSecretVolume(ps *corev1.PodSpec, name string) error {
	for _, v := range ps.Volumes {
		if v.Name != name {
			continue
		}
		if v.Secret != nil && v.Secret.SecretName == name {
			return nil
		}
		return errorf(v1beta1.ReasonInvalidDeployment,
			"spec.deployment: volume %q is needed for the runtime's secret %q but is not that secret", name, name)
	}
	ps.Volumes = append(ps.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: name},
	}})
	return nil
}

// livenessProbe is the catalog's probe of the runtime, or the original's
// default: GET /healthz on the function port after 3s, every 30s.
func livenessProbe(entry langruntime.Entry, port int32) (*corev1.Probe, error) {
	if entry.Runtime != nil && len(entry.Runtime.LivenessProbeInfo) > 0 {
		p := &corev1.Probe{}
		if err := json.Unmarshal(entry.Runtime.LivenessProbeInfo, p); err != nil {
			return nil, fmt.Errorf("runtime catalog: runtime %q: livenessProbeInfo is not a Probe: %w", entry.Runtime.ID, err)
		}
		return p, nil
	}
	return &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(port)}},
		InitialDelaySeconds: 3,
		PeriodSeconds:       30,
	}, nil
}

// podChecksum hashes what the pods read when they start, so that a change
// of any of it changes the pod template and rolls the Deployment, even for
// code without spec.checksum.
func podChecksum(fn *v1beta1.Function, userEnv []corev1.EnvVar) (string, error) {
	b, err := json.Marshal(struct {
		Function    string          `json:"function"`
		ContentType string          `json:"contentType"`
		Checksum    string          `json:"checksum"`
		Deps        string          `json:"deps"`
		Handler     string          `json:"handler"`
		Runtime     string          `json:"runtime"`
		Timeout     string          `json:"timeout"`
		Env         []corev1.EnvVar `json:"env"`
	}{fn.Spec.Function, fn.Spec.FunctionContentType, fn.Spec.Checksum, fn.Spec.Deps,
		fn.Spec.Handler, fn.Spec.Runtime, timeout(fn), userEnv})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func fnAnnotations(fn *v1beta1.Function) map[string]string {
	out := map[string]string{}
	for k, v := range fn.Annotations {
		if k != lastApplied {
			out[k] = v
		}
	}
	return out
}

// union merges maps, later ones winning; nil when all are empty.
func union(ms ...map[string]string) map[string]string {
	var out map[string]string
	for _, m := range ms {
		for k, v := range m {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// mergeEnv returns own, then catalog, then user. A user variable named like
// one of own is dropped (the renderer's value stands). A user variable named
// like a catalog one replaces it, at the user's position, with its
// references to itself ($(NAME)) replaced by the catalog value, so that
// PYTHONPATH=$(PYTHONPATH):/extra extends the catalog's path. No name is
// defined twice by the renderer (server-side apply refuses duplicates).
func mergeEnv(own, catalog, user []corev1.EnvVar) []corev1.EnvVar {
	ownNames := map[string]bool{}
	for _, e := range own {
		ownNames[e.Name] = true
	}
	catalogValue := map[string]string{}
	for _, e := range catalog {
		catalogValue[e.Name] = e.Value
	}
	userNames := map[string]bool{}
	var tail []corev1.EnvVar
	for _, e := range user {
		if ownNames[e.Name] {
			continue
		}
		userNames[e.Name] = true
		if v, ok := catalogValue[e.Name]; ok && e.ValueFrom == nil {
			e.Value = expandSelf(e.Value, e.Name, v)
		}
		tail = append(tail, e)
	}
	out := append([]corev1.EnvVar{}, own...)
	for _, e := range catalog {
		if !userNames[e.Name] {
			out = append(out, e)
		}
	}
	return append(out, tail...)
}

// expandSelf replaces the Kubernetes references $(name) in s by value,
// leaving "$$" escapes as they are.
func expandSelf(s, name, value string) string {
	ref := "$(" + name + ")"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteString("$$")
			i++
		case strings.HasPrefix(s[i:], ref):
			b.WriteString(value)
			i += len(ref) - 1
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func hasPort(ports []corev1.ContainerPort, port int32) bool {
	for _, p := range ports {
		if p.ContainerPort == port {
			return true
		}
	}
	return false
}

func addPullSecrets(list []corev1.LocalObjectReference, add ...corev1.LocalObjectReference) []corev1.LocalObjectReference {
outer:
	for _, a := range add {
		if a.Name == "" {
			continue
		}
		for _, l := range list {
			if l.Name == a.Name {
				continue outer
			}
		}
		list = append(list, a)
	}
	return list
}
