package function

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
)

// localRefusals are the flags of the original CLI that describe Kubernetes
// objects the local engine does not have, with the reason it refuses them.
var localRefusals = []struct{ flag, why string }{
	{"node-selectors", "the local engine runs functions as processes of this machine, with no nodes to choose from"},
	{"service-account", "the local engine has no service accounts: its functions run as processes of this machine"},
	{"image-pull-policy", "the local engine pulls no images: it builds functions from their code"},
	{"headless", "the local engine has no Services: its gateway routes /<function> to the function's instances"},
	{"servicePort", "the local engine has no Services: its gateway routes /<function> to the function's instances"},
	{"env-from-secret", "the local engine has no Secrets (pass values with --env)"},
	{"env-from-configmap", "the local engine has no ConfigMaps (pass values with --env)"},
}

// checkKubernetesFlags validates the values of the flags above and of the
// dry run.
func (o *DeployOptions) checkKubernetesFlags(c *cobra.Command) error {
	switch corev1.PullPolicy(o.ImagePullPolicy) {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return cmdutil.FlagErrorf(c, "invalid --image-pull-policy %q: use Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	if o.ServicePort < 0 || o.ServicePort > 65535 {
		return cmdutil.FlagErrorf(c, "invalid --servicePort %d: use 1-65535 (0: the same as --port)", o.ServicePort)
	}
	if o.Update && o.Changed["servicePort"] && o.ServicePort == 0 && !o.Changed["port"] {
		return cmdutil.FlagErrorf(c, "--servicePort 0 needs --port on update: give both, for example --port 8080 --servicePort 0, or give the Service's port")
	}
	if o.ServiceAccount != "" {
		if errs := validation.IsDNS1123Subdomain(o.ServiceAccount); len(errs) > 0 {
			return cmdutil.FlagErrorf(c, "invalid --service-account %q: give the name of a ServiceAccount of the function's namespace", o.ServiceAccount)
		}
	}
	for _, kv := range o.NodeSelectors {
		k, v := splitKV(kv)
		if len(validation.IsQualifiedName(k)) > 0 || len(validation.IsValidLabelValue(v)) > 0 {
			return cmdutil.FlagErrorf(c, "invalid --node-selectors %q: use a node label key=value, for example --node-selectors kubernetes.io/arch=amd64", kv)
		}
	}
	for _, s := range o.EnvFromSecrets {
		if _, _, err := parseEnvFrom(s); err != nil {
			return cmdutil.FlagErrorf(c, "invalid --env-from-secret %q: %v", s, err)
		}
	}
	for _, s := range o.EnvFromConfigMaps {
		if _, _, err := parseEnvFrom(s); err != nil {
			return cmdutil.FlagErrorf(c, "invalid --env-from-configmap %q: %v", s, err)
		}
	}
	if o.Output != "json" && o.Output != "yaml" {
		return cmdutil.FlagErrorf(c, "Output format needs to be yaml or json")
	}
	return nil
}

// parseEnvFrom splits NAME or NAME:KEY.
func parseEnvFrom(s string) (name, key string, err error) {
	name, key, _ = strings.Cut(s, ":")
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", "", fmt.Errorf("give NAME or NAME:KEY, where NAME is an object of the function's namespace (lowercase letters, digits, '-' and '.')")
	}
	if strings.Contains(s, ":") {
		if len(validation.IsEnvVarName(key)) > 0 || len(validation.IsConfigMapKey(key)) > 0 {
			return "", "", fmt.Errorf("KEY must be a key of %s that is also a variable name (letters, digits, '_', '-' and '.', not starting with a digit)", name)
		}
	}
	return name, key, nil
}

