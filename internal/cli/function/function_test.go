package function

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/engine/api"
	"github.com/kubeless/kubeless/internal/engine/client"
)

// fakeBackend is an engine whose functions go through the given reasons,
// one per Get.
type fakeBackend struct {
	api.TriggerBackend // nil: the tests that need it set it
	mu                 sync.Mutex
	fns                map[string]*v1beta1.Function
	phases             []string // reasons returned by successive Gets
	message            string
	gets               int
	updates            []*v1beta1.Function
	gateway            string // "" means 127.0.0.1:1
}

func (b *fakeBackend) Status(context.Context) (*backend.Status, error) {
	gw := b.gateway
	if gw == "" {
		gw = "127.0.0.1:1"
	}
	return &backend.Status{Version: "test", Home: "/h", Gateway: gw, PID: 1}, nil
}

func (b *fakeBackend) Deploy(_ context.Context, fn *v1beta1.Function) (*v1beta1.Function, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.fns[fn.Name]; ok {
		return nil, backend.Errorf(backend.CodeAlreadyExists, "function %q already exists in namespace %q: use kubeless function update", fn.Name, "default")
	}
	fn.Generation = 1
	b.fns[fn.Name] = fn
	return fn, nil
}

func (b *fakeBackend) Update(_ context.Context, fn *v1beta1.Function) (*v1beta1.Function, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old, ok := b.fns[fn.Name]
	if !ok {
		return nil, backend.Errorf(backend.CodeNotFound, "not found")
	}
	b.updates = append(b.updates, fn)
	old.Generation++
	return old, nil
}

func (b *fakeBackend) Delete(context.Context, string, string) error { return nil }

func (b *fakeBackend) Get(_ context.Context, ns, name string) (*v1beta1.Function, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn, ok := b.fns[name]
	if !ok {
		return nil, backend.Errorf(backend.CodeNotFound, "function %q not found in namespace %q", name, ns)
	}
	fn = fn.DeepCopy()
	reason := b.phases[min(b.gets, len(b.phases)-1)]
	b.gets++
	status := metav1.ConditionUnknown
	switch reason {
	case "Ready":
		status = metav1.ConditionTrue
		fn.Status.SetReplicas(1, 1)
	case "BuildFailed":
		status = metav1.ConditionFalse
	}
	meta.SetStatusCondition(&fn.Status.Conditions, metav1.Condition{Type: "Ready", Status: status, Reason: reason, Message: b.message})
	fn.Status.ObservedGeneration = fn.Generation
	return fn, nil
}

func (b *fakeBackend) List(ctx context.Context, ns string) ([]v1beta1.Function, error) {
	var out []v1beta1.Function
	for _, n := range []string{"hello"} {
		if fn, err := b.Get(ctx, ns, n); err == nil {
			out = append(out, *fn)
		}
	}
	return out, nil
}

func (b *fakeBackend) Logs(context.Context, string, string, backend.LogOptions) (<-chan string, error) {
	ch := make(chan string, 1)
	ch <- "a line"
	close(ch)
	return ch, nil
}

