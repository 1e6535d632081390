package backend

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// MergeFunction returns old with the non-empty parts of patch, which is
// what `kubeless function update` sends: spec fields, labels, the service
// ports, and in the deployment template the replicas, and of the first
// container the env (by name), resources and image, with the pod's volumes
// and the container's volume mounts (by name). Both engines update with it.
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
		fn.Spec.ServiceSpec.Ports = p.ServiceSpec.Ports
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
		for _, m := range pc.VolumeMounts {
			oc.VolumeMounts = putByName(oc.VolumeMounts, m, func(m corev1.VolumeMount) string { return m.Name })
		}
	}
	if err := fn.Spec.SetDeploymentTemplate(od); err != nil {
		return nil, err
	}
	return fn, nil
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
