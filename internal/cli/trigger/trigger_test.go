package trigger

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/backend/backendtest"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/engine/api"
	"github.com/kubeless/kubeless/internal/engine/client"
)

// fakeEngine keeps triggers; only "hello" exists as a function.
type fakeEngine struct {
	api.Backend
	mu    sync.Mutex
	https map[string]*v1beta1.HTTPTrigger
	crons map[string]*v1beta1.CronJobTrigger
}

func needHello(fn string) error {
	if fn != "hello" {
		return backend.Errorf(backend.CodeNotFound, "function %q not found in namespace %q: deploy it first with kubeless function deploy %s", fn, "default", fn)
	}
	return nil
}

func (f *fakeEngine) CreateHTTPTrigger(_ context.Context, t *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := needHello(t.Spec.FunctionName); err != nil {
		return nil, err
	}
	f.https[t.Name] = t
	return t, nil
}

func (f *fakeEngine) UpdateHTTPTrigger(_ context.Context, t *v1beta1.HTTPTrigger) (*v1beta1.HTTPTrigger, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.https[t.Name]
	if !ok {
		return nil, backend.Errorf(backend.CodeNotFound, "HTTP trigger %q not found in namespace %q", t.Name, "default")
	}
	if t.Spec.Path != "" {
		old.Spec.Path = t.Spec.Path
	}
	return old, nil
}

func (f *fakeEngine) DeleteHTTPTrigger(_ context.Context, ns, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.https[name]; !ok {
		return backend.Errorf(backend.CodeNotFound, "HTTP trigger %q not found in namespace %q", name, ns)
	}
	delete(f.https, name)
	return nil
}

func (f *fakeEngine) ListHTTPTriggers(context.Context, string) ([]v1beta1.HTTPTrigger, error) {
	var out []v1beta1.HTTPTrigger
	for _, n := range []string{"a", "b"} {
		if t, ok := f.https[n]; ok {
			out = append(out, *t)
		}
	}
	return out, nil
}

func (f *fakeEngine) CreateCronJobTrigger(_ context.Context, t *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error) {
	if err := needHello(t.Spec.FunctionName); err != nil {
		return nil, err
	}
	f.crons[t.Name] = t
	return t, nil
}

func (f *fakeEngine) ListCronJobTriggers(context.Context, string) ([]v1beta1.CronJobTrigger, error) {
	var out []v1beta1.CronJobTrigger
	for _, t := range f.crons {
		out = append(out, *t)
	}
	return out, nil
}

func (f *fakeEngine) Triggers(kind *v1beta1.TriggerKind) backend.TriggerStore {
	if kind == v1beta1.HTTPTriggerKind {
		return backendtest.TriggerFuncs[v1beta1.HTTPTrigger, *v1beta1.HTTPTrigger]{CreateFunc: f.CreateHTTPTrigger,
			UpdateFunc: f.UpdateHTTPTrigger, DeleteFunc: f.DeleteHTTPTrigger, ListFunc: f.ListHTTPTriggers}
	}
	return backendtest.TriggerFuncs[v1beta1.CronJobTrigger, *v1beta1.CronJobTrigger]{CreateFunc: f.CreateCronJobTrigger,
		ListFunc: f.ListCronJobTriggers}
}

