package enginecmd

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

func fakeEnv(vars map[string]string, files map[string]string) Env {
	return Env{
		Getenv: func(k string) string { return vars[k] },
		Home:   "/home/u",
		ReadFile: func(p string) ([]byte, error) {
			if s, ok := files[p]; ok {
				return []byte(s), nil
			}
			return nil, os.ErrNotExist
		},
	}
}

func TestChoose(t *testing.T) {
	withCtx := "apiVersion: v1\nkind: Config\ncurrent-context: kind-kind\n"
	noCtx := "apiVersion: v1\nkind: Config\ncurrent-context: \"\"\n"
	for _, tt := range []struct {
		name    string
		flag    string
		kc, ctx string // --kubeconfig, --context
		vars    map[string]string
		files   map[string]string
		want    Choice
		wantErr string
	}{
		{name: "nothing", want: Choice{Local, "no kubeconfig with a current context (~/.kube/config)"}},
		{name: "home kubeconfig", files: map[string]string{"/home/u/.kube/config": withCtx},
			want: Choice{Kubernetes, `the kubeconfig /home/u/.kube/config has the current context "kind-kind"`}},
		{name: "no current context", files: map[string]string{"/home/u/.kube/config": noCtx}, want: Choice{Local, "no kubeconfig with a current context (~/.kube/config)"}},
		{name: "KUBECONFIG list", vars: map[string]string{"KUBECONFIG": "/a:/b"}, files: map[string]string{"/b": withCtx, "/home/u/.kube/config": noCtx},
			want: Choice{Kubernetes, `the kubeconfig /b has the current context "kind-kind"`}},
		{name: "KUBECONFIG hides home", vars: map[string]string{"KUBECONFIG": "/a"}, files: map[string]string{"/home/u/.kube/config": withCtx},
			want: Choice{Local, "no kubeconfig with a current context (KUBECONFIG)"}},
		{name: "env", vars: map[string]string{EnvEngine: "local"}, files: map[string]string{"/home/u/.kube/config": withCtx},
			want: Choice{Local, "KUBELESS_ENGINE=local is set"}},
		{name: "flag wins", flag: "kubernetes", vars: map[string]string{EnvEngine: "local"}, want: Choice{Kubernetes, "--engine kubernetes was given"}},
		{name: "--kubeconfig is read instead", kc: "/k", vars: map[string]string{"KUBECONFIG": "/a"}, files: map[string]string{"/a": withCtx, "/k": noCtx},
			want: Choice{Local, "no kubeconfig with a current context (--kubeconfig)"}},
		{name: "--kubeconfig with a context", kc: "/k", files: map[string]string{"/k": withCtx},
			want: Choice{Kubernetes, `the kubeconfig /k has the current context "kind-kind"`}},
		{name: "--context", ctx: "prod", want: Choice{Kubernetes, "--context prod was given"}},
		{name: "--engine beats --context", flag: "local", ctx: "prod", want: Choice{Local, "--engine local was given"}},
		{name: "bad flag", flag: "docker", wantErr: `invalid --engine "docker": use local or kubernetes`},
		{name: "bad env", vars: map[string]string{EnvEngine: "k8s"}, wantErr: `invalid KUBELESS_ENGINE="k8s": use local or kubernetes`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := fakeEnv(tt.vars, tt.files)
			env.Kubeconfig, env.Context = tt.kc, tt.ctx
			got, err := Choose(tt.flag, env)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Choose = %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestNewCmdEngine(t *testing.T) {
	for argv, wantErr := range map[string]string{
		"":  "",
		"x": `unknown command "x" for "engine"`,
	} {
		ios, _, _, _ := iostreams.Test()
		var got *EngineOptions
		cmd := NewCmdEngine(&cmdutil.Factory{IOStreams: ios}, func() (Choice, error) { return Choice{Local, "why"}, nil },
			func(o *EngineOptions) error { got = o; return nil })
		cmd.SetArgs(strings.Fields(argv))
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if wantErr != "" {
			if err == nil || err.Error() != wantErr || got != nil {
				t.Errorf("%q: err = %v, want %q", argv, err, wantErr)
			}
			continue
		}
		if err != nil || got == nil || got.IO != ios {
			t.Fatalf("%q: err = %v, options %+v", argv, err, got)
		}
		if ch, err := got.Choose(); err != nil || ch != (Choice{Local, "why"}) {
			t.Errorf("%q: Choose = %+v, %v: not the chooser given", argv, ch, err)
		}
	}
}

func TestEngineRun(t *testing.T) {
	ios, _, stdout, stderr := iostreams.Test()
	if err := engineRun(&EngineOptions{IO: ios, Choose: func() (Choice, error) { return Choice{Kubernetes, "why"}, nil }}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff("Engine: kubernetes\nWhy: why\n", stdout.String()); d != "" || stderr.Len() != 0 {
		t.Errorf("stdout (-want +got):\n%s\nstderr %q", d, stderr)
	}
	stdout.Reset()
	bad := errors.New(`invalid KUBELESS_ENGINE="k8s": use local or kubernetes`)
	if err := engineRun(&EngineOptions{IO: ios, Choose: func() (Choice, error) { return Choice{}, bad }}); err != bad || stdout.Len() != 0 {
		t.Errorf("err = %v, stdout %q: want the chooser's error and no output", err, stdout)
	}
}
