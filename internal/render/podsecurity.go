package render

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
	pspolicy "k8s.io/pod-security-admission/policy"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// Function pods meet the "restricted" Pod Security Standard unless an
// administrator allows an exception in kubeless-config (key
// function-pod-allow, a comma-separated list of the names below). Each name
// lets a Function's own spec.deployment template use one thing that the
// standard forbids; "*" lets it use anything, as the original Kubeless did.
// The deployment template of kubeless-config itself is the administrator's
// and is not checked.
const (
	// AllowPrivileged: containers with securityContext.privileged.
	AllowPrivileged = "privileged"
	// AllowHostNamespaces: hostNetwork, hostPID, hostIPC.
	AllowHostNamespaces = "hostNamespaces"
	// AllowHostPorts: containers' ports with a hostPort.
	AllowHostPorts = "hostPorts"
	// AllowHostPath: hostPath volumes.
	AllowHostPath = "hostPath"
	// AllowVolumes: volume types other than configMap, csi, downwardAPI,
	// emptyDir, ephemeral, image, persistentVolumeClaim, projected and
	// secret (nfs, iscsi ...), hostPath excepted.
	AllowVolumes = "volumes"
	// AllowCapabilities: securityContext.capabilities.add beyond
	// NET_BIND_SERVICE.
	AllowCapabilities = "capabilities"
	// AllowPrivilegeEscalation: securityContext.allowPrivilegeEscalation
	// true.
	AllowPrivilegeEscalation = "privilegeEscalation"
	// AllowRoot: runAsNonRoot false, or runAsUser 0.
	AllowRoot = "root"
	// AllowUnconfined: seccompProfile Unconfined.
	AllowUnconfined = "unconfined"
	// AllowServiceAccount: serviceAccountName (other than "default"), whose
	// token is then mounted.
	AllowServiceAccount = "serviceAccount"
	// AllowAll: anything the template asks for.
	AllowAll = "*"
)

// allowNames are the names of function-pod-allow, in the order the
// documentation gives them.
var allowNames = []string{AllowPrivileged, AllowHostNamespaces, AllowHostPorts, AllowHostPath, AllowVolumes,
	AllowCapabilities, AllowPrivilegeEscalation, AllowRoot, AllowUnconfined, AllowServiceAccount, AllowAll}

// PodAllow is the set of exceptions to the restricted profile that
// Functions' templates may ask for (see AllowPrivileged ...).
type PodAllow map[string]bool

// ParsePodAllow reads the function-pod-allow value: names separated by
// commas (spaces ignored). An unknown name is an error that lists the known
// ones.
func ParsePodAllow(s string) (PodAllow, error) {
	a := PodAllow{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(allowNames, f) {
			return nil, fmt.Errorf("unknown exception %q; known: %s", f, strings.Join(allowNames, ", "))
		}
		a[f] = true
	}
	return a, nil
}

func (a PodAllow) allows(name string) bool { return a[AllowAll] || a[name] }

// DefaultUID is the user and group function pods run as unless their
// template has a pod securityContext.
const DefaultUID int64 = 1000

// restrictedVolume reports whether the restricted profile accepts v.
func restrictedVolume(v corev1.Volume) bool {
	s := v.VolumeSource
	return s.ConfigMap != nil || s.CSI != nil || s.DownwardAPI != nil || s.EmptyDir != nil || s.Ephemeral != nil ||
		s.PersistentVolumeClaim != nil || s.Projected != nil || s.Secret != nil || s.Image != nil
}

