package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/kubetest"
)

// useKubeconfig writes a kubeconfig whose current context reaches the test
// API server with namespace ns, and points KUBECONFIG at it; with
// KUBELESS_ENGINE unset, that chooses the Kubernetes engine.
func useKubeconfig(t *testing.T, ns string) {
	t.Helper()
	cfg := env.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin", Namespace: ns}
	kc.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", path)
	t.Setenv("KUBELESS_ENGINE", "")
}

// kubeless runs the command line args and returns its stdout, stderr and
// error.
func kubeless(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr strings.Builder
	root := NewRootCmd(&stdout, &stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := kubeless(t, args...)
	if err != nil {
		t.Fatalf("kubeless %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

// functionPod stands in for what the controller and the kubelet make: a
// running, ready pod of the function served by h on this machine, and the
// function's Service with an EndpointSlice to it (the API server's service
// proxy only goes to pods of the namespace named by an EndpointSlice).
func functionPod(t *testing.T, ns, fn string, h http.Handler) {
	t.Helper()
	ip, port := kubetest.HostServer(t, h)
	env.FunctionService(t, ns, fn, ip, port)
}

// TestKubernetesEngine runs the commands of the kubeless binary on the
// Kubernetes engine, chosen by the kubeconfig's current context, whose
// namespace is the default of -n.
func TestKubernetesEngine(t *testing.T) {
	env.Require(t)
	ns := env.Namespace(t)
	useKubeconfig(t, ns)
	ctx := context.Background()
	key := client.ObjectKey{Namespace: ns, Name: "hello"}
	file := filepath.Join(t.TempDir(), "hello.py")
	if err := os.WriteFile(file, []byte("def foo(event, context):\n    return 'hello world'\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	out, _ := mustRun(t, "engine")
	if !strings.HasPrefix(out, "Engine: kubernetes\nWhy: the kubeconfig ") {
		t.Errorf("engine: %q", out)
	}

	// deploy, with the flags only Kubernetes honours.
	_, errOut := mustRun(t, "function", "deploy", "hello", "--runtime", "python3.11", "--handler", "hello.foo", "--from-file", file,
		"--runtime-image", "me/python:1", "--secrets", "creds", "--wait=false")
	if want := "Deploying function...\nFunction hello submitted for deployment\nCheck the deployment status executing 'kubeless function ls hello -n " + ns + "'\n"; errOut != want {
		t.Errorf("deploy stderr = %q, want %q", errOut, want)
	}
	fn := &v1beta1.Function{}
	if err := env.Client.Get(ctx, key, fn); err != nil {
		t.Fatalf("the function is not in the context's namespace: %v", err)
	}
	d, _ := fn.Spec.DeploymentTemplate()
	if c := d.Spec.Template.Spec.Containers[0]; c.Image != "me/python:1" || len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/creds" ||
		d.Spec.Template.Spec.Volumes[0].Secret.SecretName != "creds" || fn.Spec.Handler != "hello.foo" || !strings.Contains(fn.Spec.Function, "hello world") {
		t.Errorf("deployed function = %+v, template %+v", fn.Spec, d.Spec.Template.Spec)
	}
	if _, _, err := kubeless(t, "function", "deploy", "hello", "-r", "python3.11", "--handler", "hello.foo", "-f", file, "--wait=false"); err == nil ||
		!strings.Contains(err.Error(), "already exists") {
		t.Errorf("second deploy: %v", err)
	}

	// update merges.
	mustRun(t, "function", "update", "hello", "--env", "GREETING=hi", "--wait=false")
	_ = env.Client.Get(ctx, key, fn)
	d, _ = fn.Spec.DeploymentTemplate()
	if c := d.Spec.Template.Spec.Containers[0]; c.Image != "me/python:1" || len(c.Env) != 1 || c.Env[0].Name != "GREETING" || fn.Generation != 2 {
		t.Errorf("updated function: generation %d, container %+v", fn.Generation, c)
	}
	if _, _, err := kubeless(t, "function", "update", "nope", "--env", "A=1"); err == nil || err.Error() != "Function nope is not found" {
		t.Errorf("update of a missing function: %v", err)
	}

	// ls and describe read the status the controller writes.
	out, _ = mustRun(t, "function", "ls")
	if !strings.Contains(out, "0/0 NOT READY") {
		t.Errorf("ls before any status: %q", out)
	}
	fn.Status.SetReplicas(1, 1)
	fn.Status.ObservedGeneration = fn.Generation
	meta.SetStatusCondition(&fn.Status.Conditions, metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonReady, Message: "1/1 pods ready"})
	if err := env.Client.Status().Update(ctx, fn); err != nil {
		t.Fatal(err)
	}
	out, _ = mustRun(t, "function", "ls")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != "hello "+ns+" hello.foo python3.11 1/1 READY" {
		t.Errorf("ls = %q", out)
	}
	out, _ = mustRun(t, "function", "ls", "-o", "json")
	var listed []v1beta1.Function
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 || listed[0].Kind != "Function" || listed[0].Status.Ready != "1/1" {
		t.Errorf("ls -o json = %q (%v)", out, err)
	}
	out, _ = mustRun(t, "function", "describe", "hello")
	for _, want := range []string{"Name:          hello\n", "Status:        1/1 READY\n", "Reason:        Ready\n", `Envvar:        ["GREETING=hi"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("describe = %q, lacks %q", out, want)
		}
	}

	// call goes through the API server's service proxy with the event
	// headers; top reads the pod's /metrics through the pods proxy.
	type seen struct{ method, uri, body, eventNS, eventType string }
	got := make(chan seen, 4)
	functionPod(t, ns, "hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			io.WriteString(w, "# TYPE function_calls_total counter\nfunction_calls_total{method=\"POST\"} 3\n")
			return
		}
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), string(b), r.Header.Get("event-namespace"), r.Header.Get("event-type")}
		io.WriteString(w, "hello world")
	}))
	out, _ = mustRun(t, "function", "call", "hello", "--data", `{"it-s": "alive"}`, "--path", "/x?y=1")
	if out != "hello world\n" {
		t.Errorf("call printed %q", out)
	}
	select {
	case s := <-got:
		if want := (seen{"POST", "/x?y=1", `{"it-s": "alive"}`, "cli.kubeless.io", "application/json"}); s != want {
			t.Errorf("the function got %+v, want %+v", s, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not reach the function")
	}
	out, _ = mustRun(t, "function", "top")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != "hello "+ns+" POST 3 0 0 0" {
		t.Errorf("top = %q", out)
	}

	// Triggers and autoscale make objects of the function's namespace.
	_, errOut = mustRun(t, "trigger", "http", "create", "web", "--function-name", "hello", "--path", "api", "--basic-auth-secret", "auth")
	if errOut != "HTTP trigger web created in namespace "+ns+" successfully!\n" {
		t.Errorf("http create: %q", errOut)
	}
	ht := &v1beta1.HTTPTrigger{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, ht); err != nil || ht.Spec.BasicAuthSecret != "auth" || ht.Spec.Path != "api" {
		t.Errorf("http trigger = %+v, %v", ht.Spec, err)
	}
	if _, _, err := kubeless(t, "trigger", "http", "create", "other", "--function-name", "nope"); err == nil ||
		err.Error() != `function "nope" not found in namespace "`+ns+`": deploy it first with kubeless function deploy nope -n `+ns {
		t.Errorf("trigger of a missing function: %v", err)
	}
	mustRun(t, "trigger", "cronjob", "create", "tick", "--function", "hello", "--schedule", "*/5 * * * *")
	out, _ = mustRun(t, "trigger", "cronjob", "list")
	if !strings.Contains(out, "tick") || !strings.Contains(out, "*/5 * * * *") {
		t.Errorf("cronjob list = %q", out)
	}
	mustRun(t, "autoscale", "create", "hello", "--metric", "cpu", "--value", "70", "--max", "3")
	_ = env.Client.Get(ctx, key, fn)
	if a, err := fn.Spec.Autoscaler(); err != nil || a == nil || a.Spec.MaxReplicas != 3 {
		t.Errorf("autoscaler = %+v, %v", a, err)
	}
	out, _ = mustRun(t, "autoscale", "list")
	if !strings.Contains(out, "hello") || !strings.Contains(out, "cpu") {
		t.Errorf("autoscale list = %q", out)
	}

	// delete removes the function and its triggers.
	mustRun(t, "function", "delete", "hello")
	if err := env.Client.Get(ctx, key, &v1beta1.Function{}); err == nil {
		t.Error("the function is still there")
	}
	var hts v1beta1.HTTPTriggerList
	var cts v1beta1.CronJobTriggerList
	_ = env.Client.List(ctx, &hts, client.InNamespace(ns))
	_ = env.Client.List(ctx, &cts, client.InNamespace(ns))
	if len(hts.Items)+len(cts.Items) != 0 {
		t.Errorf("triggers left: %d http, %d cron", len(hts.Items), len(cts.Items))
	}
	_, errOut, err := kubeless(t, "function", "ls")
	if err != nil || errOut != "No functions found\n" {
		t.Errorf("ls after delete: %v %q", err, errOut)
	}
}

// TestKubernetesFlagsAndServerConfig: --kubeconfig and --context choose the
// cluster, and get-server-config prints the cluster's catalog, not the
// built-in one.
func TestKubernetesFlagsAndServerConfig(t *testing.T) {
	env.Require(t)
	ns := env.Namespace(t)
	useKubeconfig(t, ns)
	path := os.Getenv("KUBECONFIG")
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())

	// Without the flags there is no kubeconfig: the local engine.
	out, _ := mustRun(t, "engine")
	if !strings.Contains(out, "Engine: local") {
		t.Fatalf("engine without flags:\n%s", out)
	}
	out, _ = mustRun(t, "engine", "--kubeconfig", path)
	if !strings.Contains(out, "Engine: kubernetes") {
		t.Errorf("engine --kubeconfig:\n%s", out)
	}
	if _, _, err := kubeless(t, "function", "ls", "--kubeconfig", path, "--context", "nosuch"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("ls --context nosuch: %v, want an error naming the context", err)
	}

	cfgNS := "cfg-" + ns
	t.Setenv("KUBELESS_NAMESPACE", cfgNS)
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cfgNS}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cfgNS}})
	})
	out, _ = mustRun(t, "get-server-config", "--kubeconfig", path, "--context", "test")
	if !strings.Contains(out, "python3.11") {
		t.Errorf("get-server-config without kubeless-config should print the built-in catalog:\n%s", out)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: cfgNS, Name: "kubeless-config"}, Data: map[string]string{
		"runtime-images": `[{"ID": "python", "depName": "requirements.txt", "fileNameSuffix": ".py",
			"versions": [{"name": "python311", "version": "3.11", "images": [{"phase": "runtime", "image": "localhost/python:3.11"}]}]}]`}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	out, _ = mustRun(t, "get-server-config", "--kubeconfig", path)
	if want := "Supported Runtimes are: python3.11\n"; !strings.HasSuffix(out, want) {
		t.Errorf("get-server-config:\n%s\nwant the cluster's catalog: %q", out, want)
	}
}
