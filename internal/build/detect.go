package build

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kubeless/kubeless/internal/langruntime"
)

// Local says whether this machine can build and run one runtime version of
// the catalog, for `kubeless runtime ls`.
type Local struct {
	// Runtime is the runtime string ("python3.11").
	Runtime string
	// Command is the interpreter or compiler that was found ("python3.11",
	// "node", "ruby", "php", "go"), or the first one looked for.
	Command string
	// Path is the Command's path; "" when none was found.
	Path string
	// Version is the local version ("3.11.7"); "" when unknown.
	Version string
	// Match reports that Version matches the catalog's: major.minor for
	// python, ruby, php and go, the major version for nodejs.
	Match bool
	// Installer is the tool of the installation phase when it is a command
	// of its own ("npm", "bundle", "composer"), and InstallerPath its path
	// ("" when not found).
	Installer     string
	InstallerPath string
	// Problem says why the runtime cannot run here; "" when it can.
	Problem string
}

// OK reports whether the runtime can be built and run on this machine.
func (l Local) OK() bool { return l.Problem == "" }

// localLanguage says how to find a language's local interpreter.
type localLanguage struct {
	prefix    string
	commands  func(version string) []string
	args      []string
	parts     int // version parts that must match
	installer string
	// self are the arguments that make the interpreter print the path of
	// its own executable (none for a compiler).
	self []string
}

var localLanguages = []localLanguage{
	// The catalog runs "python3.X -m pip", so only that command will do.
	{prefix: "python", commands: func(v string) []string { return []string{"python" + v} }, args: []string{"--version"}, parts: 2,
		self: []string{"-c", "import sys; print(sys.executable)"}},
	{prefix: "nodejs", commands: func(string) []string { return []string{"node", "nodejs"} }, args: []string{"--version"}, parts: 1, installer: "npm",
		self: []string{"-p", "process.execPath"}},
	{prefix: "ruby", commands: func(v string) []string { return []string{"ruby" + v, "ruby"} }, args: []string{"--version"}, parts: 2, installer: "bundle",
		self: []string{"-e", "puts RbConfig.ruby"}},
	{prefix: "php", commands: func(v string) []string { return []string{"php" + v, "php"} }, args: []string{"-r", "echo PHP_VERSION;"}, parts: 2, installer: "composer",
		self: []string{"-r", "echo PHP_BINARY;"}},
	{prefix: "go", commands: func(string) []string { return []string{"go"} }, args: []string{"version"}, parts: 2},
}

var versionRe = regexp.MustCompile(`[0-9]+(\.[0-9]+)+`)

// Detector finds local interpreters. Its zero value uses exec.LookPath and
// runs the commands; tests replace both.
type Detector struct {
	// LookPath finds a command on PATH; nil means exec.LookPath.
	LookPath func(file string) (string, error)
	// Output runs a command and returns its standard output and error;
	// nil means exec.CommandContext(…).CombinedOutput with a 10 s limit.
	Output func(ctx context.Context, path string, args ...string) ([]byte, error)
}

type probe struct {
	version string
	err     error
}