// restrictPod sets what the restricted profile needs where ps leaves it
// unset: a pod securityContext of user and group DefaultUID when there is
// none; runAsNonRoot and the RuntimeDefault seccomp profile; no service
// account token unless a service account is named; and in every container
// allowPrivilegeEscalation false (unless it is privileged or adds
// SYS_ADMIN, which the API server refuses with it) and the capability ALL
// dropped.
func restrictPod(ps *corev1.PodSpec) {
	if ps.SecurityContext == nil {
		uid := DefaultUID
		ps.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &uid, FSGroup: &uid}
	}
	sc := ps.SecurityContext
	if sc.RunAsNonRoot == nil {
		yes := true
		sc.RunAsNonRoot = &yes
	}
	if sc.SeccompProfile == nil {
		sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	if ps.AutomountServiceAccountToken == nil && serviceAccount(ps) == "" {
		no := false
		ps.AutomountServiceAccountToken = &no
	}
	for i := range ps.InitContainers {
		restrictContainer(&ps.InitContainers[i])
	}
	for i := range ps.Containers {
		restrictContainer(&ps.Containers[i])
	}
}

func restrictContainer(c *corev1.Container) {
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	sc := c.SecurityContext
	if sc.AllowPrivilegeEscalation == nil && (sc.Privileged == nil || !*sc.Privileged) && !addsSysAdmin(sc) {
		no := false
		sc.AllowPrivilegeEscalation = &no
	}
	if sc.Capabilities == nil {
		sc.Capabilities = &corev1.Capabilities{}
	}
	if !slices.Contains(sc.Capabilities.Drop, "ALL") {
		sc.Capabilities.Drop = append(sc.Capabilities.Drop, "ALL")
	}
}

func addsSysAdmin(sc *corev1.SecurityContext) bool {
	if sc.Capabilities == nil {
		return false
	}
	return slices.Contains(sc.Capabilities.Add, "SYS_ADMIN") || slices.Contains(sc.Capabilities.Add, "CAP_SYS_ADMIN")
}

// serviceAccount is the service account ps names, "" for none or
// "default".
func serviceAccount(ps *corev1.PodSpec) string {
	name := ps.ServiceAccountName
	if name == "" {
		name = ps.DeprecatedServiceAccount
	}
	if name == "default" {
		return ""
	}
	return name
}

// exception is one thing a template asks for that the restricted profile
// forbids: the function-pod-allow name that allows it, what it is, and how
// to remove it from a pod spec (on a copy, before the profile's own check).
type exception struct {
	name   string
	find   func(ps *corev1.PodSpec) []string // what in ps needs the exception
	remove func(ps *corev1.PodSpec)
}

func containers(ps *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range ps.InitContainers {
		out = append(out, &ps.InitContainers[i])
	}
	for i := range ps.Containers {
		out = append(out, &ps.Containers[i])
	}
	return out
}

// containerName names a container in a message; the function container is
// unnamed in the template.
func containerName(c *corev1.Container) string {
	if c.Name == "" {
		return "containers[0]"
	}
	return c.Name
}

