package langruntime

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/kubeless/kubeless/internal/source"

	"github.com/kubeless/kubeless/pkg/contract"
)

// BuildStep names a step of building a function, wherever it runs: the
// local builder's steps (internal/build) and the init containers of a
// function's pod on Kubernetes (internal/render) carry these names, and the
// local engine reports the step in progress in a Function's
// status.buildStep.
type BuildStep string

// The build steps, in the order in which they run.
const (
	// StepPrepare decodes, verifies and unpacks the code.
	StepPrepare BuildStep = "prepare"
	// StepInstall installs the dependencies (PhaseInstallation's image).
	StepInstall BuildStep = "install"
	// StepCompile compiles the function (PhaseCompilation's image).
	StepCompile BuildStep = "compile"
)

// Phase names a step of a function's life: the two build steps and the
// runtime. They run in the order installation, compilation, runtime.
type Phase string

// The phases of a catalog image.
const (
	// PhaseInstallation installs the dependency file (pip, npm, bundler,
	// composer). It runs when the function has dependencies.
	PhaseInstallation Phase = "installation"
	// PhaseCompilation compiles the function (Go). It always runs when the
	// runtime version has it.
	PhaseCompilation Phase = "compilation"
	// PhaseRuntime is the image that serves the function. Required.
	PhaseRuntime Phase = "runtime"
)

// Phases lists the phases in the order in which they run.
var Phases = []Phase{PhaseInstallation, PhaseCompilation, PhaseRuntime}

// Catalog is a parsed runtime-images value.
type Catalog struct {
	// Runtimes in catalog order; that order is the order of Names.
	Runtimes []Runtime
	// Warnings are notes about the input that is accepted but deprecated:
	// one per runtime given in the legacy form.
	Warnings []string
	// RefuseOldNames turns off the mapping of the original's runtime
	// strings (python3.7, nodejs12 ...) onto the nearest version: Lookup
	// then refuses them as unknown runtimes.
	RefuseOldNames bool
}

// Runtime is one language of the catalog.
type Runtime struct {
	// ID is the language part of a runtime string: letters, "_" and "-"
	// only, so that the version can follow it ("python" of "python3.11").
	ID string `json:"ID"`
	// DepName is the dependency file's name in the install volume, "" if
	// the language has none.
	DepName string `json:"depName"`
	// FileNameSuffix is appended to the handler's module to name the code
	// file, when the code is not an archive (".py").
	FileNameSuffix string `json:"fileNameSuffix"`
	// LivenessProbeInfo is a Kubernetes core/v1 Probe (JSON) replacing the
	// default liveness probe, or nil. It is kept as raw JSON so that this
	// package does not depend on Kubernetes types.
	LivenessProbeInfo json.RawMessage `json:"livenessProbeInfo,omitempty"`
	Versions          []Version       `json:"versions"`
}

// Version is one version of a language.
type Version struct {
	// Name is informational ("python311").
	Name string `json:"name"`
	// Version is digits and dots ("3.11"); ID+Version is the runtime string.
	Version string `json:"version"`
	// ImagePullSecrets are added to the pods of the functions of this version.
	ImagePullSecrets []ImageSecret `json:"imagePullSecrets,omitempty"`
	// Images has at most one image per phase; the runtime phase is required.
	Images []Image `json:"images"`
}

// ImageSecret names an image pull secret.
type ImageSecret struct {
	ImageSecret string `json:"imageSecret"`
}

// Image is the image, command and environment of one phase.
type Image struct {
	Phase Phase  `json:"phase"`
	Image string `json:"image"`
	// Command is run with `sh -c` in the build phases, unchanged; user values
	// reach it only as environment variables.
	Command string `json:"command,omitempty"`
	// Env values may refer to $(KUBELESS_INSTALL_VOLUME) (Kubernetes syntax).
	Env map[string]string `json:"env,omitempty"`
	// Secrets are mounted into the build phase's container at
	// /var/run/secrets/kubeless.io/<name>.
	Secrets []Secret `json:"secrets,omitempty"`
}