// Detect reports, for every runtime version of cat in catalog order,
// whether this machine has its interpreter or compiler in a matching
// version. Each command runs at most once.
func (d Detector) Detect(ctx context.Context, cat *langruntime.Catalog) []Local {
	lookPath := d.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	output := d.Output
	if output == nil {
		output = runOutput
	}
	probes := map[string]probe{}
	run := func(path string, args []string) probe {
		k := path + "\x00" + strings.Join(args, "\x00")
		if p, ok := probes[k]; ok {
			return p
		}
		out, err := output(ctx, path, args...)
		p := probe{err: err}
		if err == nil {
			p.version = versionRe.FindString(string(out))
			if p.version == "" {
				p.err = fmt.Errorf("no version in its output %q", firstLine(out))
			}
		} else if line := firstLine(out); line != "" {
			p.err = fmt.Errorf("%v: %s", err, line)
		}
		probes[k] = p
		return p
	}
	var out []Local
	for _, rt := range cat.Runtimes {
		lang, ok := findLanguage(rt.ID)
		for _, v := range rt.Versions {
			l := Local{Runtime: rt.ID + v.Version}
			if !ok {
				l.Problem = fmt.Sprintf("no local detection for %q runtimes", rt.ID)
				out = append(out, l)
				continue
			}
			d.detectOne(&l, lang, v.Version, lookPath, run)
			if lang.installer != "" {
				l.Installer = lang.installer
				l.InstallerPath, _ = lookPath(lang.installer)
				if l.InstallerPath == "" && l.Problem == "" {
					l.Problem = lang.installer + " not found on PATH"
				}
			}
			out = append(out, l)
		}
	}
	return out
}

func (d Detector) detectOne(l *Local, lang localLanguage, want string, lookPath func(string) (string, error), run func(string, []string) probe) {
	cmds := lang.commands(want)
	l.Command = cmds[0]
	var problems []string
	found := false
	for _, c := range cmds {
		path, err := lookPath(c)
		if err != nil {
			problems = append(problems, c+" not found on PATH")
			continue
		}
		p := run(path, lang.args)
		if p.err != nil {
			problems = append(problems, fmt.Sprintf("%s does not run: %v", path, p.err))
			continue
		}
		if !found {
			found = true
			l.Command, l.Path, l.Version = c, path, p.version
		}
		if versionMatches(p.version, want, lang.parts) {
			l.Command, l.Path, l.Version, l.Match = c, path, p.version, true
			return
		}
	}
	if found {
		l.Problem = fmt.Sprintf("%s is version %s, not %s", l.Command, l.Version, want)
		return
	}
	l.Problem = strings.Join(problems, "; ")
}

func findLanguage(id string) (localLanguage, bool) {
	for _, l := range localLanguages {
		if strings.HasPrefix(id, l.prefix) {
			return l, true
		}
	}
	return localLanguage{}, false
}

// versionMatches compares the first parts of two dotted versions; a catalog
// version with fewer parts compares only those.
func versionMatches(local, catalog string, parts int) bool {
	lp := strings.Split(local, ".")
	cp := strings.Split(catalog, ".")
	if len(cp) < parts {
		parts = len(cp)
	}
	if len(lp) < parts {
		return false
	}
	for i := 0; i < parts; i++ {
		if lp[i] != cp[i] {
			return false
		}
	}
	return true
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func runOutput(ctx context.Context, path string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = nil
	return cmd.CombinedOutput()
}

// DetectOne reports whether this machine can run runtime version e.
func (d Detector) DetectOne(ctx context.Context, e langruntime.Entry) Local {
	v := *e.Version
	rt := *e.Runtime
	rt.Versions = []langruntime.Version{v}
	return d.Detect(ctx, &langruntime.Catalog{Runtimes: []langruntime.Runtime{rt}})[0]
}

// Executable returns the interpreter that l found as the executable that
// runs in the end: a version manager's shim (pyenv, rbenv, asdf) is a
// script that chooses and execs the real interpreter each time it runs,
// which costs more than the interpreter's own start (about 100 ms for a
// pyenv shim); the interpreter itself says where it is. It returns l.Path
// when the interpreter does not say, or names no executable file.
func (d Detector) Executable(ctx context.Context, runtimeID string, l Local) string {
	lang, ok := findLanguage(runtimeID)
	if !ok || len(lang.self) == 0 || l.Path == "" || !l.OK() {
		return l.Path
	}
	output := d.Output
	if output == nil {
		output = runOutput
	}
	out, err := output(ctx, l.Path, lang.self...)
	if err != nil {
		return l.Path
	}
	p := firstLine(out)
	if !filepath.IsAbs(p) {
		return l.Path
	}
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return l.Path
	}
	return p
}