// serveFake serves b's API on a Unix socket and returns a client of it.
func serveFake(t *testing.T, b *fakeBackend) *client.Client {
	t.Helper()
	dir, err := os.MkdirTemp("", "kl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.NewHandler(b, nil))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return client.New(sock)
}

func TestNewCmdDeploy(t *testing.T) {
	tests := []struct {
		name    string
		kube    bool // on the Kubernetes engine
		cli     string
		want    DeployOptions
		wantErr string
	}{
		{
			name: "defaults",
			cli:  "hello --runtime python3.11 --handler hello.foo --from-file hello.py",
			want: DeployOptions{Name: "hello", Namespace: "default", Runtime: "python3.11", Handler: "hello.foo", FromFile: "hello.py", Timeout: "180", Port: 8080, Replicas: 1, Wait: true},
		},
		{
			name: "all flags",
			cli:  "hello -n ns -r nodejs20 --handler h.f -f h.js -d package.json -e A=1,B:2 -e C --label x=y --timeout 30 --port 9000 --memory 128Mi --cpu 200m --replicas 3 --wait=false",
			want: DeployOptions{Name: "hello", Namespace: "ns", Runtime: "nodejs20", Handler: "h.f", FromFile: "h.js", Dependencies: "package.json",
				Env: []string{"A=1", "B:2", "C"}, Labels: []string{"x=y"}, Timeout: "30", Port: 9000, Memory: "128Mi", CPU: "200m", Replicas: 3},
		},
		{name: "no name", cli: "--runtime python3.11", wantErr: "deploy: the function name is required, for example: kubeless function deploy hello"},
		{name: "no runtime", cli: "hello --handler a.b -f x", wantErr: "Either `--runtime` or `--runtime-image` flag must be specified."},
		{name: "no handler", cli: "hello -r python3.11 -f x", wantErr: "You must specify handler for the runtime."},
		{name: "no file", cli: "hello -r python3.11 --handler a.b", wantErr: "--from-file is required: the file with the function's code, for example --from-file hello.py"},
		{name: "bad port", cli: "hello -r python3.11 --handler a.b -f x --port 70000", wantErr: "invalid --port 70000: use 1-65535"},
		{name: "runtime image", cli: "hello --runtime-image kubeless/get-python-example", wantErr: "--runtime-image needs the Kubernetes engine: the local engine runs functions from their code (use --runtime and --from-file)"},
		{name: "secrets", cli: "hello -r python3.11 --handler a.b -f x --secrets test-secret", wantErr: "--secrets needs the Kubernetes engine: the local engine has no secrets to mount (pass values with --env)"},
		{name: "bad timeout", cli: "hello -r python3.11 --handler a.b -f x --timeout 1m", wantErr: `invalid --timeout "1m": give a whole number of seconds, for example --timeout 180`},
		{name: "bad memory", cli: "hello -r python3.11 --handler a.b -f x --memory lots", wantErr: `invalid --memory "lots": use a quantity such as 128Mi or 200m`},
		{
			name: "kubernetes: runtime image alone", kube: true, cli: "hello --runtime-image kubeless/get-python-example",
			want: DeployOptions{Name: "hello", Namespace: "default", RuntimeImage: "kubeless/get-python-example", Timeout: "180", Port: 8080, Replicas: 1, Wait: true, Kubernetes: true},
		},
		{
			name: "kubernetes: secrets", kube: true, cli: "hello -r python3.11 --handler a.b -f x --secrets s1,s2",
			want: DeployOptions{Name: "hello", Namespace: "default", Runtime: "python3.11", Handler: "a.b", FromFile: "x", Secrets: []string{"s1", "s2"},
				Timeout: "180", Port: 8080, Replicas: 1, Wait: true, Kubernetes: true},
		},
		{
			name: "kubernetes: the original's flags", kube: true,
			cli: "hello -r python3.11 --handler a.b -f x --node-selectors disk=ssd,zone:a --service-account fn-sa --image-pull-policy IfNotPresent --headless --port 9000 --servicePort 80" +
				" --env-from-secret creds --env-from-secret creds:TOKEN --env-from-configmap settings:LEVEL --dryrun -o json",
			want: DeployOptions{Name: "hello", Namespace: "default", Runtime: "python3.11", Handler: "a.b", FromFile: "x", Timeout: "180", Port: 9000, Replicas: 1, Wait: true, Kubernetes: true,
				NodeSelectors: []string{"disk=ssd", "zone:a"}, ServiceAccount: "fn-sa", ImagePullPolicy: "IfNotPresent", Headless: true, ServicePort: 80,
				EnvFromSecrets: []string{"creds", "creds:TOKEN"}, EnvFromConfigMaps: []string{"settings:LEVEL"}, DryRun: true, Output: "json"},
		},
		{name: "kubernetes: bad pull policy", kube: true, cli: "hello -r python3.11 --handler a.b -f x --image-pull-policy always", wantErr: `invalid --image-pull-policy "always": use Always, IfNotPresent or Never`},
		{name: "kubernetes: bad service port", kube: true, cli: "hello -r python3.11 --handler a.b -f x --servicePort 70000", wantErr: "invalid --servicePort 70000: use 1-65535 (0: the same as --port)"},
		{name: "kubernetes: bad service account", kube: true, cli: "hello -r python3.11 --handler a.b -f x --service-account Admin", wantErr: `invalid --service-account "Admin": give the name of a ServiceAccount of the function's namespace`},
		{name: "kubernetes: bad node selector", kube: true, cli: "hello -r python3.11 --handler a.b -f x --node-selectors =ssd", wantErr: `invalid --node-selectors "=ssd": use a node label key=value, for example --node-selectors kubernetes.io/arch=amd64`},
		{name: "kubernetes: bad env-from-secret name", kube: true, cli: "hello -r python3.11 --handler a.b -f x --env-from-secret Creds", wantErr: `invalid --env-from-secret "Creds": give NAME or NAME:KEY, where NAME is an object of the function's namespace (lowercase letters, digits, '-' and '.')`},
		{name: "kubernetes: bad env-from-configmap key", kube: true, cli: "hello -r python3.11 --handler a.b -f x --env-from-configmap settings:1st", wantErr: `invalid --env-from-configmap "settings:1st": KEY must be a key of settings that is also a variable name (letters, digits, '_', '-' and '.', not starting with a digit)`},
		{name: "kubernetes: empty env-from key", kube: true, cli: "hello -r python3.11 --handler a.b -f x --env-from-secret creds:", wantErr: `invalid --env-from-secret "creds:": KEY must be a key of creds that is also a variable name (letters, digits, '_', '-' and '.', not starting with a digit)`},
		{name: "bad dry-run format", cli: "hello -r python3.11 --handler a.b -f x --dryrun -o table", wantErr: "Output format needs to be yaml or json"},
		{name: "local: node selectors", cli: "hello -r python3.11 --handler a.b -f x --node-selectors disk=ssd", wantErr: "--node-selectors needs the Kubernetes engine: the local engine runs functions as processes of this machine, with no nodes to choose from"},
		{name: "local: service account", cli: "hello -r python3.11 --handler a.b -f x --service-account fn-sa", wantErr: "--service-account needs the Kubernetes engine: the local engine has no service accounts: its functions run as processes of this machine"},
		{name: "local: image pull policy", cli: "hello -r python3.11 --handler a.b -f x --image-pull-policy Always", wantErr: "--image-pull-policy needs the Kubernetes engine: the local engine pulls no images: it builds functions from their code"},
		{name: "local: headless", cli: "hello -r python3.11 --handler a.b -f x --headless", wantErr: "--headless needs the Kubernetes engine: the local engine has no Services: its gateway routes /<function> to the function's instances"},
		{name: "local: service port", cli: "hello -r python3.11 --handler a.b -f x --servicePort 80", wantErr: "--servicePort needs the Kubernetes engine: the local engine has no Services: its gateway routes /<function> to the function's instances"},
		{name: "local: env from secret", cli: "hello -r python3.11 --handler a.b -f x --env-from-secret creds", wantErr: "--env-from-secret needs the Kubernetes engine: the local engine has no Secrets (pass values with --env)"},
		{name: "local: env from configmap", cli: "hello -r python3.11 --handler a.b -f x --env-from-configmap settings", wantErr: "--env-from-configmap needs the Kubernetes engine: the local engine has no ConfigMaps (pass values with --env)"},
		{
			name: "local: dry run", cli: "hello -r python3.11 --handler a.b -f x --dryrun",
			want: DeployOptions{Name: "hello", Namespace: "default", Runtime: "python3.11", Handler: "a.b", FromFile: "x", Timeout: "180", Port: 8080, Replicas: 1, Wait: true, DryRun: true},
		},
		{name: "kubernetes: bad secret", kube: true, cli: "hello -r python3.11 --handler a.b -f x --secrets Bad_Name", wantErr: `invalid --secrets "Bad_Name": give the name of a Secret of the function's namespace`},
		{name: "kubernetes: runtime needs handler", kube: true, cli: "hello -r python3.11 --runtime-image img -f x", wantErr: "You must specify handler for the runtime."},
		{name: "kubernetes: nothing to run", kube: true, cli: "hello --handler a.b", wantErr: "Either `--runtime` or `--runtime-image` flag must be specified."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *DeployOptions
			f := &Factory{IOStreams: ios, OnKubernetes: func() bool { return tt.kube }}
			cmd := NewCmdDeploy(f, func(o *DeployOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetOut(&strings.Builder{})
			cmd.SetErr(&strings.Builder{})
			cmd.Flags().Set("wait-timeout", "0s")
			err := cmd.Execute()
			if tt.wantErr != "" {
				var fe *cmdutil.FlagError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want FlagError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.IO, got.Engine, got.Changed, got.WaitTimeout = nil, nil, nil, 0
			if tt.want.Output == "" {
				tt.want.Output = "yaml"
			}
			if d := cmp.Diff(&tt.want, got); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
		})
	}
}

func TestNewCmdUpdateOnlyGivenFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *DeployOptions
	cmd := NewCmdUpdate(&Factory{IOStreams: ios}, func(o *DeployOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"hello", "--env", "A=1"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	fn, err := got.Function(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fn.Spec.Timeout != "" || len(fn.Spec.ServiceSpec.Ports) != 0 || fn.Spec.Runtime != "" || fn.Spec.Function != "" {
		t.Errorf("update patch sets flags that were not given: %+v", fn.Spec)
	}
	d, _ := fn.Spec.DeploymentTemplate()
	if d.Spec.Replicas != nil || len(d.Spec.Template.Spec.Containers) != 1 || d.Spec.Template.Spec.Containers[0].Env[0].Name != "A" {
		t.Errorf("deployment template = %+v", d.Spec)
	}
}

func TestDeployRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hello.py")
	os.WriteFile(file, []byte("def foo(e, c):\n    return 'hi'\n"), 0o644)
	tests := []struct {
		name       string
		tty        bool
		wait       bool
		phases     []string
		message    string
		wantErr    string
		wantStderr string
	}{
		{
			name: "not a tty", wait: true, phases: []string{"Building", "Building", "Starting", "Ready"},
			wantStderr: "Deploying function...\nFunction hello submitted for deployment\nBuilding\nStarting\nReady\nFunction hello is ready (1/1)\n",
		},
		{
			name: "tty", tty: true, wait: true, phases: []string{"Building", "Ready"},
			wantStderr: "Deploying function...\nFunction hello submitted for deployment\n  Building   ",
		},
		{
			name: "no wait", phases: []string{"Building"},
			wantStderr: "Deploying function...\nFunction hello submitted for deployment\nCheck the deployment status executing 'kubeless function ls hello'\n",
		},
		{
			name: "failed", wait: true, phases: []string{"Building", "BuildFailed"}, message: "pip install failed",
			wantErr:    "function hello failed (BuildFailed): pip install failed",
			wantStderr: "Deploying function...\nFunction hello submitted for deployment\nBuilding\nBuildFailed\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{fns: map[string]*v1beta1.Function{}, phases: tt.phases, message: tt.message}
			cl := serveFake(t, b)
			ios, _, stdout, stderr := iostreams.Test()
			ios.SetStderrTTY(tt.tty)
			opts := &DeployOptions{
				IO: ios, Engine: func(context.Context) (backend.Engine, error) { return cl, nil },
				Name: "hello", Namespace: "default", Runtime: "python3.11", Handler: "hello.foo", FromFile: file,
				Timeout: "180", Port: 8080, Replicas: 1, Wait: tt.wait, PollInterval: 1,
			}
			err := deployRun(context.Background(), opts)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want prefix %q", stderr.String(), tt.wantStderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q", stdout.String())
			}
			fn := b.fns["hello"]
			if fn.Spec.FunctionContentType != "text" || !strings.HasPrefix(fn.Spec.Checksum, "sha256:") || fn.Spec.Timeout != "180" {
				t.Errorf("deployed spec = %+v", fn.Spec)
			}
		})
	}

	// A second deploy of the name says to update.
	b := &fakeBackend{fns: map[string]*v1beta1.Function{"hello": {}}, phases: []string{"Ready"}}
	cl := serveFake(t, b)
	ios, _, _, _ := iostreams.Test()
	err := deployRun(context.Background(), &DeployOptions{IO: ios, Engine: func(context.Context) (backend.Engine, error) { return cl, nil },
		Name: "hello", Namespace: "default", Runtime: "python3.11", Handler: "hello.foo", FromFile: file, Timeout: "180", Port: 8080})
	if !client.IsAlreadyExists(err) || err.Error() != `function "hello" already exists in namespace "default": use kubeless function update` {
		t.Errorf("second deploy: %v", err)
	}
}

func TestListRun(t *testing.T) {
	b := &fakeBackend{fns: map[string]*v1beta1.Function{"hello": {
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec:       v1beta1.FunctionSpec{Handler: "hello.foo", Runtime: "python3.11", Deps: "requests\n"},
	}}, phases: []string{"Ready"}}
	cl := serveFake(t, b)
	ios, _, stdout, _ := iostreams.Test()
	err := listRun(context.Background(), &ListOptions{IO: ios, Engine: func(context.Context) (backend.Engine, error) { return cl, nil }, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	want := "NAME   NAMESPACE  HANDLER    RUNTIME     DEPENDENCIES  STATUS\nhello  default    hello.foo  python3.11  requests      1/1 READY\n"
	if d := cmp.Diff(want, stdout.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestCallRequest(t *testing.T) {
	for _, tt := range []struct {
		data, wantCT string
		has          bool
		method       string
		wantMethod   string
	}{
		{data: `{"a":1}`, wantCT: "application/json", has: true, wantMethod: "POST"},
		{data: `[1,2]`, wantCT: "application/json", has: true, wantMethod: "POST"},
		{data: `"s"`, wantCT: "application/json", has: true, wantMethod: "POST"},
		{data: `plain`, wantCT: "application/x-www-form-urlencoded", has: true, wantMethod: "POST"},
		{data: `x`, wantCT: "application/x-www-form-urlencoded", has: true, method: "put", wantMethod: "PUT"},
		{wantMethod: "GET"},
	} {
		o := &CallOptions{Name: "hello", Namespace: "default", Data: tt.data, HasData: tt.has, Method: tt.method, Path: "/x?y=1", Headers: []string{"X-A: b"}}
		req := o.request()
		if req.Method != tt.wantMethod || req.Header.Get("Content-Type") != tt.wantCT || req.Header.Get("event-type") != tt.wantCT || req.Path != "/x?y=1" {
			t.Errorf("%q: %s %s %q", tt.data, req.Method, req.Path, req.Header.Get("Content-Type"))
		}
		if (req.Body != nil) != tt.has || string(req.Body) != tt.data {
			t.Errorf("%q: body %q", tt.data, req.Body)
		}
		if len(req.Header.Get("event-id")) != 15 || req.Header.Get("event-namespace") != "cli.kubeless.io" || req.Header.Get("X-A") != "b" {
			t.Errorf("headers = %v", req.Header)
		}
		if _, err := time.Parse(time.RFC3339, req.Header.Get("event-time")); err != nil {
			t.Errorf("event-time: %v", err)
		}
	}
}

// TestCallRunLocal calls through the local engine's client: the gateway
// gets /[namespace/]name/path with the event headers, and the answer is
// printed.
func TestCallRunLocal(t *testing.T) {
	type seen struct{ method, uri, ns, body string }
	got := make(chan seen, 1)
	status := http.StatusOK
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Header.Get("event-namespace"), string(b)}
		w.WriteHeader(status)
		io.WriteString(w, "answer")
	}))
	defer gw.Close()
	b := &fakeBackend{fns: map[string]*v1beta1.Function{"hello": {}}, phases: []string{"Ready"}, gateway: gw.Listener.Addr().String()}
	cl := serveFake(t, b)
	for _, tt := range []struct {
		name    string
		opts    CallOptions
		status  int
		want    seen
		wantOut string
		wantErr string
	}{
		{name: "default namespace", opts: CallOptions{Namespace: "default", Path: "/x?y=1"}, status: 200,
			want: seen{"GET", "/hello/x?y=1", "cli.kubeless.io", ""}, wantOut: "answer\n"},
		{name: "namespace and data", opts: CallOptions{Namespace: "team", Data: "d", HasData: true}, status: 200,
			want: seen{"POST", "/team/hello", "cli.kubeless.io", "d"}, wantOut: "answer\n"},
		{name: "timeout", opts: CallOptions{Namespace: "default"}, status: http.StatusRequestTimeout,
			want: seen{"GET", "/hello", "cli.kubeless.io", ""}, wantErr: MsgRequestTimeout},
		{name: "failure", opts: CallOptions{Namespace: "default"}, status: 500,
			want: seen{"GET", "/hello", "cli.kubeless.io", ""}, wantErr: "function hello answered 500: answer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status = tt.status
			ios, _, stdout, _ := iostreams.Test()
			o := tt.opts
			o.IO, o.Name = ios, "hello"
			o.Engine = func(context.Context) (backend.Engine, error) { return cl, nil }
			err := callRun(context.Background(), &o)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, <-got, cmp.AllowUnexported(seen{})); d != "" {
				t.Errorf("request (-want +got):\n%s", d)
			}
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantOut)
			}
		})
	}
	// An unknown function is not called.
	ios, _, _, _ := iostreams.Test()
	err := callRun(context.Background(), &CallOptions{IO: ios, Name: "nope", Namespace: "default",
		Engine: func(context.Context) (backend.Engine, error) { return cl, nil }})
	if !client.IsNotFound(err) || !strings.HasSuffix(err.Error(), ": deploy it with kubeless function deploy nope") {
		t.Errorf("unknown function: %v", err)
	}
}