// Secret names a Kubernetes Secret.
type Secret struct {
	Name string `json:"name"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string
	Value string
}

// String returns "NAME=value".
func (e EnvVar) String() string { return e.Name + "=" + e.Value }

// Entry is a runtime version found by Catalog.Lookup.
type Entry struct {
	Runtime *Runtime
	Version *Version
	// Requested is the runtime string asked for when it is a name of the
	// original's catalog that runs on this version ("python3.7"), and ""
	// when the version was found by its own name.
	Requested string
}

// Substitution says which version serves an original runtime name,
// "python3.7 runs on python3.9", and is "" when the runtime was found by
// its own name.
func (e Entry) Substitution() string {
	if e.Requested == "" {
		return ""
	}
	return e.Requested + " runs on " + e.Name()
}

// Name returns the runtime string, ID followed by version ("python3.11").
func (e Entry) Name() string { return e.Runtime.ID + e.Version.Version }

// Image returns the image of phase p, if the version has one.
func (e Entry) Image(p Phase) (Image, bool) {
	for _, img := range e.Version.Images {
		if img.Phase == p {
			return img, true
		}
	}
	return Image{}, false
}

// PhaseEnv returns the catalog environment of phase p sorted by name, with
// $(KUBELESS_INSTALL_VOLUME) replaced by installVolume. It is nil when the
// version has no such phase.
func (e Entry) PhaseEnv(p Phase, installVolume string) []EnvVar {
	img, ok := e.Image(p)
	if !ok {
		return nil
	}
	return ExpandEnv(img.SortedEnv(), map[string]string{contract.EnvInstallVolume: installVolume})
}

// RuntimeEnv returns the environment of the function's process:
// KUBELESS_INSTALL_VOLUME=installVolume, then the runtime phase's catalog
// environment sorted by name and expanded (PYTHONPATH, NODE_PATH, GEM_HOME).
func (e Entry) RuntimeEnv(installVolume string) []EnvVar {
	return append([]EnvVar{{Name: contract.EnvInstallVolume, Value: installVolume}}, e.PhaseEnv(PhaseRuntime, installVolume)...)
}

// SortedEnv returns the image's environment sorted by name, unexpanded (for
// a Kubernetes container, which expands $(VAR) itself).
func (img Image) SortedEnv() []EnvVar {
	if len(img.Env) == 0 {
		return nil
	}
	env := make([]EnvVar, 0, len(img.Env))
	for k, v := range img.Env {
		env = append(env, EnvVar{Name: k, Value: v})
	}
	sort.Slice(env, func(i, j int) bool { return env[i].Name < env[j].Name })
	return env
}

// DepsFile returns the dependency file's path in installVolume (a slash
// path, "/kubeless/requirements.txt"), or "" when the language has none.
func (r *Runtime) DepsFile(installVolume string) string {
	if r.DepName == "" {
		return ""
	}
	return path.Join(installVolume, r.DepName)
}

// FileName returns the name of the code file of module in the install
// volume. As in the original, FileNameSuffix is added only when the code is
// not an archive ("hello" → "hello.py"); an archive brings its own names and
// the module is returned unchanged.
func (r *Runtime) FileName(module string, ct source.ContentType) string {
	if ct.IsArchive() {
		return module
	}
	return module + r.FileNameSuffix
}

// Names returns every runtime string (ID followed by version) in catalog
// order.
func (c *Catalog) Names() []string {
	var names []string
	for _, r := range c.Runtimes {
		for _, v := range r.Versions {
			names = append(names, r.ID+v.Version)
		}
	}
	return names
}

// InvalidRuntimeError is returned by Lookup for a runtime that is not in the
// catalog. Its text is the original Kubeless CLI message, byte for byte:
// "Invalid runtime: <rt>. Supported runtimes are: <list>".
type InvalidRuntimeError struct {
	Runtime   string
	Supported []string
}

func (e *InvalidRuntimeError) Error() string {
	return fmt.Sprintf("Invalid runtime: %s. Supported runtimes are: %s", e.Runtime, strings.Join(e.Supported, ", "))
}

// Lookup finds the runtime version whose ID followed by its version equals
// rt exactly ("python3.11"). A runtime string of the original's catalog
// that is not in c ("python3.7", "nodejs12", "go1.14") gives the nearest
// version of its language, with Entry.Requested set, unless
// c.RefuseOldNames. Otherwise it returns an *InvalidRuntimeError.
func (c *Catalog) Lookup(rt string) (Entry, error) {
	for i := range c.Runtimes {
		r := &c.Runtimes[i]
		if !strings.HasPrefix(rt, r.ID) {
			continue
		}
		for j := range r.Versions {
			if r.ID+r.Versions[j].Version == rt {
				return Entry{Runtime: r, Version: &r.Versions[j]}, nil
			}
		}
	}
	if !c.RefuseOldNames && originalNames[rt] {
		id, version, _ := SplitRuntime(rt)
		for i := range c.Runtimes {
			r := &c.Runtimes[i]
			if r.ID != id || len(r.Versions) == 0 {
				continue
			}
			return Entry{Runtime: r, Version: nearest(r, version), Requested: rt}, nil
		}
	}
	return Entry{}, &InvalidRuntimeError{Runtime: rt, Supported: c.Names()}
}

var (
	runtimeIDRe      = regexp.MustCompile(`^[a-zA-Z_-]+`)
	runtimeVersionRe = regexp.MustCompile(`[0-9.]+$`)
	validIDRe        = regexp.MustCompile(`^[a-zA-Z_-]+$`)
	validVersionRe   = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)
)

// SplitRuntime splits a runtime string into its ID (the leading match of
// ^[a-zA-Z_-]+) and version (the trailing match of [0-9.]+$), as the
// original did: "go1.26" → "go", "1.26"; "nodejs_distroless8" →
// "nodejs_distroless", "8". ok is false when either part is missing or they
// do not make up the whole string.
func SplitRuntime(rt string) (id, version string, ok bool) {
	id = runtimeIDRe.FindString(rt)
	version = runtimeVersionRe.FindString(rt)
	if id == "" || version == "" || id+version != rt {
		return id, version, false
	}
	return id, version, true
}

// Marshal returns the catalog as the JSON value of runtime-images, in the
// current form (legacy input comes out converted to phases).
func (c *Catalog) Marshal() ([]byte, error) {
	rts := c.Runtimes
	if rts == nil {
		rts = []Runtime{}
	}
	return json.MarshalIndent(rts, "", "  ")
}
