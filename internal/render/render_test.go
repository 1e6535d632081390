package render

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"

	"github.com/kubeless/kubeless/pkg/contract"
)

func newFunction(mod func(*v1beta1.Function)) *v1beta1.Function {
	fn := &v1beta1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", UID: "uid-1"},
		Spec: v1beta1.FunctionSpec{
			Runtime:  "python3.12",
			Handler:  "hello.foo",
			Function: "def foo(event, context):\n    return 'hi'\n",
			Deps:     "requests\n",
		},
	}
	if mod != nil {
		mod(fn)
	}
	return fn
}

func raw(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

// renderFunction runs every Function builder and returns the first error.
func renderFunction(fn *v1beta1.Function) (*appsv1.Deployment, error) {
	entry, err := Lookup(langruntime.Default(), fn)
	if err != nil {
		return nil, err
	}
	if _, err := ConfigMap(fn, entry); err != nil {
		return nil, err
	}
	if _, err := Service(fn); err != nil {
		return nil, err
	}
	if _, err := HPA(fn); err != nil {
		return nil, err
	}
	return Deployment(fn, entry, Config{})
}

func TestFunctionErrors(t *testing.T) {
	tests := []struct {
		name       string
		mod        func(*v1beta1.Function)
		wantReason string
		wantErr    string
	}{
		{"unknown runtime", func(f *v1beta1.Function) { f.Spec.Runtime = "python2.6" },
			v1beta1.ReasonUnknownRuntime, "Invalid runtime: python2.6. Supported runtimes are: python3.9, "},
		{"malformed handler", func(f *v1beta1.Function) { f.Spec.Handler = "hello" },
			v1beta1.ReasonInvalidHandler, source.ErrHandlerFormat.Error()},
		{"handler with a path", func(f *v1beta1.Function) { f.Spec.Handler = "../x.foo" },
			v1beta1.ReasonInvalidHandler, `handler "../x.foo": folder ".." must stay inside the function's folder`},
		{"handler with an absolute path", func(f *v1beta1.Function) { f.Spec.Handler = "/etc/x.foo" },
			v1beta1.ReasonInvalidHandler, `handler "/etc/x.foo": the module's folder must be relative`},
		{"unknown content type", func(f *v1beta1.Function) { f.Spec.FunctionContentType = "gzip" },
			v1beta1.ReasonInvalidContentType, "Unable to prepare function of type gzip: Unknown format"},
		{"deps without archive", func(f *v1beta1.Function) { f.Spec.FunctionContentType = "base64+deps" },
			v1beta1.ReasonInvalidContentType, `content type "base64+deps": +deps needs +zip or +compressedtar`},
		{"checksum without prefix", func(f *v1beta1.Function) { f.Spec.Checksum = "md5:abc" },
			v1beta1.ReasonInvalidChecksum, "Unable to verify checksum md5:abc: Unknown format"},
		{"checksum too short", func(f *v1beta1.Function) { f.Spec.Checksum = "sha256:abc" },
			v1beta1.ReasonInvalidChecksum, `checksum "sha256:abc": want 64 hexadecimal digits`},
		{"deployment that does not parse", func(f *v1beta1.Function) {
			f.Spec.Deployment = raw(`{"spec": {"replicas": "three"}}`)
		}, v1beta1.ReasonInvalidDeployment, "spec.deployment is not a valid apps/v1 Deployment"},
		{"deployment reusing the code volume", func(f *v1beta1.Function) {
			f.Spec.Deployment = raw(`{"spec": {"template": {"spec": {"volumes": [{"name": "hello", "emptyDir": {}}]}}}}`)
		}, v1beta1.ReasonInvalidDeployment, `spec.deployment: volume "hello" is reserved for the function's code`},
		{"no code and no image", func(f *v1beta1.Function) { f.Spec.Handler, f.Spec.Function, f.Spec.Runtime = "", "", "" },
			v1beta1.ReasonInvalidDeployment, `function "hello" has no code (spec.handler and spec.function) and no image`},
		{"code without runtime", func(f *v1beta1.Function) { f.Spec.Runtime = "" },
			v1beta1.ReasonUnknownRuntime, `function "hello": spec.runtime is required`},
		{"autoscaler that does not parse", func(f *v1beta1.Function) {
			f.Spec.HorizontalPodAutoscaler = raw(`{"metadata": {"name": "hello"}, "spec": {"maxReplicas": "x"}}`)
		}, v1beta1.ReasonInvalidAutoscaler, "spec.horizontalPodAutoscaler is not a valid HorizontalPodAutoscaler"},
		{"autoscaler without max", func(f *v1beta1.Function) {
			f.Spec.HorizontalPodAutoscaler = raw(`{"metadata": {"name": "hello"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "hello"}}}`)
		}, v1beta1.ReasonInvalidAutoscaler, "spec.horizontalPodAutoscaler.spec.maxReplicas is 0, want at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderFunction(newFunction(tt.mod))
			if err == nil {
				t.Fatal("no error")
			}
			if got := Reason(err); got != tt.wantReason {
				t.Errorf("Reason = %q, want %q (error %v)", got, tt.wantReason, err)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Errorf("error %T is not an *Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestUnknownRuntimeKeepsCatalogError(t *testing.T) {
	_, err := Lookup(langruntime.Default(), newFunction(func(f *v1beta1.Function) { f.Spec.Runtime = "cobol1" }))
	var ire *langruntime.InvalidRuntimeError
	if !errors.As(err, &ire) || ire.Runtime != "cobol1" {
		t.Fatalf("error %v does not wrap *langruntime.InvalidRuntimeError", err)
	}
}

func TestTriggerErrors(t *testing.T) {
	fn := newFunction(nil)
	http := func(mod func(*v1beta1.HTTPTriggerSpec)) *v1beta1.HTTPTrigger {
		tr := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "default"},
			Spec: v1beta1.HTTPTriggerSpec{FunctionName: "hello", HostName: "h.example.com"}}
		mod(&tr.Spec)
		return tr
	}
	tests := []struct {
		name    string
		run     func() error
		wantErr string
	}{
		{"tls twice", func() error {
			_, err := Ingress(http(func(s *v1beta1.HTTPTriggerSpec) { s.TLSAcme, s.TLSSecret = true, "s" }), fn)
			return err
		}, `trigger "t": tls (ACME) and tls-secret exclude each other`},
		{"kong basic auth", func() error {
			_, err := Ingress(http(func(s *v1beta1.HTTPTriggerSpec) { s.Gateway, s.BasicAuthSecret = "kong", "a" }), fn)
			return err
		}, `trigger "t": basic-auth-secret works with the nginx and traefik gateways, not "kong"`},
		{"tls without host", func() error {
			_, err := Ingress(http(func(s *v1beta1.HTTPTriggerSpec) { s.HostName, s.TLSSecret = "", "s" }), fn)
			return err
		}, `trigger "t": TLS needs host-name`},
		{"ingress for another function", func() error {
			_, err := Ingress(http(func(s *v1beta1.HTTPTriggerSpec) { s.FunctionName = "other" }), fn)
			return err
		}, `trigger "t" is for function "other", not "hello"`},
		{"cron without schedule", func() error {
			_, err := CronJob(&v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Name: "c"},
				Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello"}}, fn, Config{})
			return err
		}, `trigger "c": spec.schedule is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if Reason(err) != v1beta1.ReasonInvalidTrigger {
				t.Errorf("Reason(%v) = %q, want %q", err, Reason(err), v1beta1.ReasonInvalidTrigger)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

// hostile values: each would do something if pasted into a shell script.
const (
	evilModule = "m$(touch${IFS}pwned)'x\"y`id`"
	evilFunc   = "f;rm${IFS}-rf${IFS}/kubeless;'\"$(id)"
	evilURL    = "https://example.com/a'$(id)\"b.py"
	evilEnv    = `$(FUNC_PORT)'"; $(id) ` + "`uname`"
	evilDeps   = "requests\n'$(id)\"\n"
	evilData   = `{"a": "'$(id)\"; exit 1"}`
)

// scripts returns the command and args of every container of the objects.
func scripts(specs ...corev1.PodSpec) []string {
	var out []string
	for _, ps := range specs {
		for _, c := range append(append([]corev1.Container{}, ps.InitContainers...), ps.Containers...) {
			out = append(out, c.Command...)
			out = append(out, c.Args...)
		}
	}
	return out
}

func TestUserValuesNeverInScripts(t *testing.T) {
	checksum := source.Checksum([]byte("code"))
	for _, ct := range []string{"text", "base64", "url", "base64+zip", "url+compressedtar+deps"} {
		t.Run(ct, func(t *testing.T) {
			fn := newFunction(func(f *v1beta1.Function) {
				f.Spec.Handler = evilModule + "." + evilFunc
				f.Spec.FunctionContentType = ct
				f.Spec.Function = evilURL
				f.Spec.Checksum = checksum
				f.Spec.Deps = evilDeps
				f.Spec.Timeout = "42"
				f.Spec.Runtime = "go1.26" // prepare, compile and (with deps) no install
				if strings.HasPrefix(ct, "base64") {
					f.Spec.Runtime = "nodejs20" // prepare and install
				}
				d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "EVIL", Value: evilEnv}}}},
				}}}}
				if err := f.Spec.SetDeploymentTemplate(d); err != nil {
					t.Fatal(err)
				}
			})
			entry, err := Lookup(langruntime.Default(), fn)
			if err != nil {
				t.Fatal(err)
			}
			dep, err := Deployment(fn, entry, Config{})
			if err != nil {
				t.Fatal(err)
			}
			tr := &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"},
				Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "* * * * *", Payload: raw(evilData)}}
			cj, err := CronJob(tr, fn, Config{})
			if err != nil {
				t.Fatal(err)
			}
			depScripts := scripts(dep.Spec.Template.Spec)
			all := append(scripts(cj.Spec.JobTemplate.Spec.Template.Spec), depScripts...)
			if len(dep.Spec.Template.Spec.InitContainers) < 2 {
				t.Fatalf("want prepare and a build container, got %d init containers", len(dep.Spec.Template.Spec.InitContainers))
			}
			for _, v := range []string{evilModule, evilFunc, evilURL, evilEnv, evilDeps, "'$(id)", "$(id)",
				strings.TrimPrefix(checksum, "sha256:"), "requests", "42"} {
				for _, s := range all {
					if strings.Contains(s, v) {
						t.Errorf("user value %q appears in script:\n%s", v, s)
					}
				}
			}
			// The scripts are the same for tame values of the same shape.
			tame := fn.DeepCopy()
			tame.Spec.Handler, tame.Spec.Function, tame.Spec.Checksum, tame.Spec.Deps = "a.b", "https://x/y", "", "x"
			tdep, err := Deployment(tame, entry, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(depScripts, scripts(tdep.Spec.Template.Spec)); diff != "" {
				t.Errorf("scripts depend on user values (-evil +tame):\n%s", diff)
			}
			// The values reach the containers through env, escaped from
			// Kubernetes $(VAR) expansion.
			env := map[string]string{}
			for _, c := range dep.Spec.Template.Spec.InitContainers {
				for _, e := range c.Env {
					env[c.Name+"/"+e.Name] = e.Value
				}
			}
			if got, want := env["prepare/KUBELESS_CHECKSUM"], checksum; got != want {
				t.Errorf("KUBELESS_CHECKSUM = %q, want %q", got, want)
			}
			if ct == "url" {
				if got, want := env["prepare/KUBELESS_FUNCTION_URL"], strings.ReplaceAll(evilURL, "$", "$$"); got != want {
					t.Errorf("KUBELESS_FUNCTION_URL = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestFunctionEnvOrder(t *testing.T) {
	fn := newFunction(func(f *v1beta1.Function) {
		f.Spec.Timeout = "30"
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Env: []corev1.EnvVar{
				{Name: "foo", Value: "bar"},
				{Name: "FUNC_TIMEOUT", Value: "1"},
				{Name: "KUBELESS_INSTALL_VOLUME", Value: "/elsewhere"},
				{Name: "PYTHONPATH", Value: "$(PYTHONPATH):/extra"},
			}}},
		}}}}
		if err := f.Spec.SetDeploymentTemplate(d); err != nil {
			t.Fatal(err)
		}
	})
	dep, err := renderFunction(fn)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		got = append(got, e.Name+"="+e.Value)
	}
	want := []string{
		"FUNC_HANDLER=foo", "MOD_NAME=hello", "FUNC_TIMEOUT=30", "FUNC_RUNTIME=python3.12",
		"FUNC_MEMORY_LIMIT=0", "FUNC_PORT=8080", "KUBELESS_INSTALL_VOLUME=/kubeless",
		"foo=bar",
		"PYTHONPATH=$(KUBELESS_INSTALL_VOLUME)/lib/python3.12/site-packages:$(KUBELESS_INSTALL_VOLUME)/local/lib/python3.12/dist-packages:$(KUBELESS_INSTALL_VOLUME):/extra",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	// User env reaches the build containers after theirs, without the
	// names they set.
	var install []string
	for _, e := range dep.Spec.Template.Spec.InitContainers[1].Env {
		install = append(install, e.Name)
	}
	wantInstall := []string{"KUBELESS_INSTALL_VOLUME", "KUBELESS_DEPS_FILE", "KUBELESS_DEPS_CHECKSUM",
		"PIP_DISABLE_PIP_VERSION_CHECK", "PIP_IGNORE_INSTALLED", "PIP_ROOT_USER_ACTION", "foo", "FUNC_TIMEOUT", "PYTHONPATH"}
	if diff := cmp.Diff(wantInstall, install); diff != "" {
		t.Errorf("install env (-want +got):\n%s", diff)
	}
}