var exceptions = []exception{
	{AllowPrivileged,
		func(ps *corev1.PodSpec) (out []string) {
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
					out = append(out, "privileged container "+containerName(c))
				}
			}
			return out
		},
		func(ps *corev1.PodSpec) {
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil {
					sc.Privileged = nil
					if sc.AllowPrivilegeEscalation == nil {
						no := false
						sc.AllowPrivilegeEscalation = &no
					}
				}
			}
		}},
	{AllowHostNamespaces,
		func(ps *corev1.PodSpec) (out []string) {
			for name, on := range map[string]bool{"hostNetwork": ps.HostNetwork, "hostPID": ps.HostPID, "hostIPC": ps.HostIPC} {
				if on {
					out = append(out, name)
				}
			}
			sort.Strings(out)
			return out
		},
		func(ps *corev1.PodSpec) { ps.HostNetwork, ps.HostPID, ps.HostIPC = false, false, false }},
	{AllowHostPorts,
		func(ps *corev1.PodSpec) (out []string) {
			for _, c := range containers(ps) {
				for _, p := range c.Ports {
					if p.HostPort != 0 {
						out = append(out, fmt.Sprintf("hostPort %d in container %s", p.HostPort, containerName(c)))
					}
				}
			}
			return out
		},
		func(ps *corev1.PodSpec) {
			for _, c := range containers(ps) {
				for i := range c.Ports {
					c.Ports[i].HostPort = 0
				}
			}
		}},
	{AllowHostPath,
		func(ps *corev1.PodSpec) (out []string) {
			for _, v := range ps.Volumes {
				if v.HostPath != nil {
					out = append(out, fmt.Sprintf("hostPath volume %s (%s)", v.Name, v.HostPath.Path))
				}
			}
			return out
		},
		func(ps *corev1.PodSpec) {
			ps.Volumes = slices.DeleteFunc(ps.Volumes, func(v corev1.Volume) bool { return v.HostPath != nil })
		}},
	{AllowVolumes,
		func(ps *corev1.PodSpec) (out []string) {
			for _, v := range ps.Volumes {
				if v.HostPath == nil && !restrictedVolume(v) {
					out = append(out, "volume "+v.Name+" of a type the restricted profile forbids")
				}
			}
			return out
		},
		func(ps *corev1.PodSpec) {
			ps.Volumes = slices.DeleteFunc(ps.Volumes, func(v corev1.Volume) bool { return v.HostPath == nil && !restrictedVolume(v) })
		}},
	{AllowCapabilities,
		func(ps *corev1.PodSpec) (out []string) {
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil && sc.Capabilities != nil {
					for _, cp := range sc.Capabilities.Add {
						if cp != "NET_BIND_SERVICE" {
							out = append(out, fmt.Sprintf("capability %s in container %s", cp, containerName(c)))
						}
					}
				}
			}
			return out
		},
		func(ps *corev1.PodSpec) {
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil && sc.Capabilities != nil {
					sc.Capabilities.Add = slices.DeleteFunc(slices.Clone(sc.Capabilities.Add), func(cp corev1.Capability) bool { return cp != "NET_BIND_SERVICE" })
					if sc.AllowPrivilegeEscalation == nil {
						no := false
						sc.AllowPrivilegeEscalation = &no
					}
				}
			}
		}},
	{AllowPrivilegeEscalation,
		func(ps *corev1.PodSpec) (out []string) {
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil && sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
					out = append(out, "allowPrivilegeEscalation in container "+containerName(c))
				}
			}
			return out
		},
		func(ps *corev1.PodSpec) {
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil && sc.AllowPrivilegeEscalation != nil {
					no := false
					sc.AllowPrivilegeEscalation = &no
				}
			}
		}},
	{AllowRoot,
		func(ps *corev1.PodSpec) (out []string) {
			if sc := ps.SecurityContext; sc != nil {
				if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
					out = append(out, "runAsNonRoot false")
				}
				if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
					out = append(out, "runAsUser 0")
				}
			}
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil {
					if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
						out = append(out, "runAsNonRoot false in container "+containerName(c))
					}
					if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
						out = append(out, "runAsUser 0 in container "+containerName(c))
					}
				}
			}
			return out
		},
		func(ps *corev1.PodSpec) {
			yes, uid := true, DefaultUID
			if sc := ps.SecurityContext; sc != nil {
				sc.RunAsNonRoot = &yes
				if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
					sc.RunAsUser = &uid
				}
			}
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil {
					if sc.RunAsNonRoot != nil {
						sc.RunAsNonRoot = &yes
					}
					if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
						sc.RunAsUser = &uid
					}
				}
			}
		}},
	{AllowUnconfined,
		func(ps *corev1.PodSpec) (out []string) {
			if sc := ps.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
				out = append(out, "seccompProfile Unconfined")
			}
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
					out = append(out, "seccompProfile Unconfined in container "+containerName(c))
				}
			}
			return out
		},
		func(ps *corev1.PodSpec) {
			rd := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
			if sc := ps.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
				sc.SeccompProfile = rd
			}
			for _, c := range containers(ps) {
				if sc := c.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
					sc.SeccompProfile = rd
				}
			}
		}},
	{AllowServiceAccount,
		func(ps *corev1.PodSpec) (out []string) {
			if sa := serviceAccount(ps); sa != "" {
				out = append(out, "service account "+sa)
			}
			return out
		},
		func(ps *corev1.PodSpec) { ps.ServiceAccountName, ps.DeprecatedServiceAccount = "", "" }},
}