func serve(t *testing.T) (*fakeEngine, Engine) {
	t.Helper()
	f := &fakeEngine{https: map[string]*v1beta1.HTTPTrigger{}, crons: map[string]*v1beta1.CronJobTrigger{}}
	dir, err := os.MkdirTemp("", "kl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.NewHandler(f, nil))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	cl := client.New(filepath.Join(dir, "s"))
	return f, func(context.Context) (backend.Engine, error) { return cl, nil }
}

func TestNewCmdHTTPCreate(t *testing.T) {
	tests := []struct {
		kube    bool // on the Kubernetes engine
		update  bool // trigger http update
		cli     string
		want    HTTPOptions
		wantErr string
	}{
		{cli: "api --function-name hello --path api --hostname h.local --cors-enable --basic-auth-secret pw",
			want: HTTPOptions{Name: "api", Namespace: "default", FunctionName: "hello", Path: "api", Hostname: "h.local", CorsEnable: true, BasicAuthSecret: "pw", Output: "yaml"}},
		{cli: "api -n ns --function-name hello", want: HTTPOptions{Name: "api", Namespace: "ns", FunctionName: "hello", Output: "yaml"}},
		{cli: "api --path x", wantErr: "--function-name is required: the function the trigger calls, for example --function-name hello"},
		{cli: "--function-name hello", wantErr: "create: the trigger name is required, for example: kubeless trigger http create hello-api --function-name hello"},
		{cli: "api --function-name hello --gateway apache", wantErr: `invalid --gateway "apache": use nginx, traefik or kong`},
		{cli: "api --function-name hello --dryrun -o table", wantErr: "Output format needs to be yaml or json"},
		{kube: true, cli: "api --function-name hello --hostname h.example.com --enableTLSAcme",
			want: HTTPOptions{Name: "api", Namespace: "default", FunctionName: "hello", Hostname: "h.example.com", TLSAcme: true, Output: "yaml", Kubernetes: true}},
		{kube: true, cli: "api --function-name hello --hostname h.example.com --tls-secret h-cert",
			want: HTTPOptions{Name: "api", Namespace: "default", FunctionName: "hello", Hostname: "h.example.com", TLSSecret: "h-cert", Output: "yaml", Kubernetes: true}},
		{kube: true, cli: "api --function-name hello --hostname h.example.com --enableTLSAcme --tls-secret h-cert", wantErr: "Cannot specify both --enableTLSAcme and --tls-secret"},
		{kube: true, cli: "api --function-name hello --enableTLSAcme", wantErr: "TLS needs --hostname: the certificate is for a host name, for example --hostname hello.example.com"},
		{kube: true, cli: "api --function-name hello --hostname h.example.com --tls-secret H_Cert", wantErr: `invalid --tls-secret "H_Cert": give the name of a Secret of the trigger's namespace (a kubernetes.io/tls Secret)`},
		{kube: true, update: true, cli: "api --enableTLSAcme=false", wantErr: "--enableTLSAcme=false cannot turn ACME off on update: give --tls-secret instead, or set tls: false in the trigger (kubectl edit httptrigger api)"},
		{kube: true, update: true, cli: "api --tls-secret h-cert", want: HTTPOptions{Name: "api", Namespace: "default", TLSSecret: "h-cert", Output: "yaml", Kubernetes: true, Update: true}},
		{cli: "api --function-name hello --hostname h.local --enableTLSAcme", wantErr: "--enableTLSAcme needs the Kubernetes engine: the local gateway serves plain HTTP on this machine (TLS is the Ingress controller's)"},
		{cli: "api --function-name hello --hostname h.local --tls-secret h-cert", wantErr: "--tls-secret needs the Kubernetes engine: the local gateway serves plain HTTP on this machine (TLS is the Ingress controller's)"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *HTTPOptions
		cmd := NewCmdHTTPCreate(&cmdutil.Factory{IOStreams: ios}, func(o *HTTPOptions) error { got = o; return nil })
		if tt.kube {
			cmd = NewCmdHTTPCreate(&cmdutil.Factory{IOStreams: ios, OnKubernetes: func() bool { return true }}, func(o *HTTPOptions) error { got = o; return nil })
		}
		if tt.update {
			cmd = NewCmdHTTPUpdate(&cmdutil.Factory{IOStreams: ios, OnKubernetes: func() bool { return tt.kube }}, func(o *HTTPOptions) error { got = o; return nil })
		}
		cmd.SetArgs(strings.Fields(tt.cli))
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		if tt.wantErr != "" {
			var fe *cmdutil.FlagError
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &fe) {
				t.Errorf("%q: err = %v, want FlagError %q", tt.cli, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got.IO, got.Engine, got.Changed = nil, nil, nil
		if d := cmp.Diff(&tt.want, got); d != "" {
			t.Errorf("%q (-want +got):\n%s", tt.cli, d)
		}
	}
}

func TestHTTPRun(t *testing.T) {
	f, engine := serve(t)
	ios, _, stdout, stderr := iostreams.Test()
	pw := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(pw, []byte("bob:{SHA}x\n"), 0o600)
	o := &HTTPOptions{IO: ios, Engine: engine, Name: "a", Namespace: "default", FunctionName: "hello", Path: "api", BasicAuthSecret: pw}
	if err := httpPutRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if stderr.String() != "HTTP trigger a created in namespace default successfully!\n" {
		t.Errorf("stderr = %q", stderr.String())
	}
	if got := f.https["a"]; got.Spec.BasicAuthSecret != pw || got.Labels[v1beta1.LabelCreatedBy] != "kubeless" {
		t.Errorf("stored = %+v", got)
	}
	o = &HTTPOptions{IO: ios, Engine: engine, Name: "b", Namespace: "default", FunctionName: "nope"}
	if err := httpPutRun(context.Background(), o); err == nil || err.Error() != `function "nope" not found in namespace "default": deploy it first with kubeless function deploy nope` {
		t.Errorf("missing function: %v", err)
	}
	o = &HTTPOptions{IO: ios, Engine: engine, Name: "b", Namespace: "default", FunctionName: "hello", BasicAuthSecret: filepath.Join(t.TempDir(), "none")}
	if err := httpPutRun(context.Background(), o); err == nil || !strings.Contains(err.Error(), "give the path of an htpasswd file") {
		t.Errorf("missing htpasswd: %v", err)
	}
	stderr.Reset()
	o = &HTTPOptions{IO: ios, Engine: engine, Update: true, Name: "a", Namespace: "default", Path: "v2"}
	if err := httpPutRun(context.Background(), o); err != nil || f.https["a"].Spec.Path != "v2" || stderr.String() != "HTTP trigger a updated in namespace default successfully!\n" {
		t.Errorf("update: %v, %q", err, stderr.String())
	}
	if err := httpListRun(context.Background(), &ListOptions{IO: ios, Engine: engine, Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	if want := "NAME  NAMESPACE  FUNCTION NAME\na     default    hello\n"; stdout.String() != want {
		t.Errorf("list = %q, want %q", stdout.String(), want)
	}
	// Dry run prints and creates nothing.
	stdout.Reset()
	o = &HTTPOptions{IO: ios, Engine: engine, Name: "c", Namespace: "default", FunctionName: "hello", DryRun: true, Output: "json"}
	if err := httpPutRun(context.Background(), o); err != nil || !strings.Contains(stdout.String(), `"function-name": "hello"`) || f.https["c"] != nil {
		t.Errorf("dry run: %v %q", err, stdout.String())
	}
	del := NewCmdHTTPDelete(&cmdutil.Factory{IOStreams: ios, Engine: engine}, nil)
	del.SetArgs([]string{"a"})
	if err := del.Execute(); err != nil || f.https["a"] != nil {
		t.Errorf("delete: %v", err)
	}
	del.SetArgs([]string{"a"})
	del.SetErr(&strings.Builder{})
	if err := del.Execute(); !client.IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
}

func TestCronJob(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p.json")
	os.WriteFile(good, []byte(`{"a": 1}`+"\n"), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"a": `), 0o644)
	txt := filepath.Join(dir, "p.txt")
	os.WriteFile(txt, []byte(`{}`), 0o644)
	for _, tt := range []struct {
		o           CronJobOptions
		wantErr     string
		wantPayload string
	}{
		{o: CronJobOptions{Schedule: "* * * * *"}},
		{o: CronJobOptions{Schedule: "@every 1m", Payload: `{"x": "y"}`}, wantPayload: `{"x": "y"}`},
		{o: CronJobOptions{Schedule: "* * * * *", PayloadFromFile: good}, wantPayload: `{"a": 1}`},
		{o: CronJobOptions{Schedule: "* * * * *", Payload: `{"x": `}, wantErr: `--payload is not valid JSON: give a JSON value such as '{"key": "value"}'`},
		{o: CronJobOptions{Schedule: "* * * * *", PayloadFromFile: bad}, wantErr: "--payload-from-file " + bad + ` is not valid JSON: give a JSON value such as '{"key": "value"}'`},
		{o: CronJobOptions{Schedule: "* * * * *", PayloadFromFile: txt}, wantErr: "--payload-from-file " + txt + ": only .json files are accepted"},
		{o: CronJobOptions{Schedule: "61 * * * *"}, wantErr: `invalid cron schedule "61 * * * *"`},
	} {
		tt.o.Name, tt.o.Function = "t", "hello"
		tr, err := tt.o.Trigger()
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("%+v: err = %v, want %q", tt.o, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if tr.Spec.Payload != nil {
			got = string(tr.Spec.Payload.Raw)
		}
		if got != tt.wantPayload {
			t.Errorf("payload = %q, want %q", got, tt.wantPayload)
		}
	}

	// Flags.
	ios, _, stdout, stderr := iostreams.Test()
	for cli, want := range map[string]string{
		"t --schedule '* * * * *'":                  "--function is required: the function the trigger calls, for example --function hello",
		"t --function hello":                        "--schedule is required, for example --schedule '*/5 * * * *'",
		"t --function hello --schedule x -p 1 -f x": "give either --payload or --payload-from-file, not both",
	} {
		cmd := NewCmdCronJobCreate(&cmdutil.Factory{IOStreams: ios}, func(*CronJobOptions) error { return nil })
		cmd.SetArgs(strings.Fields(strings.ReplaceAll(cli, "'* * * * *'", "@hourly")))
		cmd.SetErr(&strings.Builder{})
		var fe *cmdutil.FlagError
		if err := cmd.Execute(); err == nil || err.Error() != want || !errors.As(err, &fe) {
			t.Errorf("%q: err = %v, want %q", cli, err, want)
		}
	}

	f, engine := serve(t)
	o := &CronJobOptions{IO: ios, Engine: engine, Name: "tick", Namespace: "default", Function: "hello", Schedule: "*/5 * * * *", Payload: `{"a":1}`}
	if err := cronPutRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if stderr.String() != "Cronjob trigger tick created in namespace default successfully!\n" {
		t.Errorf("stderr = %q", stderr.String())
	}
	if got := f.crons["tick"]; got == nil || string(got.Spec.Payload.Raw) != `{"a":1}` {
		t.Errorf("stored = %+v", got)
	}
	if err := cronListRun(context.Background(), &ListOptions{IO: ios, Engine: engine, Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	if want := "NAME  NAMESPACE  SCHEDULE     FUNCTION NAME\ntick  default    */5 * * * *  hello\n"; stdout.String() != want {
		t.Errorf("list = %q, want %q", stdout.String(), want)
	}
}