// TestChecksumAnnotationRolls: every change the pods read at start changes
// the pod template's checksum annotation; metadata-only changes do not.
func TestChecksumAnnotationRolls(t *testing.T) {
	sum := func(fn *v1beta1.Function) string {
		t.Helper()
		dep, err := renderFunction(fn)
		if err != nil {
			t.Fatal(err)
		}
		return dep.Spec.Template.Annotations[AnnotationChecksum]
	}
	base := sum(newFunction(nil))
	if !strings.HasPrefix(base, "sha256:") {
		t.Fatalf("annotation %q", base)
	}
	changes := map[string]func(*v1beta1.Function){
		"code":    func(f *v1beta1.Function) { f.Spec.Function += "# changed\n" },
		"deps":    func(f *v1beta1.Function) { f.Spec.Deps = "flask\n" },
		"handler": func(f *v1beta1.Function) { f.Spec.Handler = "hello.bar" },
		"runtime": func(f *v1beta1.Function) { f.Spec.Runtime = "python3.13" },
		"timeout": func(f *v1beta1.Function) { f.Spec.Timeout = "10" },
		"env": func(f *v1beta1.Function) {
			f.Spec.Deployment = raw(`{"spec": {"template": {"spec": {"containers": [{"env": [{"name": "A", "value": "1"}]}]}}}}`)
		},
	}
	for name, mod := range changes {
		if sum(newFunction(mod)) == base {
			t.Errorf("changing %s keeps the checksum annotation", name)
		}
	}
	if sum(newFunction(func(f *v1beta1.Function) { f.Spec.Timeout = "180" })) != base {
		t.Errorf("the default timeout written out changes the checksum annotation")
	}
	if sum(newFunction(func(f *v1beta1.Function) { f.Labels = map[string]string{"x": "y"} })) != base {
		t.Errorf("a label changes the checksum annotation")
	}
}

