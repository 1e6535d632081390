package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/langruntime"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml")

// goldenConfig is the Config of each case; the others use the zero Config.
var goldenConfig = map[string]Config{
	"custom-port-template": {
		ImagePullPolicy:      corev1.PullNever,
		RuntimeImageOverride: map[string]string{"python3.13": "localhost/kubeless/python:3.13-test"},
		ImagePullSecrets:     []corev1.LocalObjectReference{{Name: "registry-cred"}},
	},
}

// testInput is a case file: one Function and any number of triggers.
type testInput struct {
	fn       *v1beta1.Function
	http     []*v1beta1.HTTPTrigger
	cron     []*v1beta1.CronJobTrigger
	function string // the name of the file
}

func readInput(t *testing.T, file string) testInput {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	in := testInput{function: file}
	for i, doc := range strings.Split(string(data), "\n---\n") {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("%s: document %d: %v", file, i, err)
		}
		var obj any
		switch tm.Kind {
		case "Function":
			in.fn = &v1beta1.Function{}
			obj = in.fn
		case "HTTPTrigger":
			tr := &v1beta1.HTTPTrigger{}
			in.http = append(in.http, tr)
			obj = tr
		case "CronJobTrigger":
			tr := &v1beta1.CronJobTrigger{}
			in.cron = append(in.cron, tr)
			obj = tr
		default:
			t.Fatalf("%s: document %d: unknown kind %q", file, i, tm.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: document %d: %v", file, i, err)
		}
	}
	if in.fn == nil {
		t.Fatalf("%s: no Function", file)
	}
	return in
}

// renderAll renders every object of in, in the controller's order.
func renderAll(t *testing.T, in testInput, cfg Config) []any {
	t.Helper()
	entry, err := Lookup(langruntime.Default(), in.fn)
	if err != nil {
		t.Fatal(err)
	}
	var objs []any
	cm, err := ConfigMap(in.fn, entry)
	if err != nil {
		t.Fatalf("ConfigMap: %v", err)
	}
	svc, err := Service(in.fn)
	if err != nil {
		t.Fatalf("Service: %v", err)
	}
	dep, err := Deployment(in.fn, entry, cfg)
	if err != nil {
		t.Fatalf("Deployment: %v", err)
	}
	objs = append(objs, cm, svc, dep)
	hpa, err := HPA(in.fn)
	if err != nil {
		t.Fatalf("HPA: %v", err)
	}
	if hpa != nil {
		objs = append(objs, hpa)
	}
	for _, tr := range in.http {
		ing, err := Ingress(tr, in.fn)
		if err != nil {
			t.Fatalf("Ingress: %v", err)
		}
		objs = append(objs, ing)
		for _, m := range TraefikMiddlewares(tr, in.fn) {
			objs = append(objs, m.Object)
		}
	}
	for _, tr := range in.cron {
		cj, err := CronJob(tr, in.fn, cfg)
		if err != nil {
			t.Fatalf("CronJob: %v", err)
		}
		objs = append(objs, cj)
	}
	return objs
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.function.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".function.yaml")
		t.Run(name, func(t *testing.T) {
			objs := renderAll(t, readInput(t, file), goldenConfig[name])
			assertRestricted(t, objs)
			var buf bytes.Buffer
			for i, o := range objs {
				if i > 0 {
					buf.WriteString("---\n")
				}
				b, err := yaml.Marshal(o)
				if err != nil {
					t.Fatal(err)
				}
				buf.Write(b)
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("%s differs (-want +got); rerun with -update if intended:\n%s", golden, diff)
			}
		})
	}
}

// assertRestricted fails when a pod that objs would make breaks the
// "restricted" Pod Security Standard, as the API server's Pod Security
// admission checks it.
func assertRestricted(t *testing.T, objs []any) {
	t.Helper()
	for _, o := range objs {
		var pod *corev1.PodTemplateSpec
		switch o := o.(type) {
		case *appsv1.Deployment:
			pod = &o.Spec.Template
		case *batchv1.CronJob:
			pod = &o.Spec.JobTemplate.Spec.Template
		default:
			continue
		}
		if v := violations(&pod.ObjectMeta, &pod.Spec); len(v) > 0 {
			t.Errorf("the pods of %T %s break the restricted Pod Security Standard: %v", o, pod.Name, v)
		}
	}
}
