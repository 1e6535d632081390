package function

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/cron"
	"github.com/kubeless/kubeless/internal/fnspec"
	"github.com/kubeless/kubeless/internal/source"

	"github.com/kubeless/kubeless/pkg/contract"
)

// DeployOptions are the flags of deploy and update.
type DeployOptions struct {
	IO     *iostreams.IOStreams
	Engine EngineFunc

	// Update is true for `function update`: only the flags in Changed apply.
	Update bool
	// Kubernetes is true on the Kubernetes engine, which honours
	// --runtime-image and --secrets.
	Kubernetes bool
	// Changed holds the names of the flags given on the command line.
	Changed map[string]bool

	Name         string
	Namespace    string
	Runtime      string
	Handler      string
	FromFile     string
	Dependencies string
	Env          []string
	Labels       []string
	Timeout      string
	Port         int32
	Memory       string
	CPU          string
	Replicas     int32
	// ScaleToZero sets an autoscaler with minReplicas 0 (IdleWindow, when
	// > 0, its idle window); on update, --scale-to-zero=false sets 1.
	ScaleToZero bool
	IdleWindow  time.Duration
	Wait        bool
	WaitTimeout time.Duration
	// Schedule (deploy only) also creates a cron trigger named like the
	// function.
	Schedule string
	// RuntimeImage and Secrets are flags of the original that only the
	// Kubernetes engine can honour: the image of the function container,
	// and Secrets mounted at /<secret> (volume <secret>-vol).
	RuntimeImage string
	Secrets      []string
	// Flags of the original for the Kubernetes objects, refused on the
	// local engine: the pods' node selector, service account and image
	// pull policy, a headless Service, and the Service's port when it
	// differs from --port (0: the same).
	NodeSelectors   []string
	ServiceAccount  string
	ImagePullPolicy string
	Headless        bool
	ServicePort     int32
	// EnvFromSecrets and EnvFromConfigMaps are NAME (every key of the
	// object becomes a variable, envFrom) or NAME:KEY (the variable KEY
	// from that key, valueFrom). Kubernetes engine only.
	EnvFromSecrets    []string
	EnvFromConfigMaps []string
	// DryRun prints the Function (for update: as it would be after the
	// update) in Output (yaml or json) and sends nothing.
	DryRun bool
	Output string

	// PollInterval is how often the wait asks for the status; 0 means 300ms.
	PollInterval time.Duration
}

// NewCmdDeploy returns `function deploy`.
func NewCmdDeploy(f *Factory, runF func(*DeployOptions) error) *cobra.Command {
	return newCmdDeployOrUpdate(f, runF, false)
}

// NewCmdUpdate returns `function update`.
func NewCmdUpdate(f *Factory, runF func(*DeployOptions) error) *cobra.Command {
	return newCmdDeployOrUpdate(f, runF, true)
}