// restricted evaluates pods against the latest "restricted" profile with
// the checks of Kubernetes' own Pod Security admission.
var restricted = func() pspolicy.Evaluator {
	e, err := pspolicy.NewEvaluator(pspolicy.DefaultChecks(), nil)
	if err != nil {
		panic(fmt.Sprintf("pod security checks: %v", err))
	}
	return e
}()

// violations returns what in the pod breaks the restricted profile, as
// Kubernetes' Pod Security admission says it ("reason (detail)").
func violations(meta *metav1.ObjectMeta, ps *corev1.PodSpec) []string {
	var out []string
	lv := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	for _, r := range restricted.EvaluatePod(lv, meta, ps) {
		if r.Allowed {
			continue
		}
		s := r.ForbiddenReason
		if r.ForbiddenDetail != "" {
			s += " (" + r.ForbiddenDetail + ")"
		}
		out = append(out, s)
	}
	return out
}

// CheckTemplate refuses a Function whose own spec.deployment template would
// give its pods more than the "restricted" Pod Security Standard allows,
// beyond the exceptions of allow. The template is checked as the pods will
// run it, with the defaults of restrictPod. The error is an *Error with
// reason TemplateRefused whose message names what was asked and the
// function-pod-allow name that would allow it.
func CheckTemplate(fn *v1beta1.Function, allow PodAllow) error {
	if allow.allows(AllowAll) {
		return nil
	}
	tpl, err := fn.Spec.DeploymentTemplate()
	if err != nil {
		return newError(v1beta1.ReasonInvalidDeployment, err)
	}
	pod := tpl.Spec.Template.DeepCopy()
	restrictPod(&pod.Spec)
	var refused []string
	for _, ex := range exceptions {
		found := ex.find(&pod.Spec)
		if len(found) == 0 {
			continue
		}
		if !allow.allows(ex.name) {
			refused = append(refused, fmt.Sprintf("%s (allowed by %q)", strings.Join(found, ", "), ex.name))
		}
		ex.remove(&pod.Spec)
	}
	if len(refused) > 0 {
		return errorf(v1beta1.ReasonTemplateRefused,
			"spec.deployment of function %q asks for %s: function pods run under the restricted Pod Security Standard; remove it, or ask an administrator to add the name to %s in kubeless-config",
			fn.Name, strings.Join(refused, "; "), KeyPodAllow)
	}
	if v := violations(&pod.ObjectMeta, &pod.Spec); len(v) > 0 {
		return errorf(v1beta1.ReasonTemplateRefused,
			"spec.deployment of function %q breaks the restricted Pod Security Standard: %s; remove it, or ask an administrator to set %s to %q in kubeless-config",
			fn.Name, strings.Join(v, "; "), KeyPodAllow, AllowAll)
	}
	return nil
}

// KeyPodAllow is the kubeless-config key of the exceptions.
const KeyPodAllow = "function-pod-allow"

// restrictedPodSecurityContext is the pod securityContext of the pods the
// renderer makes on its own (cron trigger jobs): user and group DefaultUID,
// non-root, RuntimeDefault seccomp profile.
func restrictedPodSecurityContext() *corev1.PodSecurityContext {
	ps := &corev1.PodSpec{}
	restrictPod(ps)
	return ps.SecurityContext
}

// restrictedSecurityContext is the container securityContext of the
// containers the renderer makes on its own: no privilege escalation, every
// capability dropped.
func restrictedSecurityContext() *corev1.SecurityContext {
	c := &corev1.Container{}
	restrictContainer(c)
	return c.SecurityContext
}