func TestDeploymentTemplateMerge(t *testing.T) {
	fn := newFunction(func(f *v1beta1.Function) {
		f.Spec.Deployment = raw(`{
		  "metadata": {"labels": {"tier": "a"}, "annotations": {"note": "n"}},
		  "spec": {"replicas": 2, "template": {"spec": {
		    "containers": [{"image": "", "resources": {"limits": {"memory": "128Mi"}}}, {"name": "side", "image": "side:1"}],
		    "initContainers": [{"name": "ignored", "image": "ignored", "resources": {"limits": {"cpu": "100m"}}}]}}}}`)
	})
	dep, err := renderFunction(fn)
	if err != nil {
		t.Fatal(err)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", dep.Spec.Replicas)
	}
	if dep.Labels["tier"] != "a" || dep.Annotations["note"] != "n" || dep.Labels["function"] != "hello" {
		t.Errorf("metadata not merged: %v %v", dep.Labels, dep.Annotations)
	}
	ps := dep.Spec.Template.Spec
	if len(ps.Containers) != 2 || ps.Containers[1].Name != "side" {
		t.Errorf("sidecar lost: %+v", ps.Containers)
	}
	if got := ps.Containers[0].Env[4]; got.Name != contract.EnvFuncMemoryLimit || got.Value != "128Mi" {
		t.Errorf("env[4] = %v, want FUNC_MEMORY_LIMIT=128Mi", got)
	}
	for _, c := range ps.InitContainers {
		if c.Name == "ignored" {
			t.Errorf("template init container kept")
		}
		if c.Resources.Limits.Cpu().String() != "100m" {
			t.Errorf("%s: resources %v, want the template's initContainers[0].resources", c.Name, c.Resources)
		}
	}
}