func newCmdDeployOrUpdate(f *Factory, runF func(*DeployOptions) error, update bool) *cobra.Command {
	opts := &DeployOptions{IO: f.IOStreams, Engine: f.Engine, Update: update}
	verb := "deploy"
	short := "Deploy a function: build it and start its instances"
	example := `  kubeless function deploy hello --runtime python3.11 --handler hello.foo --from-file hello.py
  kubeless function deploy deps --runtime nodejs20 --handler deps.handler --from-file deps.js --dependencies package.json`
	if update {
		verb = "update"
		short = "Update a function: only the flags given change"
		example = `  kubeless function update hello --from-file hello.py
  kubeless function update hello --env GREETING=hi --replicas 2`
	}
	cmd := &cobra.Command{
		Use:     verb + " <name> [flags]",
		Short:   short,
		Example: example,
		Args:    cmdutil.ExactArgs(1, verb+": the function name is required, for example: kubeless function "+verb+" hello"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Kubernetes = f.UsesKubernetes()
			opts.Changed = map[string]bool{}
			c.Flags().Visit(func(fl *pflag.Flag) { opts.Changed[fl.Name] = true })
			if err := opts.check(c); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return deployRun(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	addNamespaceFlag(cmd, &opts.Namespace)
	fl.StringVarP(&opts.Runtime, "runtime", "r", "", "Runtime of the function, for example python3.11 (see kubeless get-server-config)")
	fl.StringVar(&opts.Handler, "handler", "", "Function to call, as <file name without suffix>.<function>, for example hello.foo")
	fl.StringVarP(&opts.FromFile, "from-file", "f", "", "File (or http(s) URL) with the function's code; a .zip or .tar.gz is an archive")
	fl.StringVarP(&opts.Dependencies, "dependencies", "d", "", "Dependency file (requirements.txt, package.json, Gemfile, composer.json, go.mod)")
	fl.StringSliceVarP(&opts.Env, "env", "e", nil, "Environment variable NAME=value or NAME:value (repeatable, or comma-separated)")
	fl.StringSliceVarP(&opts.Labels, "label", "l", nil, "Label key=value or key:value (repeatable, or comma-separated)")
	fl.StringVar(&opts.Timeout, "timeout", strconv.Itoa(contract.DefaultTimeoutSeconds), "Longest a call may take, in seconds")
	fl.Int32Var(&opts.Port, "port", contract.DefaultPort, "Port the function listens on (1-65535)")
	fl.StringVar(&opts.Memory, "memory", "", "Memory limit, for example 128Mi")
	fl.StringVar(&opts.CPU, "cpu", "", "CPU limit, for example 200m")
	fl.Int32Var(&opts.Replicas, "replicas", 1, "Number of instances")
	fl.BoolVar(&opts.ScaleToZero, "scale-to-zero", false, "Stop the last instance when the function is idle and start one for the next call (on Kubernetes through the kubeless-activator); with no autoscaler, scale from 0 to --replicas instances on calls in flight")
	fl.DurationVar(&opts.IdleWindow, "idle-window", 0, "How long without a call before the last instance stops (implies --scale-to-zero; default: the engine's, 60s)")
	fl.BoolVar(&opts.Wait, "wait", true, "Wait until the function is ready or has failed")
	fl.DurationVar(&opts.WaitTimeout, "wait-timeout", 10*time.Minute, "Longest time to wait with --wait")
	fl.StringVar(&opts.RuntimeImage, "runtime-image", "", "Image that runs the function (Kubernetes engine only)")
	fl.StringSliceVar(&opts.Secrets, "secrets", nil, "Secrets mounted at /<secret> in the function (Kubernetes engine only)")
	fl.StringSliceVar(&opts.NodeSelectors, "node-selectors", nil, "Node labels key=value the function's pods must run on (Kubernetes engine only)")
	fl.StringVar(&opts.ServiceAccount, "service-account", "", "Service account of the function's pods (Kubernetes engine only; the cluster's function-pod-allow must list serviceAccount)")
	fl.StringVar(&opts.ImagePullPolicy, "image-pull-policy", "", "Pull policy of the function's image: Always, IfNotPresent or Never (Kubernetes engine only; default: the cluster's image-pull-policy)")
	fl.BoolVar(&opts.Headless, "headless", false, "Make the function's Service headless (clusterIP None; Kubernetes engine only)")
	fl.Int32Var(&opts.ServicePort, "servicePort", 0, "Port of the function's Service, when it differs from --port (Kubernetes engine only; 0: the same as --port)")
	fl.StringSliceVar(&opts.EnvFromSecrets, "env-from-secret", nil, "Environment from a Secret: NAME (every key becomes a variable) or NAME:KEY (the variable KEY) (repeatable; Kubernetes engine only)")
	fl.StringSliceVar(&opts.EnvFromConfigMaps, "env-from-configmap", nil, "Environment from a ConfigMap: NAME (every key becomes a variable) or NAME:KEY (the variable KEY) (repeatable; Kubernetes engine only)")
	fl.BoolVar(&opts.DryRun, "dryrun", false, "Print the function instead of sending it (update: as it would be after the update)")
	fl.StringVarP(&opts.Output, "output", "o", "yaml", "Output format of --dryrun: json or yaml")
	if !update {
		fl.StringVar(&opts.Schedule, "schedule", "", "Also call the function on this cron schedule, for example '*/5 * * * *' or '@every 1m' (a cron trigger named like the function)")
	}
	return cmd
}

// check validates the flags; its errors are FlagErrors (usage, exit 2).
func (o *DeployOptions) check(c *cobra.Command) error {
	// The local engine runs functions from their code, as processes of this
	// machine: it has no images to run and no secrets to mount.
	if !o.Kubernetes {
		if o.RuntimeImage != "" {
			return cmdutil.FlagErrorf(c, "--runtime-image needs the Kubernetes engine: the local engine runs functions from their code (use --runtime and --from-file)")
		}
		if len(o.Secrets) > 0 {
			return cmdutil.FlagErrorf(c, "--secrets needs the Kubernetes engine: the local engine has no secrets to mount (pass values with --env)")
		}
		for _, r := range localRefusals {
			if o.Changed[r.flag] {
				return cmdutil.FlagErrorf(c, "--%s needs the Kubernetes engine: %s", r.flag, r.why)
			}
		}
	}
	if err := o.checkKubernetesFlags(c); err != nil {
		return err
	}
	for _, sec := range o.Secrets {
		if errs := validation.IsDNS1123Subdomain(sec); len(errs) > 0 {
			return cmdutil.FlagErrorf(c, "invalid --secrets %q: give the name of a Secret of the function's namespace", sec)
		}
	}
	if !o.Update {
		if o.Runtime == "" && o.RuntimeImage == "" {
			return cmdutil.FlagErrorf(c, "Either `--runtime` or `--runtime-image` flag must be specified.")
		}
		// With only --runtime-image the image holds the function.
		if o.Runtime != "" && o.Handler == "" {
			return cmdutil.FlagErrorf(c, "%s", fnspec.ErrNoHandler)
		}
		if o.Runtime != "" && o.FromFile == "" {
			return cmdutil.FlagErrorf(c, "--from-file is required: the file with the function's code, for example --from-file hello.py")
		}
	}
	// The handler's form is checked here, before any code is read, by the
	// validator the engines use: the same message on every path. It is a
	// bad value, not a misuse of the command: exit 1 without the usage, as
	// when an engine refuses it.
	if o.given("handler") && o.Handler != "" {
		if _, err := fnspec.Validate(fnspec.Spec{Handler: o.Handler}, nil); err != nil {
			return handlerError(o.Handler, err)
		}
	}
	if o.Schedule != "" {
		if _, err := cron.Parse(o.Schedule); err != nil {
			return err // "invalid cron schedule ...: <why>; <accepted forms>"
		}
	}
	if o.Port < 1 || o.Port > 65535 {
		return cmdutil.FlagErrorf(c, "invalid --port %d: use 1-65535", o.Port)
	}
	if o.Changed["idle-window"] {
		if o.IdleWindow <= 0 {
			return cmdutil.FlagErrorf(c, "invalid --idle-window %s: use a positive duration such as 90s or 5m", o.IdleWindow)
		}
		if o.Changed["scale-to-zero"] && !o.ScaleToZero {
			return cmdutil.FlagErrorf(c, "--idle-window needs --scale-to-zero: only a function that may run no instance has an idle window")
		}
		o.ScaleToZero = true
	}
	if o.Replicas < 0 {
		return cmdutil.FlagErrorf(c, "invalid --replicas %d: use 0 or more", o.Replicas)
	}
	if o.Timeout == "" || strings.Trim(o.Timeout, "0123456789") != "" {
		return cmdutil.FlagErrorf(c, "invalid --timeout %q: give a whole number of seconds, for example --timeout 180", o.Timeout)
	}
	for _, q := range []struct{ flag, v string }{{"memory", o.Memory}, {"cpu", o.CPU}} {
		if q.v != "" {
			if _, err := resource.ParseQuantity(q.v); err != nil {
				return cmdutil.FlagErrorf(c, "invalid --%s %q: use a quantity such as 128Mi or 200m", q.flag, q.v)
			}
		}
	}
	for _, kv := range append(append([]string(nil), o.Env...), o.Labels...) {
		if k, _ := splitKV(kv); k == "" {
			return cmdutil.FlagErrorf(c, "invalid key/value %q: use key=value", kv)
		}
	}
	return nil
}

func (o *DeployOptions) given(flag string) bool { return !o.Update || o.Changed[flag] }

// splitKV splits at the first '=' or ':' (a bare key gets "").
func splitKV(s string) (string, string) {
	i := strings.IndexAny(s, "=:")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// readSource reads a local file or downloads an http(s) URL.
func readSource(ctx context.Context, name string) ([]byte, error) {
	if source.IsURL(name) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, name, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("download %s: %s", name, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	}
	return os.ReadFile(name)
}

// Function builds the Function (for update: the patch) from the options.
func (o *DeployOptions) Function(ctx context.Context) (*v1beta1.Function, error) {
	fn := &v1beta1.Function{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "Function"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace},
	}
	fn.Spec.Runtime = o.Runtime
	fn.Spec.Handler = o.Handler
	if o.given("timeout") {
		fn.Spec.Timeout = o.Timeout
	}
	if o.FromFile != "" {
		if source.IsURL(o.FromFile) {
			fn.Spec.Function = o.FromFile
			fn.Spec.FunctionContentType = source.DetectContentType(o.FromFile, nil).String()
		} else {
			code, err := os.ReadFile(o.FromFile)
			if err != nil {
				return nil, fmt.Errorf("read --from-file: %w", err)
			}
			ct := source.DetectContentType(filepath.Base(o.FromFile), code)
			fn.Spec.FunctionContentType = ct.String()
			fn.Spec.Checksum = source.Checksum(code)
			if ct.Encoding == source.EncodingText {
				fn.Spec.Function = string(code)
			} else {
				fn.Spec.Function = base64.StdEncoding.EncodeToString(code)
			}
		}
	}
	if o.Dependencies != "" {
		deps, err := readSource(ctx, o.Dependencies)
		if err != nil {
			return nil, fmt.Errorf("read --dependencies: %w", err)
		}
		fn.Spec.Deps = string(deps)
	}
	if len(o.Labels) > 0 {
		fn.Labels = map[string]string{}
		for _, kv := range o.Labels {
			k, v := splitKV(kv)
			fn.Labels[k] = v
		}
	}
	fn.Spec.ServiceSpec.Ports = o.servicePorts()
	if o.Headless && !o.Update {
		fn.Spec.ServiceSpec.ClusterIP = corev1.ClusterIPNone
	}
	d := &appsv1.Deployment{}
	touched := o.podFlags(d)
	if o.given("replicas") {
		r := o.Replicas
		d.Spec.Replicas = &r
		touched = true
	}
	var c corev1.Container
	for _, kv := range o.Env {
		k, v := splitKV(kv)
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: v})
	}
	if o.Memory != "" || o.CPU != "" {
		rl := corev1.ResourceList{}
		if o.Memory != "" {
			rl[corev1.ResourceMemory] = resource.MustParse(o.Memory)
		}
		if o.CPU != "" {
			rl[corev1.ResourceCPU] = resource.MustParse(o.CPU)
		}
		c.Resources = corev1.ResourceRequirements{Limits: rl, Requests: rl.DeepCopy()}
	}
	c.Image = o.RuntimeImage
	c.ImagePullPolicy = corev1.PullPolicy(o.ImagePullPolicy)
	o.envFrom(&c)
	for _, sec := range o.Secrets {
		vol := sec + "-vol"
		d.Spec.Template.Spec.Volumes = append(d.Spec.Template.Spec.Volumes, corev1.Volume{
			Name: vol, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: sec}},
		})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: "/" + sec})
	}
	if len(c.Env) > 0 || len(c.EnvFrom) > 0 || len(c.Resources.Limits) > 0 || c.Image != "" || c.ImagePullPolicy != "" || len(c.VolumeMounts) > 0 {
		d.Spec.Template.Spec.Containers = []corev1.Container{c}
		touched = true
	}
	if touched {
		if err := fn.Spec.SetDeploymentTemplate(d); err != nil {
			return nil, err
		}
	}
	if !o.Update && o.ScaleToZero {
		h := backend.ScaleToZeroAutoscaler(o.Namespace, o.Name, nil, o.Replicas, true, o.IdleWindow)
		if err := fn.Spec.SetAutoscaler(h); err != nil {
			return nil, err
		}
	}
	return fn, nil
}

