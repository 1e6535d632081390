package backend

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// MergeFunction returns old with the non-empty parts of patch, which is
// what `kubeless function update` sends: spec fields, labels, the service
// ports (a zero port or target port keeps the stored one: mergePorts), the
// autoscaler (replaced whole), and in the deployment template the replicas,
// node selector and service account, and of the first container the env
// (by name), envFrom (by object), resources, image and pull policy, with
// the pod's volumes and the container's volume mounts (by name). Both
// engines update with it.
// A deployment template that does not decode is an Invalid *Error.
func MergeFunction(old, patch *v1beta1.Function) (*v1beta1.Function, error) {
	fn := old.DeepCopy()
	p := patch.Spec
	if p.Function != "" {
		fn.Spec.Function = p.Function
		fn.Spec.FunctionContentType = p.FunctionContentType
		fn.Spec.Checksum = p.Checksum
	}
	for dst, src := range map[*string]string{
		&fn.Spec.Handler: p.Handler, &fn.Spec.Deps: p.Deps,
		&fn.Spec.Runtime: p.Runtime, &fn.Spec.Timeout: p.Timeout,
	} {
		if src != "" {
			*dst = src
		}
	}
	for k, v := range patch.Labels {
		if fn.Labels == nil {
			fn.Labels = map[string]string{}
		}
		fn.Labels[k] = v
	}
	if len(p.ServiceSpec.Ports) > 0 {
		fn.Spec.ServiceSpec.Ports = mergePorts(fn.Spec.ServiceSpec.Ports, p.ServiceSpec.Ports)
	}
	if p.HorizontalPodAutoscaler != nil {
		fn.Spec.HorizontalPodAutoscaler = p.HorizontalPodAutoscaler.DeepCopy()
	}
	if p.Deployment == nil {
		return fn, nil
	}
	pd, err := p.DeploymentTemplate()
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Message: err.Error()}
	}
	od, err := fn.Spec.DeploymentTemplate()
	if err != nil {
		od = &appsv1.Deployment{}
	}
	if pd.Spec.Replicas != nil {
		od.Spec.Replicas = pd.Spec.Replicas
	}
	ps, os := &pd.Spec.Template.Spec, &od.Spec.Template.Spec
	if len(ps.NodeSelector) > 0 {
		os.NodeSelector = ps.NodeSelector
	}
	if ps.ServiceAccountName != "" {
		os.ServiceAccountName = ps.ServiceAccountName
	}
	for _, v := range ps.Volumes {
		os.Volumes = putByName(os.Volumes, v, func(v corev1.Volume) string { return v.Name })
	}
	if len(ps.Containers) > 0 {
		pc := ps.Containers[0]
		if len(os.Containers) == 0 {
			os.Containers = []corev1.Container{{}}
		}
		oc := &os.Containers[0]
		for _, ev := range pc.Env {
			oc.Env = putByName(oc.Env, ev, func(e corev1.EnvVar) string { return e.Name })
		}
		if len(pc.Resources.Limits) > 0 || len(pc.Resources.Requests) > 0 {
			oc.Resources = pc.Resources
		}
		if pc.Image != "" {
			oc.Image = pc.Image
		}
		if pc.ImagePullPolicy != "" {
			oc.ImagePullPolicy = pc.ImagePullPolicy
		}
		for _, ef := range pc.EnvFrom {
			oc.EnvFrom = putByName(oc.EnvFrom, ef, envFromName)
		}
		for _, m := range pc.VolumeMounts {
			oc.VolumeMounts = putByName(oc.VolumeMounts, m, func(m corev1.VolumeMount) string { return m.Name })
		}
	}
	if err := fn.Spec.SetDeploymentTemplate(od); err != nil {
		return nil, err
	}
	return fn, nil
}

// envFromName names an envFrom source by its kind and object.
func envFromName(e corev1.EnvFromSource) string {
	switch {
	case e.SecretRef != nil:
		return e.Prefix + "/secret/" + e.SecretRef.Name
	case e.ConfigMapRef != nil:
		return e.Prefix + "/configmap/" + e.ConfigMapRef.Name
	}
	return e.Prefix
}

// mergePorts returns patch's ports, where the first one's zero port or
// target port keeps old's. A zero port with old's port equal to old's
// target port (the Service port was not set apart from the function's
// port, by --servicePort) follows the new target port.
func mergePorts(old, patch []corev1.ServicePort) []corev1.ServicePort {
	out := append([]corev1.ServicePort(nil), patch...)
	p := &out[0]
	oldPort, oldTarget := int32(8080), intstr.FromInt32(8080)
	if len(old) > 0 {
		oldPort, oldTarget = old[0].Port, old[0].TargetPort
		if oldTarget.IntVal == 0 && oldTarget.StrVal == "" {
			oldTarget = intstr.FromInt32(oldPort)
		}
	}
	if p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "" {
		p.TargetPort = oldTarget
	}
	if p.Port == 0 {
		p.Port = oldPort
		if oldTarget.Type == intstr.Int && oldTarget.IntVal == oldPort && p.TargetPort.Type == intstr.Int {
			p.Port = p.TargetPort.IntVal
		}
	}
	return out
}

// putByName replaces the items of list named like v with v, or appends v.
func putByName[T any](list []T, v T, name func(T) string) []T {
	replaced := false
	for i := range list {
		if name(list[i]) == name(v) {
			list[i] = v
			replaced = true
		}
	}
	if !replaced {
		list = append(list, v)
	}
	return list
}
