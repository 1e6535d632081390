package autoscale

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/engine/api"
	"github.com/kubeless/kubeless/internal/engine/client"
)

type fakeEngine struct {
	api.Backend
	fn *v1beta1.Function
}

func (f *fakeEngine) SetAutoscaler(_ context.Context, ns, name string, h *autoscalingv2.HorizontalPodAutoscaler) (*v1beta1.Function, error) {
	if name != f.fn.Name {
		return nil, backend.Errorf(backend.CodeNotFound, "function %q not found in namespace %q", name, ns)
	}
	if h == nil {
		if cur, _ := f.fn.Spec.Autoscaler(); cur == nil {
			return nil, backend.Errorf(backend.CodeNotFound, "Not found an autoscale definition for %s", name)
		}
	}
	if err := f.fn.Spec.SetAutoscaler(h); err != nil {
		return nil, err
	}
	return f.fn, nil
}

func (f *fakeEngine) List(context.Context, string) ([]v1beta1.Function, error) {
	return []v1beta1.Function{*f.fn, {ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "default"}}}, nil
}

func serve(t *testing.T, f *fakeEngine) func(context.Context) (backend.Engine, error) {
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
	return func(context.Context) (backend.Engine, error) { return cl, nil }
}

func TestNewCmdCreate(t *testing.T) {
	for cli, wantErr := range map[string]string{
		"hello --metric qps --value 10 --min 1 --max 3":                          "",
		"hello --metric cpu --value 70":                                          "",
		"hello --metric cpu":                                                     "--value is required: the metric's target, for example --value 10",
		"hello --metric mem --value 1":                                           `invalid --metric "mem": use cpu, qps or concurrency`,
		"hello --metric concurrency --value 10 --min 0 --max 4 --idle-window 2m": "",
		"hello --metric concurrency --value 0 --min 0":                           `invalid --value "0": give calls in flight per instance, for example --value 10`,
		"hello --value 1 --min 0 --max 0":                                        "invalid --max 0: use 1 or more",
		"hello --value 1 --min 1 --idle-window 1m":                               "--idle-window needs --min 0: only a function that may run no instance has an idle window",
		"hello --value 1 --min 0 --idle-window 0s":                               "invalid --idle-window 0s: use a positive duration such as 90s or 5m",
		"hello --metric cpu --value 7.5":                                         `invalid --value "7.5": give the target CPU utilization as a whole percentage, for example --value 70`,
		"hello --value 1 --min -1":                                               "invalid --min -1: use 0 (stop the last instance when idle) or more",
		"hello --value 1 --min 3 --max 2":                                        "invalid --max 2: it must be at least --min (3)",
		"--value 1":                                                              "create: the function name is required, for example: kubeless autoscale create hello --metric qps --value 10",
	} {
		ios, _, _, _ := iostreams.Test()
		cmd := NewCmdCreate(&cmdutil.Factory{IOStreams: ios}, func(*CreateOptions) error { return nil })
		cmd.SetArgs(strings.Fields(cli))
		cmd.SetErr(&strings.Builder{})
		err := cmd.Execute()
		var fe *cmdutil.FlagError
		if wantErr == "" && err != nil || wantErr != "" && (err == nil || err.Error() != wantErr || !errors.As(err, &fe)) {
			t.Errorf("%q: err = %v, want %q", cli, err, wantErr)
		}
	}
}

func TestCreateListDelete(t *testing.T) {
	f := &fakeEngine{fn: &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"}}}
	engine := serve(t, f)
	ios, _, stdout, stderr := iostreams.Test()
	ctx := context.Background()
	if err := createRun(ctx, &CreateOptions{IO: ios, Engine: engine, Name: "hello", Namespace: "default", Min: 1, Max: 3, Metric: "qps", Value: "10"}); err != nil {
		t.Fatal(err)
	}
	if stderr.String() != "Autoscale hello created in namespace default successfully!\n" {
		t.Errorf("stderr = %q", stderr.String())
	}
	h, err := f.fn.Spec.Autoscaler()
	if err != nil || h == nil || h.Spec.MaxReplicas != 3 || h.Spec.Metrics[0].Object.Metric.Name != "function_calls" {
		t.Fatalf("stored autoscaler = %+v, %v", h, err)
	}
	if err := listRun(ctx, &ListOptions{IO: ios, Engine: engine, Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	want := "NAME   NAMESPACE  TARGET  MIN  MAX  METRIC  VALUE\nhello  default    hello   1    3    qps     10\n"
	if stdout.String() != want {
		t.Errorf("list = %q, want %q", stdout.String(), want)
	}
	if err := createRun(ctx, &CreateOptions{IO: ios, Engine: engine, Name: "hello", Namespace: "default", Min: 2, Max: 2, Metric: "cpu", Value: "70"}); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	listRun(ctx, &ListOptions{IO: ios, Engine: engine, Namespace: "default"})
	if !strings.Contains(stdout.String(), "hello  default    hello   2    2    cpu     70") {
		t.Errorf("list = %q", stdout.String())
	}
	del := NewCmdDelete(&cmdutil.Factory{IOStreams: ios, Engine: engine}, nil)
	del.SetArgs([]string{"hello"})
	if err := del.Execute(); err != nil {
		t.Fatal(err)
	}
	del.SetArgs([]string{"hello"})
	if err := del.Execute(); err == nil || err.Error() != "Not found an autoscale definition for hello" {
		t.Errorf("second delete: %v", err)
	}
}

func TestScaleToZeroAutoscaler(t *testing.T) {
	o := &CreateOptions{Name: "hello", Namespace: "default", Min: 0, Max: 4, Metric: "concurrency", Value: "10", IdleWindow: 2 * time.Minute}
	h := o.Autoscaler()
	if *h.Spec.MinReplicas != 0 || h.Annotations[v1beta1.AnnotationIdleWindow] != "2m0s" {
		t.Errorf("autoscaler = %+v", h)
	}
	if m, v := metricOf(h); m != "concurrency" || v != "10" {
		t.Errorf("metric = %s %s", m, v)
	}
	if w, err := backend.IdleWindow(h); err != nil || w != 2*time.Minute {
		t.Errorf("idle window = %v, %v", w, err)
	}
}