// scaleToZeroPatch adds to the update patch fn the function's autoscaler
// with the --scale-to-zero and --idle-window of the command line.
func (o *DeployOptions) scaleToZeroPatch(ctx context.Context, cl backend.Engine, fn *v1beta1.Function) error {
	if !o.Changed["scale-to-zero"] && !o.Changed["idle-window"] {
		return nil
	}
	cur, err := cl.Get(ctx, o.Namespace, o.Name)
	if err != nil {
		if backend.IsNotFound(err) {
			return fmt.Errorf("Function %s is not found", o.Name)
		}
		return err
	}
	h, err := cur.Spec.Autoscaler()
	if err != nil {
		return err
	}
	maxR := o.Replicas
	if !o.Changed["replicas"] {
		maxR = 1
		if d, err := cur.Spec.DeploymentTemplate(); err == nil && d.Spec.Replicas != nil {
			maxR = *d.Spec.Replicas
		}
	}
	return fn.Spec.SetAutoscaler(backend.ScaleToZeroAutoscaler(o.Namespace, o.Name, h, maxR, o.ScaleToZero, o.IdleWindow))
}

func deployRun(ctx context.Context, o *DeployOptions) error {
	fn, err := o.Function(ctx)
	if err != nil {
		return err
	}
	if o.DryRun {
		return o.dryRun(ctx, fn)
	}
	cl, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	var out *v1beta1.Function
	if o.Update {
		if o.Changed["headless"] {
			cur, err := cl.Get(ctx, o.Namespace, o.Name)
			if backend.IsNotFound(err) {
				return fmt.Errorf("Function %s is not found", o.Name)
			}
			if err != nil {
				return err
			}
			if err := o.checkHeadless(cur); err != nil {
				return err
			}
		}
		if err := o.scaleToZeroPatch(ctx, cl, fn); err != nil {
			return err
		}
		fmt.Fprintln(o.IO.ErrOut, "Redeploying function...")
		out, err = cl.Update(ctx, fn)
		if backend.IsNotFound(err) {
			return fmt.Errorf("Function %s is not found", o.Name)
		}
	} else {
		fmt.Fprintln(o.IO.ErrOut, "Deploying function...")
		out, err = cl.Deploy(ctx, fn)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "Function %s submitted for deployment\n", o.Name)
	if o.Schedule != "" {
		ct := &v1beta1.CronJobTrigger{
			TypeMeta: metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "CronJobTrigger"},
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: map[string]string{
				v1beta1.LabelCreatedBy: v1beta1.CreatedByKubeless, v1beta1.LabelFunction: o.Name}},
			Spec: v1beta1.CronJobTriggerSpec{FunctionName: o.Name, Schedule: o.Schedule},
		}
		if _, err := backend.TriggersOf[v1beta1.CronJobTrigger](cl).Create(ctx, ct); err != nil {
			return fmt.Errorf("function %s is deployed but its schedule is not: %w", o.Name, err)
		}
	}
	if !o.Wait {
		nsArg := ""
		if o.Namespace != "default" {
			nsArg = " -n " + o.Namespace
		}
		fmt.Fprintf(o.IO.ErrOut, "Check the deployment status executing 'kubeless function ls %s%s'\n", o.Name, nsArg)
		return nil
	}
	return waitReady(ctx, o, cl, out.Generation)
}

