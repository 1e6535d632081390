package function

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/backend/backendtest"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/engine/api"
	"github.com/kubeless/kubeless/internal/langruntime"
)

type fakeTriggers struct {
	api.TriggerBackend
	rows  []backend.FunctionMetrics
	asked string
	crons []*v1beta1.CronJobTrigger
}

func (f *fakeTriggers) Top(_ context.Context, ns, name string) ([]backend.FunctionMetrics, error) {
	f.asked = ns + "/" + name
	return f.rows, nil
}

func (f *fakeTriggers) CreateCronJobTrigger(_ context.Context, t *v1beta1.CronJobTrigger) (*v1beta1.CronJobTrigger, error) {
	f.crons = append(f.crons, t)
	return t, nil
}

func (f *fakeTriggers) Triggers(*v1beta1.TriggerKind) backend.TriggerStore {
	return backendtest.TriggerFuncs[v1beta1.CronJobTrigger, *v1beta1.CronJobTrigger]{CreateFunc: f.CreateCronJobTrigger}
}

func TestNewCmdTop(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *TopOptions
	cmd := NewCmdTop(&Factory{IOStreams: ios}, func(o *TopOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--function", "hello", "-n", "ns", "-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Function != "hello" || got.Namespace != "ns" || got.Output != "json" {
		t.Errorf("options = %+v", got)
	}
	cmd = NewCmdTop(&Factory{IOStreams: ios}, func(o *TopOptions) error { return nil })
	cmd.SetArgs([]string{"-o", "wide"})
	cmd.SetErr(&strings.Builder{})
	var fe *cmdutil.FlagError
	if err := cmd.Execute(); err == nil || err.Error() != "Wrong output format. Please use only json|yaml" {
		t.Errorf("-o wide: %v", err)
	} else if !asFlagError(err, &fe) {
		t.Errorf("not a FlagError: %v", err)
	}
}

func asFlagError(err error, fe **cmdutil.FlagError) bool {
	e, ok := err.(*cmdutil.FlagError)
	*fe = e
	return ok
}

func TestTopRun(t *testing.T) {
	ft := &fakeTriggers{rows: []backend.FunctionMetrics{
		{Function: "hello", Namespace: "default", Method: "GET", TotalCalls: 4, TotalFailures: 1, TotalDurationSeconds: 2, AvgDurationSeconds: 0.5},
		{Function: "idle", Namespace: "default", Message: "Function has no ready instance"},
	}}
	cl := serveFake(t, &fakeBackend{TriggerBackend: ft, fns: map[string]*v1beta1.Function{}})
	engine := func(context.Context) (backend.Engine, error) { return cl, nil }
	for _, tt := range []struct{ out, want string }{
		{"", "NAME   NAMESPACE  METHOD  TOTAL_CALLS  TOTAL_FAILURES  TOTAL_DURATION_SECONDS  AVG_DURATION_SECONDS  MESSAGE\n" +
			"hello  default    GET     4            1               2                       0.5                   \n" +
			"idle   default            0            0               0                       0                     Function has no ready instance\n"},
		{"json", `"total_calls": 4`},
		{"yaml", "total_calls: 4"},
	} {
		ios, _, stdout, _ := iostreams.Test()
		if err := topRun(context.Background(), &TopOptions{IO: ios, Engine: engine, Namespace: "default", Function: "hello", Output: tt.out}); err != nil {
			t.Fatal(err)
		}
		if tt.out == "" {
			if d := cmp.Diff(tt.want, stdout.String()); d != "" {
				t.Errorf("table (-want +got):\n%s", d)
			}
		} else if !strings.Contains(stdout.String(), tt.want) {
			t.Errorf("%s output %q lacks %q", tt.out, stdout.String(), tt.want)
		}
	}
	if ft.asked != "default/hello" {
		t.Errorf("asked %q", ft.asked)
	}
}

func TestDeploySchedule(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cmd := NewCmdDeploy(&Factory{IOStreams: ios}, func(o *DeployOptions) error { return nil })
	cmd.SetArgs(strings.Fields("hello -r python3.11 --handler a.b -f x --schedule nope"))
	err := cmd.Execute()
	var fe *cmdutil.FlagError
	if err == nil || asFlagError(err, &fe) || !strings.HasPrefix(err.Error(), `invalid cron schedule "nope": `) || strings.Contains(err.Error(), "\n") {
		t.Errorf("bad schedule: %v", err)
	}
	if NewCmdUpdate(&Factory{IOStreams: ios}, nil).Flags().Lookup("schedule") != nil {
		t.Error("update has --schedule")
	}

	file := t.TempDir() + "/hello.py"
	writeFile(t, file, "def foo(e, c):\n    return 'hi'\n")
	ft := &fakeTriggers{}
	b := &fakeBackend{TriggerBackend: ft, fns: map[string]*v1beta1.Function{}, phases: []string{"Ready"}}
	cl := serveFake(t, b)
	err = deployRun(context.Background(), &DeployOptions{IO: ios, Engine: func(context.Context) (backend.Engine, error) { return cl, nil },
		Name: "hello", Namespace: "default", Runtime: "python3.11", Handler: "hello.foo", FromFile: file, Timeout: "180", Port: 8080, Schedule: "*/5 * * * *"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ft.crons) != 1 || ft.crons[0].Name != "hello" || ft.crons[0].Spec.FunctionName != "hello" || ft.crons[0].Spec.Schedule != "*/5 * * * *" ||
		ft.crons[0].Labels[v1beta1.LabelFunction] != "hello" {
		t.Errorf("cron triggers = %+v", ft.crons)
	}
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProgress(t *testing.T) {
	for _, tt := range []struct{ reason, msg, step, want string }{
		{"Building", "building the function", "", "Building"},
		{"Building", "building the function: install", string(langruntime.StepInstall), "Building (install)"},
		{"Building", "any words at all", string(langruntime.StepCompile), "Building (compile)"},
		// The message is never parsed: no step field, no step shown.
		{"Building", "building the function: install", "", "Building"},
		{"Starting", "starting instances", "", "Starting"},
		{"BuildFailed", "building the function: x", "", "BuildFailed"},
	} {
		st := &v1beta1.FunctionStatus{BuildStep: tt.step}
		if got := progress(&metav1.Condition{Reason: tt.reason, Message: tt.msg}, st); got != tt.want {
			t.Errorf("progress(%s, %q, step %q) = %q, want %q", tt.reason, tt.msg, tt.step, got, tt.want)
		}
	}
}
