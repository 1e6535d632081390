package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func TestParsePodAllow(t *testing.T) {
	tests := []struct {
		in      string
		want    PodAllow
		wantErr string
	}{
		{in: "", want: PodAllow{}},
		{in: " privileged , hostPath,serviceAccount ", want: PodAllow{"privileged": true, "hostPath": true, "serviceAccount": true}},
		{in: "*", want: PodAllow{"*": true}},
		{in: "privileged,hostpath", wantErr: `unknown exception "hostpath"; known: privileged, hostNamespaces, hostPorts, hostPath, volumes, capabilities, privilegeEscalation, root, unconfined, serviceAccount, *`},
	}
	for _, tt := range tests {
		got, err := ParsePodAllow(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParsePodAllow(%q) error = %v, want %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParsePodAllow(%q): %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePodAllow(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestCheckTemplate: each thing the restricted profile forbids is refused
// with reason TemplateRefused and the allow-list name, and accepted when
// that name (or "*") is allowed; another name does not do.
func TestCheckTemplate(t *testing.T) {
	tests := []struct {
		name     string
		template string // spec.template.spec
		allow    string // the name that allows it
		wantMsg  string // in the refusal
	}{
		{"privileged", `{"containers": [{"securityContext": {"privileged": true}}]}`,
			AllowPrivileged, `privileged container containers[0] (allowed by "privileged")`},
		{"privileged sidecar", `{"containers": [{}, {"name": "side", "image": "s", "securityContext": {"privileged": true}}]}`,
			AllowPrivileged, `privileged container side`},
		{"hostNetwork", `{"hostNetwork": true, "containers": [{}]}`, AllowHostNamespaces, `hostNetwork (allowed by "hostNamespaces")`},
		{"hostPID and hostIPC", `{"hostPID": true, "hostIPC": true}`, AllowHostNamespaces, `hostIPC, hostPID`},
		{"hostPort", `{"containers": [{"ports": [{"containerPort": 80, "hostPort": 80}]}]}`, AllowHostPorts, `hostPort 80 in container containers[0]`},
		{"hostPath", `{"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}`, AllowHostPath, `hostPath volume root (/)`},
		{"nfs", `{"volumes": [{"name": "share", "nfs": {"server": "nfs.example", "path": "/x"}}]}`, AllowVolumes, `volume share of a type`},
		{"capabilities", `{"containers": [{"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}`,
			AllowCapabilities, `capability NET_ADMIN in container containers[0]`},
		{"SYS_ADMIN", `{"initContainers": [{"name": "i", "image": "i", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}`,
			AllowCapabilities, `capability SYS_ADMIN in container i`},
		{"allowPrivilegeEscalation", `{"containers": [{"securityContext": {"allowPrivilegeEscalation": true}}]}`,
			AllowPrivilegeEscalation, `allowPrivilegeEscalation in container containers[0]`},
		{"runAsUser 0", `{"securityContext": {"runAsUser": 0}}`, AllowRoot, `runAsUser 0 (allowed by "root")`},
		{"runAsNonRoot false", `{"containers": [{"securityContext": {"runAsNonRoot": false}}]}`, AllowRoot, `runAsNonRoot false in container containers[0]`},
		{"seccomp Unconfined", `{"securityContext": {"seccompProfile": {"type": "Unconfined"}}}`, AllowUnconfined, `seccompProfile Unconfined`},
		{"service account", `{"serviceAccountName": "deployer"}`, AllowServiceAccount, `service account deployer (allowed by "serviceAccount")`},
		{"deprecated service account", `{"serviceAccount": "deployer"}`, AllowServiceAccount, `service account deployer`},
		// what no name but "*" allows: the Pod Security checks' own words
		{"sysctl", `{"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}}`, AllowAll, `forbidden sysctls (kernel.msgmax)`},
		{"procMount", `{"containers": [{"securityContext": {"procMount": "Unmasked"}}]}`, AllowAll, `procMount`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := newFunction(func(f *v1beta1.Function) {
				f.Spec.Deployment = raw(`{"spec": {"template": {"spec": ` + tt.template + `}}}`)
			})
			err := CheckTemplate(fn, PodAllow{})
			if err == nil {
				t.Fatal("accepted with no exception allowed")
			}
			if Reason(err) != v1beta1.ReasonTemplateRefused {
				t.Errorf("reason %q, want TemplateRefused (%v)", Reason(err), err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), "function-pod-allow") {
				t.Errorf("message %q does not say %q and name function-pod-allow", err, tt.wantMsg)
			}
			if tt.allow != AllowAll {
				other := AllowServiceAccount
				if tt.allow == AllowServiceAccount {
					other = AllowPrivileged
				}
				if err := CheckTemplate(fn, PodAllow{other: true}); err == nil {
					t.Errorf("accepted with only %q allowed", other)
				}
				if err := CheckTemplate(fn, PodAllow{tt.allow: true}); err != nil {
					t.Errorf("refused with %q allowed: %v", tt.allow, err)
				}
			}
			if err := CheckTemplate(fn, PodAllow{AllowAll: true}); err != nil {
				t.Errorf("refused with * allowed: %v", err)
			}
		})
	}
}

// TestCheckTemplateAccepts: what a template may do without an exception.
func TestCheckTemplateAccepts(t *testing.T) {
	for name, tpl := range map[string]string{
		"none":                    ``,
		"empty CLI template":      `{"spec": {"template": {"spec": {"containers": [{"name": "", "resources": {}, "imagePullPolicy": "Always"}]}}}}`,
		"own non-root user":       `{"spec": {"template": {"spec": {"securityContext": {"runAsUser": 2000, "fsGroup": 2000}}}}}`,
		"NET_BIND_SERVICE":        `{"spec": {"template": {"spec": {"containers": [{"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}]}}}}`,
		"default service account": `{"spec": {"template": {"spec": {"serviceAccountName": "default", "automountServiceAccountToken": true}}}}`,
		"restricted volumes":      `{"spec": {"template": {"spec": {"volumes": [{"name": "s", "secret": {"secretName": "s"}}, {"name": "c", "configMap": {"name": "c"}}, {"name": "t", "emptyDir": {}}]}}}}`,
		"sidecar":                 `{"spec": {"template": {"spec": {"containers": [{}, {"name": "side", "image": "side:1"}]}}}}`,
	} {
		fn := newFunction(func(f *v1beta1.Function) {
			if tpl != "" {
				f.Spec.Deployment = raw(tpl)
			}
		})
		if err := CheckTemplate(fn, PodAllow{}); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
}

// TestRestrictedDefaults: the defaults fill what the template leaves unset
// and keep what it sets; an allowed template keeps what it asked for.
func TestRestrictedDefaults(t *testing.T) {
	fn := newFunction(func(f *v1beta1.Function) {
		f.Spec.Deployment = raw(`{"spec": {"template": {"spec": {
		  "securityContext": {"fsGroup": 3000},
		  "serviceAccountName": "deployer",
		  "containers": [{"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}},
		                 {"name": "side", "image": "s", "securityContext": {"privileged": true}}]}}}}`)
	})
	dep, err := renderFunction(fn)
	if err != nil {
		t.Fatal(err)
	}
	ps := dep.Spec.Template.Spec
	if ps.SecurityContext.RunAsUser != nil || *ps.SecurityContext.FSGroup != 3000 || !*ps.SecurityContext.RunAsNonRoot ||
		ps.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want the template's fsGroup, no runAsUser, runAsNonRoot, RuntimeDefault", ps.SecurityContext)
	}
	if ps.AutomountServiceAccountToken != nil {
		t.Errorf("automountServiceAccountToken %v with a named service account, want unset", *ps.AutomountServiceAccountToken)
	}
	fc := ps.Containers[0].SecurityContext
	if diff := cmp.Diff([]corev1.Capability{"NET_RAW", "ALL"}, fc.Capabilities.Drop); diff != "" {
		t.Errorf("function container drop (-want +got):\n%s", diff)
	}
	if side := ps.Containers[1].SecurityContext; side.AllowPrivilegeEscalation != nil {
		t.Errorf("privileged sidecar got allowPrivilegeEscalation %v (the API server refuses it with privileged)", *side.AllowPrivilegeEscalation)
	}
	for _, c := range ps.InitContainers {
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("init container %s: securityContext %+v, want allowPrivilegeEscalation false", c.Name, sc)
		}
	}

	plain, err := renderFunction(newFunction(nil))
	if err != nil {
		t.Fatal(err)
	}
	if v := violations(&plain.Spec.Template.ObjectMeta, &plain.Spec.Template.Spec); len(v) > 0 {
		t.Errorf("a Function without a template breaks the restricted profile: %v", v)
	}
	if a := plain.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("automountServiceAccountToken %v, want false", a)
	}
}