// FailedError is a deploy whose function ended Failed.
type FailedError struct {
	Name, Reason, Message string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("function %s failed (%s): %s", e.Name, e.Reason, e.Message)
}

// waitReady polls the function until its generation is Ready or failed,
// printing each phase.
func waitReady(ctx context.Context, o *DeployOptions, cl backend.Engine, gen int64) error {
	interval := o.PollInterval
	if interval == 0 {
		interval = 300 * time.Millisecond
	}
	timeout := o.WaitTimeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tty := o.IO.IsStderrTTY()
	last, lastLine := "", ""
	start := time.Now()
	hinted := false
	for {
		fn, err := cl.Get(ctx, o.Namespace, o.Name)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		c := meta.FindStatusCondition(fn.Status.Conditions, v1beta1.ConditionReady)
		if c == nil && !hinted && time.Since(start) > noStatusHint {
			// The local engine sets a status at once; on Kubernetes the
			// controller does.
			fmt.Fprintf(o.IO.ErrOut, "Function %s has no status yet: is the Kubeless controller running?\n", o.Name)
			hinted = true
		}
		if c != nil && fn.Status.ObservedGeneration >= gen {
			if p := progress(c, &fn.Status); p != lastLine {
				last, lastLine = c.Reason, p
				if tty {
					fmt.Fprintf(o.IO.ErrOut, "  %-20s %5.1fs\n", p, time.Since(start).Seconds())
				} else {
					fmt.Fprintln(o.IO.ErrOut, p)
				}
			}
			switch {
			case c.Status == metav1.ConditionTrue:
				fmt.Fprintf(o.IO.ErrOut, "Function %s is ready (%s)\n", o.Name, fn.Status.Ready)
				return nil
			case c.Status == metav1.ConditionFalse && v1beta1.IsFailureReason(c.Reason):
				return &FailedError{Name: o.Name, Reason: c.Reason, Message: c.Message}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
			continue
		}
		break
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if last == "" {
			return fmt.Errorf("function %s is not ready after %s (it has no status yet: is the Kubeless controller running?)", o.Name, timeout)
		}
		return fmt.Errorf("function %s is not ready after %s (last phase %s): see kubeless function logs %s", o.Name, timeout, last, o.Name)
	}
	return ctx.Err()
}

// noStatusHint is how long a wait goes without any status before it says
// that nothing seems to reconcile the function.
var noStatusHint = 20 * time.Second

// progress is the line shown for a condition: its reason, with the build
// step in progress when the engine reports one in status.buildStep
// ("Building (install)"). The condition's message is for people: it is
// never parsed.
func progress(c *metav1.Condition, st *v1beta1.FunctionStatus) string {
	if c.Reason == v1beta1.ReasonBuilding && st.BuildStep != "" {
		return c.Reason + " (" + st.BuildStep + ")"
	}
	return c.Reason
}

// handlerError names the handler in a validator's error that does not
// already name it.
func handlerError(handler string, err error) error {
	if strings.HasPrefix(err.Error(), "handler ") {
		return err
	}
	return fmt.Errorf("handler %q: %w", handler, err)
}
