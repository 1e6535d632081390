// Package enginecmd chooses the engine the kubeless commands use (the
// global --engine flag, KUBELESS_ENGINE, or the default) and holds
// `kubeless engine`, which says which one is in use and why.
//
// The rule: --engine, else KUBELESS_ENGINE, else kubernetes when --context
// is given or a kubeconfig (--kubeconfig, else $KUBECONFIG, else
// ~/.kube/config) has a current-context, else local. On the Kubernetes engine the commands work
// on the cluster of the kubeconfig's current context (internal/kubeengine).
package enginecmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

// Engine names.
const (
	Local      = "local"
	Kubernetes = "kubernetes"
	// EnvEngine names the engine when --engine is not given.
	EnvEngine = "KUBELESS_ENGINE"
)

// Choice is the engine in use and why.
type Choice struct {
	Engine string
	Reason string
}

// Env is what Choose reads of the machine: environment variables, the
// user's home folder and files.
type Env struct {
	Getenv   func(string) string
	Home     string
	ReadFile func(string) ([]byte, error)
	// Kubeconfig and Context are the global --kubeconfig and --context
	// flags, "" when not given: a context given means kubernetes, and a
	// kubeconfig given is the one that is read.
	Kubeconfig string
	Context    string
}

// SystemEnv is the process's environment.
func SystemEnv() Env {
	home, _ := os.UserHomeDir()
	return Env{Getenv: os.Getenv, Home: home, ReadFile: os.ReadFile}
}

// ValidName reports whether name is an engine.
func ValidName(name string) bool { return name == Local || name == Kubernetes }

// Choose applies the rule to flag (the --engine value, "" when not given)
// and env.
func Choose(flag string, env Env) (Choice, error) {
	if flag != "" {
		if !ValidName(flag) {
			return Choice{}, fmt.Errorf("invalid --engine %q: use local or kubernetes", flag)
		}
		return Choice{flag, "--engine " + flag + " was given"}, nil
	}
	if v := strings.TrimSpace(env.Getenv(EnvEngine)); v != "" {
		if !ValidName(v) {
			return Choice{}, fmt.Errorf("invalid %s=%q: use local or kubernetes", EnvEngine, v)
		}
		return Choice{v, EnvEngine + "=" + v + " is set"}, nil
	}
	if env.Context != "" {
		return Choice{Kubernetes, "--context " + env.Context + " was given"}, nil
	}
	var files []string
	source := ""
	if env.Kubeconfig != "" {
		files = []string{env.Kubeconfig}
		source = "--kubeconfig"
	} else if kc := env.Getenv("KUBECONFIG"); kc != "" {
		files = filepath.SplitList(kc)
		source = "KUBECONFIG"
	} else if env.Home != "" {
		files = []string{filepath.Join(env.Home, ".kube", "config")}
		source = "~/.kube/config"
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		b, err := env.ReadFile(f)
		if err != nil {
			continue
		}
		var kc struct {
			CurrentContext string `json:"current-context"`
		}
		if yaml.Unmarshal(b, &kc) == nil && kc.CurrentContext != "" {
			return Choice{Kubernetes, fmt.Sprintf("the kubeconfig %s has the current context %q", f, kc.CurrentContext)}, nil
		}
	}
	if source == "" {
		return Choice{Local, "no kubeconfig: KUBECONFIG is not set and there is no home folder"}, nil
	}
	return Choice{Local, "no kubeconfig with a current context (" + source + ")"}, nil
}

// EngineOptions are what `kubeless engine` needs.
type EngineOptions struct {
	IO *iostreams.IOStreams
	// Choose resolves the choice (the root's --engine, --kubeconfig and
	// --context with the machine's environment).
	Choose func() (Choice, error)
}

// NewCmdEngine returns `kubeless engine`; choose resolves the choice.
func NewCmdEngine(f *cmdutil.Factory, choose func() (Choice, error), runF func(*EngineOptions) error) *cobra.Command {
	opts := &EngineOptions{IO: f.IOStreams, Choose: choose}
	return &cobra.Command{
		Use:   "engine",
		Short: "Say which engine runs functions (local or kubernetes) and why",
		Long: `Say which engine runs functions and why. The engine is, in order: the
--engine flag, the KUBELESS_ENGINE variable, kubernetes when --context is
given or a kubeconfig (--kubeconfig, else $KUBECONFIG, else ~/.kube/config)
has a current context, else local.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return engineRun(opts)
		},
	}
}

func engineRun(opts *EngineOptions) error {
	ch, err := opts.Choose()
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Engine: %s\n", ch.Engine)
	fmt.Fprintf(opts.IO.Out, "Why: %s\n", ch.Reason)
	return nil
}
