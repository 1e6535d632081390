package function

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// runDeployCmd runs deploy (or update) with args on the Kubernetes engine
// engine and returns stdout and the error.
func runDeployCmd(t *testing.T, engine EngineFunc, update bool, args string) (string, error) {
	t.Helper()
	ios, _, stdout, _ := iostreams.Test()
	f := &Factory{IOStreams: ios, Engine: engine, OnKubernetes: func() bool { return true }}
	cmd := NewCmdDeploy(f, nil)
	if update {
		cmd = NewCmdUpdate(f, nil)
	}
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	err := cmd.Execute()
	return stdout.String(), err
}

// TestKubernetesOriginalFlags deploys and updates with the original CLI's
// flags on the Kubernetes engine and checks the stored Function (what
// render turns into the Deployment and Service: see the golden case
// original-cli-flags).
func TestKubernetesOriginalFlags(t *testing.T) {
	ctx := context.Background()
	engine, c := kubeFakes(t)
	file := filepath.Join(t.TempDir(), "hello.py")
	writeFile(t, file, "def foo(e, c):\n    return 'hi'\n")
	base := "hello -r python3.12 --handler hello.foo -f " + file + " --wait=false"
	get := func() *v1beta1.Function {
		t.Helper()
		fn := &v1beta1.Function{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello"}, fn); err != nil {
			t.Fatal(err)
		}
		return fn
	}

	// --dryrun prints the Function and creates nothing.
	out, err := runDeployCmd(t, engine, false, base+" --headless --servicePort 80 --port 9000 --dryrun")
	if err != nil {
		t.Fatal(err)
	}
	printed := &v1beta1.Function{}
	if err := yaml.UnmarshalStrict([]byte(out), printed); err != nil {
		t.Fatalf("dry run printed %q: %v", out, err)
	}
	if printed.Name != "hello" || printed.Labels[v1beta1.LabelCreatedBy] != v1beta1.CreatedByKubeless || printed.Spec.ServiceSpec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("dry run printed %+v", printed)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello"}, &v1beta1.Function{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry run created the function: %v", err)
	}

	_, err = runDeployCmd(t, engine, false, base+" --node-selectors disk=ssd --service-account fn-sa --image-pull-policy Never --headless --port 9000 --servicePort 80"+
		" --env-from-secret creds --env-from-configmap settings:LEVEL")
	if err != nil {
		t.Fatal(err)
	}
	fn := get()
	wantPorts := []corev1.ServicePort{{Name: "http-function-port", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(9000)}}
	if d := cmp.Diff(wantPorts, fn.Spec.ServiceSpec.Ports); d != "" || fn.Spec.ServiceSpec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("service clusterIP %q, ports (-want +got):\n%s", fn.Spec.ServiceSpec.ClusterIP, d)
	}
	d, err := fn.Spec.DeploymentTemplate()
	if err != nil {
		t.Fatal(err)
	}
	ps := d.Spec.Template.Spec
	ct := ps.Containers[0]
	wantEnv := []corev1.EnvVar{{Name: "LEVEL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "LEVEL"}}}}
	wantFrom := []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}}
	if !cmp.Equal(ps.NodeSelector, map[string]string{"disk": "ssd"}) || ps.ServiceAccountName != "fn-sa" || ct.ImagePullPolicy != corev1.PullNever ||
		!cmp.Equal(ct.Env, wantEnv) || !cmp.Equal(ct.EnvFrom, wantFrom) {
		t.Errorf("pod template = %+v", ps)
	}

	// update: --servicePort alone keeps the function's port; the env
	// sources add up.
	if _, err := runDeployCmd(t, engine, true, "hello --servicePort 8081 --env-from-secret other:KEY --wait=false"); err != nil {
		t.Fatal(err)
	}
	fn = get()
	wantPorts[0].Port = 8081
	if d := cmp.Diff(wantPorts, fn.Spec.ServiceSpec.Ports); d != "" {
		t.Errorf("after update --servicePort, ports (-want +got):\n%s", d)
	}
	d, _ = fn.Spec.DeploymentTemplate()
	if ct := d.Spec.Template.Spec.Containers[0]; len(ct.Env) != 2 || ct.Env[1].ValueFrom.SecretKeyRef.Name != "other" || len(ct.EnvFrom) != 1 || ct.ImagePullPolicy != corev1.PullNever {
		t.Errorf("after update, container = %+v", ct)
	}

	// --servicePort 0 brings the Service's port back to --port.
	if _, err := runDeployCmd(t, engine, true, "hello --servicePort 0 --wait=false"); err == nil ||
		err.Error() != "--servicePort 0 needs --port on update: give both, for example --port 8080 --servicePort 0, or give the Service's port" {
		t.Errorf("update --servicePort 0 alone: %v", err)
	}
	out, err = runDeployCmd(t, engine, true, "hello --servicePort 0 --port 9000 --dryrun")
	if err != nil {
		t.Fatal(err)
	}
	printed = &v1beta1.Function{}
	if err := yaml.UnmarshalStrict([]byte(out), printed); err != nil {
		t.Fatal(err)
	}
	if p := printed.Spec.ServiceSpec.Ports; len(p) != 1 || p[0].Port != 9000 || p[0].TargetPort.IntVal != 9000 {
		t.Errorf("update --servicePort 0 --port 9000 --dryrun: ports %+v, want 9000 to 9000", p)
	}

	// update --dryrun prints the function as it would be, and changes
	// nothing.
	rv := fn.ResourceVersion
	out, err = runDeployCmd(t, engine, true, "hello --port 7000 --dryrun -o json")
	if err != nil {
		t.Fatal(err)
	}
	printed = &v1beta1.Function{}
	if err := yaml.UnmarshalStrict([]byte(out), printed); err != nil || !strings.HasPrefix(out, "{") {
		t.Fatalf("update dry run printed %q: %v", out, err)
	}
	if p := printed.Spec.ServiceSpec.Ports[0]; p.Port != 8081 || p.TargetPort.IntVal != 7000 || printed.Spec.Handler != "hello.foo" {
		t.Errorf("update dry run printed ports %+v, handler %q", printed.Spec.ServiceSpec.Ports, printed.Spec.Handler)
	}
	if get().ResourceVersion != rv {
		t.Error("update --dryrun changed the function")
	}

	// A Service cannot change between headless and not.
	_, err = runDeployCmd(t, engine, true, "hello --headless=false --wait=false")
	if want := "function hello has a headless Service, which cannot change: delete the function and deploy it again without --headless"; err == nil || err.Error() != want {
		t.Errorf("update --headless=false: %v, want %q", err, want)
	}
	var fe *cmdutil.FlagError
	if errors.As(err, &fe) {
		t.Error("a refused headless change is not a usage error")
	}
	if _, err := runDeployCmd(t, engine, true, "hello --headless --timeout 30 --wait=false"); err != nil {
		t.Errorf("update --headless on a headless function: %v", err)
	}
	if get().Spec.Timeout != "30" {
		t.Error("update with a matching --headless did not apply")
	}
	_, err = runDeployCmd(t, engine, true, "nothere --headless --wait=false")
	if err == nil || err.Error() != "Function nothere is not found" {
		t.Errorf("update of a missing function: %v", err)
	}
}