// envFrom adds --env-from-secret and --env-from-configmap to c: NAME as an
// envFrom source, NAME:KEY as the variable KEY read from that key.
func (o *DeployOptions) envFrom(c *corev1.Container) {
	add := func(list []string, secret bool) {
		for _, s := range list {
			name, key, _ := parseEnvFrom(s)
			ref := corev1.LocalObjectReference{Name: name}
			if key == "" {
				src := corev1.EnvFromSource{}
				if secret {
					src.SecretRef = &corev1.SecretEnvSource{LocalObjectReference: ref}
				} else {
					src.ConfigMapRef = &corev1.ConfigMapEnvSource{LocalObjectReference: ref}
				}
				c.EnvFrom = append(c.EnvFrom, src)
				continue
			}
			vs := &corev1.EnvVarSource{}
			if secret {
				vs.SecretKeyRef = &corev1.SecretKeySelector{LocalObjectReference: ref, Key: key}
			} else {
				vs.ConfigMapKeyRef = &corev1.ConfigMapKeySelector{LocalObjectReference: ref, Key: key}
			}
			c.Env = append(c.Env, corev1.EnvVar{Name: key, ValueFrom: vs})
		}
	}
	add(o.EnvFromSecrets, true)
	add(o.EnvFromConfigMaps, false)
}

// podFlags sets the pod-level flags (--node-selectors, --service-account)
// on d and reports whether it set any.
func (o *DeployOptions) podFlags(d *appsv1.Deployment) bool {
	ps := &d.Spec.Template.Spec
	if len(o.NodeSelectors) > 0 {
		ps.NodeSelector = map[string]string{}
		for _, kv := range o.NodeSelectors {
			k, v := splitKV(kv)
			ps.NodeSelector[k] = v
		}
	}
	ps.ServiceAccountName = o.ServiceAccount
	return len(ps.NodeSelector) > 0 || ps.ServiceAccountName != ""
}

// servicePorts is the Service port of the function: --port as the target
// port, and --servicePort (or --port) as the Service's port. For update, a
// port left 0 keeps the stored one (backend.MergeFunction).
func (o *DeployOptions) servicePorts() []corev1.ServicePort {
	if !o.given("port") && !o.given("servicePort") {
		return nil
	}
	p := corev1.ServicePort{Name: "http-function-port", Protocol: corev1.ProtocolTCP}
	if o.given("port") {
		p.TargetPort = intstr.FromInt32(o.Port)
		p.Port = o.Port
		if o.Update {
			// The Service's port follows --port unless it was set apart
			// with --servicePort (MergeFunction).
			p.Port = 0
		}
	}
	if o.ServicePort != 0 {
		p.Port = o.ServicePort
	} else if o.Update && o.Changed["servicePort"] {
		// --servicePort 0 --port N: the Service's port is N again.
		p.Port = o.Port
	}
	return []corev1.ServicePort{p}
}

func (o *DeployOptions) dryRun(ctx context.Context, fn *v1beta1.Function) error {
	if !o.Update {
		fn.Labels = mergeLabels(map[string]string{v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, v1beta1.LabelFunction: o.Name}, fn.Labels)
		return printDryRun(o, fn)
	}
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	cur, err := cl.Get(ctx, o.Namespace, o.Name)
	if backend.IsNotFound(err) {
		return fmt.Errorf("Function %s is not found", o.Name)
	}
	if err != nil {
		return err
	}
	if err := o.checkHeadless(cur); err != nil {
		return err
	}
	merged, err := backend.MergeFunction(cur, fn)
	if err != nil {
		return err
	}
	merged.Status = v1beta1.FunctionStatus{}
	merged.ManagedFields = nil
	return printDryRun(o, merged)
}

// checkHeadless refuses an update whose --headless differs from the stored
// function's Service: a Service's cluster IP cannot change.
func (o *DeployOptions) checkHeadless(cur *v1beta1.Function) error {
	if !o.Update || !o.Changed["headless"] {
		return nil
	}
	is := cur.Spec.ServiceSpec.ClusterIP == corev1.ClusterIPNone
	if is == o.Headless {
		return nil
	}
	if is {
		return fmt.Errorf("function %s has a headless Service, which cannot change: delete the function and deploy it again without --headless", o.Name)
	}
	return fmt.Errorf("function %s has a Service with a cluster IP, which cannot become headless: delete the function and deploy it again with --headless", o.Name)
}

func mergeLabels(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// printDryRun prints fn in YAML or JSON, as the triggers' --dryrun does.
func printDryRun(o *DeployOptions, fn *v1beta1.Function) error {
	return cmdutil.PrintOutput(o.IO.Out, o.Output, fn)
}