func TestRuntimeImageOverrideAndPullPolicy(t *testing.T) {
	fn := newFunction(nil)
	entry, err := Lookup(langruntime.Default(), fn)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := Deployment(fn, entry, Config{
		ProvisionImage:       "local/provision:dev",
		ImagePullPolicy:      corev1.PullNever,
		RuntimeImageOverride: map[string]string{"python3.12": "local/python:dev"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ps := dep.Spec.Template.Spec
	if got := ps.Containers[0].Image; got != "local/python:dev" {
		t.Errorf("image = %q", got)
	}
	if got := ps.InitContainers[0].Image; got != "local/provision:dev" {
		t.Errorf("prepare image = %q", got)
	}
	for _, c := range append(ps.InitContainers, ps.Containers...) {
		if c.ImagePullPolicy != corev1.PullNever {
			t.Errorf("%s: pull policy %q", c.Name, c.ImagePullPolicy)
		}
	}
}

func TestCatalogProbeAndSecrets(t *testing.T) {
	cat, err := langruntime.Parse([]byte(`[{"ID": "python", "depName": "requirements.txt", "fileNameSuffix": ".py",
	  "livenessProbeInfo": {"exec": {"command": ["true"]}, "initialDelaySeconds": 5},
	  "versions": [{"name": "p", "version": "3.12", "imagePullSecrets": [{"imageSecret": "pull"}], "images": [
	    {"phase": "installation", "image": "i", "command": "pip install", "secrets": [{"name": "pypi"}]},
	    {"phase": "runtime", "image": "r"}]}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	fn := newFunction(nil)
	entry, err := Lookup(cat, fn)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := Deployment(fn, entry, Config{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "ctl"}}})
	if err != nil {
		t.Fatal(err)
	}
	ps := dep.Spec.Template.Spec
	if p := ps.Containers[0].LivenessProbe; p.Exec == nil || p.InitialDelaySeconds != 5 {
		t.Errorf("liveness = %+v, want the catalog's", p)
	}
	if got := ps.ImagePullSecrets; len(got) != 2 || got[0].Name != "ctl" || got[1].Name != "pull" {
		t.Errorf("imagePullSecrets = %v", got)
	}
	b, _ := json.Marshal(ps.InitContainers[1].VolumeMounts)
	if !strings.Contains(string(b), `{"name":"pypi","readOnly":true,"mountPath":"/var/run/secrets/kubeless.io/pypi"}`) {
		t.Errorf("install mounts = %s", b)
	}
}

// TestCronJobPodsAreNotTheFunctionsPods: the pods of a cron trigger's jobs
// must not match the function's Service selector (calls would go to them)
// nor its pod selector (they would count as its pods).
func TestCronJobPodsAreNotTheFunctionsPods(t *testing.T) {
	fn := &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default", Labels: map[string]string{"team": "a"}},
		Spec: v1beta1.FunctionSpec{Runtime: "python3.11", Handler: "h.foo", Function: "x"}}
	svc, err := Service(fn)
	if err != nil {
		t.Fatal(err)
	}
	tr := &v1beta1.CronJobTrigger{ObjectMeta: metav1.ObjectMeta{Name: "tick", Namespace: "default"},
		Spec: v1beta1.CronJobTriggerSpec{FunctionName: "hello", Schedule: "@hourly"}}
	cj, err := CronJob(tr, fn, Config{})
	if err != nil {
		t.Fatal(err)
	}
	pod := labels.Set(cj.Spec.JobTemplate.Spec.Template.Labels)
	for what, sel := range map[string]map[string]string{"Service selector": svc.Spec.Selector, "pod selector": SelectorLabels(fn)} {
		if labels.SelectorFromSet(sel).Matches(pod) {
			t.Errorf("the %s %v matches the cron job's pods %v", what, sel, pod)
		}
	}
	if pod[LabelCronJobTrigger] != "tick" || cj.Labels[v1beta1.LabelFunction] != "hello" {
		t.Errorf("cron pod labels %v, CronJob labels %v", pod, cj.Labels)
	}
}

// TestIngressAnnotations: the ingress class follows a named gateway (not
// only with basic auth), and the trigger's annotations reach the Ingress
// over the generated ones, as the original did; the spec's basic auth, CORS
// and TLS annotations still win.
func TestIngressAnnotations(t *testing.T) {
	fn := newFunction(nil)
	tests := []struct {
		name    string
		spec    v1beta1.HTTPTriggerSpec
		ann     map[string]string
		want    map[string]string
		missing []string
	}{
		{"no gateway: the cluster's default class", v1beta1.HTTPTriggerSpec{}, nil,
			map[string]string{"nginx.ingress.kubernetes.io/rewrite-target": "/"}, []string{AnnotationIngressClass}},
		{"traefik: its Middlewares, no nginx annotations", v1beta1.HTTPTriggerSpec{Gateway: "traefik", BasicAuthSecret: "a", CorsEnable: true},
			nil, map[string]string{AnnotationIngressClass: "traefik",
				AnnotationTraefikMiddlewares: "default-t-cors@kubernetescrd,default-t-auth@kubernetescrd,default-t-path@kubernetescrd"},
			[]string{"nginx.ingress.kubernetes.io/rewrite-target", "nginx.ingress.kubernetes.io/auth-secret",
				"nginx.ingress.kubernetes.io/enable-cors", "ingress.kubernetes.io/auth-type", "traefik.ingress.kubernetes.io/router.tls"}},
		{"traefik: the spec's middlewares win over a trigger annotation", v1beta1.HTTPTriggerSpec{Gateway: "traefik"},
			map[string]string{AnnotationTraefikMiddlewares: "default-other@kubernetescrd"},
			map[string]string{AnnotationTraefikMiddlewares: "default-t-path@kubernetescrd"}, nil},
		{"kong", v1beta1.HTTPTriggerSpec{Gateway: "kong"}, nil, map[string]string{AnnotationIngressClass: "kong"}, nil},
		{"basic auth without gateway", v1beta1.HTTPTriggerSpec{BasicAuthSecret: "a"}, nil,
			map[string]string{AnnotationIngressClass: "nginx", "nginx.ingress.kubernetes.io/auth-secret": "a"}, nil},
		{"serverless plugin: class and additionalAnnotations from the trigger", v1beta1.HTTPTriggerSpec{Gateway: "nginx"},
			map[string]string{AnnotationIngressClass: "internal", "nginx.ingress.kubernetes.io/proxy-body-size": "8m",
				"kubectl.kubernetes.io/last-applied-configuration": "{}"},
			map[string]string{AnnotationIngressClass: "internal", "nginx.ingress.kubernetes.io/proxy-body-size": "8m"},
			[]string{"kubectl.kubernetes.io/last-applied-configuration"}},
		{"the spec wins over a trigger annotation", v1beta1.HTTPTriggerSpec{Gateway: "nginx", BasicAuthSecret: "real", CorsEnable: true},
			map[string]string{"nginx.ingress.kubernetes.io/auth-secret": "other", "nginx.ingress.kubernetes.io/enable-cors": "false"},
			map[string]string{"nginx.ingress.kubernetes.io/auth-secret": "real", "nginx.ingress.kubernetes.io/enable-cors": "true"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "default", Annotations: tt.ann}, Spec: tt.spec}
			tr.Spec.FunctionName = "hello"
			ing, err := Ingress(tr, fn)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got, ok := ing.Annotations[k]; !ok || got != v {
					t.Errorf("annotation %s = %q (set %v), want %q", k, got, ok, v)
				}
			}
			for _, k := range tt.missing {
				if v, ok := ing.Annotations[k]; ok {
					t.Errorf("annotation %s = %q, want none", k, v)
				}
			}
		})
	}
}

// TestTraefikMiddlewares: the Middlewares follow the spec (CORS and basic
// auth only when asked for, the path always), only for the traefik
// gateway; CORS allows any origin without cors-domain.
func TestTraefikMiddlewares(t *testing.T) {
	fn := newFunction(nil)
	tests := []struct {
		name string
		spec v1beta1.HTTPTriggerSpec
		want []string // name: spec as JSON
	}{
		{"nginx: none", v1beta1.HTTPTriggerSpec{BasicAuthSecret: "a", CorsEnable: true}, nil},
		{"kong: none", v1beta1.HTTPTriggerSpec{Gateway: "kong", CorsEnable: true}, nil},
		{"traefik: the path only", v1beta1.HTTPTriggerSpec{Gateway: "traefik"},
			[]string{`t-path: {"replacePath":{"path":"/"}}`}},
		{"traefik: CORS from any origin, then auth", v1beta1.HTTPTriggerSpec{Gateway: "traefik", CorsEnable: true, BasicAuthSecret: "users"},
			[]string{`t-cors: {"headers":{"accessControlAllowCredentials":true,"accessControlAllowHeaders":["DNT","Keep-Alive","User-Agent","X-Requested-With","If-Modified-Since","Cache-Control","Content-Type","Range","Authorization"],"accessControlAllowMethods":["GET","PUT","POST","DELETE","PATCH","OPTIONS"],"accessControlAllowOriginList":["*"],"accessControlMaxAge":1728000}}`,
				`t-auth: {"basicAuth":{"secret":"users"}}`,
				`t-path: {"replacePath":{"path":"/"}}`}},
		{"traefik: blank origins are dropped", v1beta1.HTTPTriggerSpec{Gateway: "traefik", CorsEnable: true, CorsDomain: " https://a.example , ,"},
			[]string{`t-cors: {"headers":{"accessControlAllowCredentials":true,"accessControlAllowHeaders":["DNT","Keep-Alive","User-Agent","X-Requested-With","If-Modified-Since","Cache-Control","Content-Type","Range","Authorization"],"accessControlAllowMethods":["GET","PUT","POST","DELETE","PATCH","OPTIONS"],"accessControlAllowOriginList":["https://a.example"],"accessControlMaxAge":1728000}}`,
				`t-path: {"replacePath":{"path":"/"}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &v1beta1.HTTPTrigger{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "default", UID: "u1"}, Spec: tt.spec}
			tr.Spec.FunctionName = "hello"
			var got []string
			for _, m := range TraefikMiddlewares(tr, fn) {
				if m.GroupVersionKind() != TraefikMiddlewareGVK || m.GetNamespace() != "default" {
					t.Errorf("%s: kind %v in %q", m.GetName(), m.GroupVersionKind(), m.GetNamespace())
				}
				if ref := metav1.GetControllerOf(m); ref == nil || ref.UID != "u1" || ref.Kind != "HTTPTrigger" {
					t.Errorf("%s: controller %+v, want the trigger", m.GetName(), ref)
				}
				if m.GetLabels()[v1beta1.LabelFunction] != "hello" {
					t.Errorf("%s: labels %v", m.GetName(), m.GetLabels())
				}
				b, err := json.Marshal(m.Object["spec"])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, m.GetName()+": "+string(b))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, m := range TraefikMiddlewares(tr, fn) {
				if !slices.Contains(TraefikMiddlewareNames(tr), m.GetName()) {
					t.Errorf("TraefikMiddlewareNames %v lacks %s", TraefikMiddlewareNames(tr), m.GetName())
				}
			}
		})
	}
}

// A handler in a sub-folder: MOD_NAME is the path, the ConfigMap key is the
// file's own name (keys hold no "/"), and the prepare step puts the code at
// KUBELESS_FUNCTION_PATH. An archive brings its own folders.
func TestSubFolderHandler(t *testing.T) {
	envOf := func(c corev1.Container) map[string]string {
		m := map[string]string{}
		for _, e := range c.Env {
			m[e.Name] = e.Value
		}
		return m
	}
	for _, tt := range []struct {
		ct, key, path string
	}{
		{ct: "text", key: "hello.py", path: "src/api/hello.py"},
		{ct: "base64+zip", key: "hello", path: ""},
	} {
		t.Run(tt.ct, func(t *testing.T) {
			fn := newFunction(func(f *v1beta1.Function) {
				f.Spec.Handler = "src/api/hello.foo"
				f.Spec.FunctionContentType = tt.ct
				if tt.ct != "text" {
					f.Spec.Function = "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="
				}
			})
			entry, err := Lookup(langruntime.Default(), fn)
			if err != nil {
				t.Fatal(err)
			}
			cm, err := ConfigMap(fn, entry)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cm.Data[tt.key]; !ok {
				t.Errorf("ConfigMap keys %v, want %s", keys(cm.Data), tt.key)
			}
			d, err := Deployment(fn, entry, Config{})
			if err != nil {
				t.Fatal(err)
			}
			prep := d.Spec.Template.Spec.InitContainers[0]
			env := envOf(prep)
			if env[EnvFunctionFile] != tt.key || env[EnvFunctionPath] != tt.path {
				t.Errorf("prepare env %s=%q %s=%q, want %q, %q", EnvFunctionFile, env[EnvFunctionFile], EnvFunctionPath, env[EnvFunctionPath], tt.key, tt.path)
			}
			script := prep.Args[0]
			if got := strings.Contains(script, `mkdir -p "$(dirname "$KUBELESS_INSTALL_VOLUME/$KUBELESS_FUNCTION_PATH")"`); got != (tt.path != "") {
				t.Errorf("prepare script makes the folder: %v, want %v:\n%s", got, tt.path != "", script)
			}
			if strings.Contains(script, "src/api") {
				t.Errorf("the folder appears in the script:\n%s", script)
			}
			if got := envOf(d.Spec.Template.Spec.Containers[0])[contract.EnvModName]; got != "src/api/hello" {
				t.Errorf("MOD_NAME = %q, want src/api/hello", got)
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A Go handler in a sub-folder: the compile step gets MOD_NAME, whose
// folder is the package it compiles; a handler at the top adds nothing, so
// the pods of existing Go functions do not roll.
func TestGoSubFolderCompileEnv(t *testing.T) {
	for _, tt := range []struct{ handler, want string }{
		{"src/api/hello.Handler", "src/api/hello"},
		{"hello.Handler", ""},
	} {
		fn := newFunction(func(f *v1beta1.Function) {
			f.Spec.Runtime, f.Spec.Handler, f.Spec.Deps = "go1.26", tt.handler, "module function\n"
			f.Spec.Function = "package kubeless\n"
		})
		d, err := renderFunction(fn)
		if err != nil {
			t.Fatal(err)
		}
		var compile *corev1.Container
		for i, c := range d.Spec.Template.Spec.InitContainers {
			if c.Name == ContainerCompile {
				compile = &d.Spec.Template.Spec.InitContainers[i]
			}
		}
		if compile == nil {
			t.Fatalf("%s: no compile container", tt.handler)
		}
		got := ""
		for _, e := range compile.Env {
			if e.Name == contract.EnvModName {
				got = e.Value
			}
		}
		if got != tt.want {
			t.Errorf("%s: compile MOD_NAME = %q, want %q", tt.handler, got, tt.want)
		}
	}
}

// A Function applied with minReplicas 0 keeps one pod: a
// HorizontalPodAutoscaler cannot scale to zero.
func TestHPAMinZeroKeepsOnePod(t *testing.T) {
	fn := newFunction(func(f *v1beta1.Function) {
		f.Spec.HorizontalPodAutoscaler = raw(`{"metadata":{"name":"hello"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"hello"},"minReplicas":0,"maxReplicas":3}}`)
	})
	h, err := HPA(fn)
	if err != nil {
		t.Fatal(err)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 3 {
		t.Errorf("HPA spec = %+v", h.Spec)
	}
}

// The function container sleeps PreStopSeconds before SIGTERM, so that a
// pod a rolling update stops still serves the calls sent to it while the
// proxies learn that it left the endpoints; a template's own preStop wins.
func TestPreStopSleep(t *testing.T) {
	dep, err := renderFunction(newFunction(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil ||
		c.Lifecycle.PreStop.Sleep.Seconds != PreStopSeconds {
		t.Fatalf("lifecycle = %+v, want a preStop sleep of %d s", c.Lifecycle, PreStopSeconds)
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil && *g <= PreStopSeconds {
		t.Errorf("terminationGracePeriodSeconds %d leaves no time after the preStop sleep", *g)
	}

	own := newFunction(func(f *v1beta1.Function) {
		f.Spec.Deployment = raw(`{"spec": {"template": {"spec": {"containers": [{"lifecycle": {
		  "preStop": {"exec": {"command": ["/bin/drain"]}}}}]}}}}`)
	})
	dep, err = renderFunction(own)
	if err != nil {
		t.Fatal(err)
	}
	pre := dep.Spec.Template.Spec.Containers[0].Lifecycle.PreStop
	if pre.Sleep != nil || pre.Exec == nil || pre.Exec.Command[0] != "/bin/drain" {
		t.Errorf("preStop = %+v, want the template's exec /bin/drain", pre)
	}
}
