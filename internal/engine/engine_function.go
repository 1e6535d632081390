package engine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/fnspec"

	"github.com/kubeless/kubeless/pkg/contract"
)

// Reasons of the Ready condition that the local engine sets (api/v1beta1).
const (
	reasonBuilding       = v1beta1.ReasonBuilding
	reasonStarting       = v1beta1.ReasonStarting
	reasonReady          = v1beta1.ReasonReady
	reasonBuildFailed    = v1beta1.ReasonBuildFailed
	reasonInstanceFailed = v1beta1.ReasonInstanceFailed
	reasonNotReady       = v1beta1.ReasonInstancesNotReady
	reasonIdle           = v1beta1.ReasonIdle
)

func nowMeta() metav1.Time { return metav1.NewTime(time.Now().UTC().Truncate(time.Second)) }

func encodeFunction(fn *v1beta1.Function) ([]byte, error) {
	b, err := json.Marshal(fn)
	if err != nil {
		return nil, fmt.Errorf("encode function %q: %w", fn.Name, err)
	}
	return b, nil
}

func decodeFunction(b []byte) (*v1beta1.Function, error) {
	var fn v1beta1.Function
	if err := json.Unmarshal(b, &fn); err != nil {
		return nil, err
	}
	if fn.Name == "" {
		return nil, fmt.Errorf("stored function has no name")
	}
	fn.Namespace = defaultNS(fn.Namespace)
	return &fn, nil
}

// maxReplicas is the most instances a function may run on the local
// engine, on every path (deploy, update, autoscale).
const maxReplicas = 64

const dnsHint = "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS-1123 label such as hello-world)"

// validate checks what the engine needs of a function, one clear line per
// problem.
func (e *Engine) validate(fn *v1beta1.Function) error {
	if fn.Name == "" {
		return backend.Errorf(backend.CodeInvalid, "the function needs a name")
	}
	if errs := validation.IsDNS1123Label(fn.Name); len(errs) > 0 {
		return backend.Errorf(backend.CodeInvalid, "invalid function name %q: %s", fn.Name, dnsHint)
	}
	if errs := validation.IsDNS1123Label(fn.Namespace); len(errs) > 0 {
		return backend.Errorf(backend.CodeInvalid, "invalid namespace %q: %s", fn.Namespace, dnsHint)
	}
	if fn.Spec.Runtime == "" {
		return backend.Errorf(backend.CodeInvalid, "function %q has no runtime: set one with --runtime, for example --runtime python3.11", fn.Name)
	}
	if fn.Spec.Handler == "" {
		return &backend.Error{Code: backend.CodeInvalid, Message: fnspec.ErrNoHandler.Error()}
	}
	if err := backend.CheckSpec(fn, e.opts.Catalog); err != nil {
		return err
	}
	if fn.Spec.Function == "" {
		return backend.Errorf(backend.CodeInvalid, "function %q has no code: give it with --from-file", fn.Name)
	}
	d, err := fn.Spec.DeploymentTemplate()
	if err != nil {
		return &backend.Error{Code: backend.CodeInvalid, Message: err.Error()}
	}
	if d.Spec.Replicas != nil && (*d.Spec.Replicas < 0 || *d.Spec.Replicas > maxReplicas) {
		return backend.Errorf(backend.CodeInvalid, "invalid replicas %d: use 0 to %d", *d.Spec.Replicas, maxReplicas)
	}
	// Values from Secrets and ConfigMaps (--env-from-secret,
	// --env-from-configmap) would reach the function empty.
	if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 {
		for _, ev := range cs[0].Env {
			if ev.ValueFrom != nil {
				return backend.Errorf(backend.CodeInvalid, "variable %s takes its value from a Secret, ConfigMap or field, which the local engine does not have: give it a value with --env", ev.Name)
			}
		}
		if len(cs[0].EnvFrom) > 0 {
			return backend.Errorf(backend.CodeInvalid, "the function takes variables from a Secret or ConfigMap (envFrom), which the local engine does not have: give them with --env")
		}
	}
	// An autoscaler given with the function (the raw API) is held to the
	// same limit as one set with kubeless autoscale.
	h, err := fn.Spec.Autoscaler()
	if err != nil {
		return &backend.Error{Code: backend.CodeInvalid, Message: err.Error()}
	}
	if h != nil {
		if h.Spec.MaxReplicas < 1 || h.Spec.MaxReplicas > maxReplicas {
			return backend.Errorf(backend.CodeInvalid, "invalid autoscaler maxReplicas %d: use 1 to %d", h.Spec.MaxReplicas, maxReplicas)
		}
		if m := h.Spec.MinReplicas; m != nil && (*m < 0 || *m > h.Spec.MaxReplicas) {
			return backend.Errorf(backend.CodeInvalid, "invalid autoscaler minReplicas %d: use 0 to maxReplicas (%d)", *m, h.Spec.MaxReplicas)
		}
		if _, err := backend.IdleWindow(h); err != nil {
			return err
		}
	}
	return nil
}

// merge returns old with the non-empty parts of patch (backend.MergeFunction,
// shared with the Kubernetes engine).
func merge(old, patch *v1beta1.Function) (*v1beta1.Function, error) {
	return backend.MergeFunction(old, patch)
}

// replicas is the number of instances the function asks for (default 1).
func replicas(fn *v1beta1.Function) int32 {
	d, err := fn.Spec.DeploymentTemplate()
	if err != nil || d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// timeout is the function's timeout (default contract.DefaultTimeoutSeconds).
func timeout(fn *v1beta1.Function) time.Duration {
	n, err := strconv.Atoi(fn.Spec.Timeout)
	if err != nil || n <= 0 {
		n = contract.DefaultTimeoutSeconds
	}
	return time.Duration(n) * time.Second
}

// userEnv returns the function container's env and memory limit.
func userEnv(fn *v1beta1.Function) (env []string, memory string) {
	d, err := fn.Spec.DeploymentTemplate()
	if err != nil || len(d.Spec.Template.Spec.Containers) == 0 {
		return nil, ""
	}
	c := d.Spec.Template.Spec.Containers[0]
	for _, ev := range c.Env {
		env = append(env, ev.Name+"="+ev.Value)
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		memory = q.String()
	} else if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
		memory = q.String()
	}
	return env, memory
}

func readyCondition(fn *v1beta1.Function) *metav1.Condition {
	return meta.FindStatusCondition(fn.Status.Conditions, v1beta1.ConditionReady)
}

// setCondition sets the Ready condition: True for reasonReady, Unknown while
// building or starting, False otherwise.
func setCondition(fn *v1beta1.Function, reason, msg string) {
	status := metav1.ConditionFalse
	switch reason {
	case reasonReady, reasonIdle:
		status = metav1.ConditionTrue
	case reasonBuilding, reasonStarting:
		status = metav1.ConditionUnknown
	}
	meta.SetStatusCondition(&fn.Status.Conditions, metav1.Condition{
		Type:               v1beta1.ConditionReady,
		Status:             status,
		Reason:             reason,
		Message:            msg,
		ObservedGeneration: fn.Generation,
		LastTransitionTime: nowMeta(),
	})
	// A step belongs to the condition it was reported with.
	fn.Status.BuildStep = ""
}

// tailFiles returns the last n lines (all if n < 0) of the *.log files in dir.
func tailFiles(dir string, n int) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	sort.Strings(files)
	var lines []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		fh.Close()
	}
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// lastLines returns the last n non-empty lines of s, joined.
func lastLines(lines []string, n int) string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}
