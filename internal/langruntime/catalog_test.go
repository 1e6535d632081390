package langruntime

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeless/kubeless/internal/source"

	"github.com/kubeless/kubeless/pkg/contract"
)

var defaultNames = []string{
	"python3.9", "python3.10", "python3.11", "python3.12", "python3.13",
	"nodejs18", "nodejs20", "nodejs22",
	"ruby3.0", "ruby3.1", "ruby3.2", "ruby3.3",
	"php8.1", "php8.2", "php8.3",
	"go1.26",
}

func TestDefault(t *testing.T) {
	c := Default()
	if diff := cmp.Diff(defaultNames, c.Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
	for _, name := range c.Names() {
		e, err := c.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		id, version, _ := SplitRuntime(name)
		rt, ok := e.Image(PhaseRuntime)
		if !ok || rt.Image != "kubeless/"+id+":"+version {
			t.Errorf("%s: runtime image = %q, want kubeless/%s:%s", name, rt.Image, id, version)
		}
		for _, p := range []Phase{PhaseInstallation, PhaseCompilation} {
			if img, ok := e.Image(p); ok && img.Image != "kubeless/"+id+"-init:"+version {
				t.Errorf("%s: %s image = %q, want kubeless/%s-init:%s", name, p, img.Image, id, version)
			}
		}
	}
	// The catalog survives a round trip through Marshal unchanged.
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal(Default())): %v", err)
	}
	if diff := cmp.Diff(c, again); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// DefaultJSON is a copy.
	j := DefaultJSON()
	j[0] = 'x'
	if DefaultJSON()[0] != '[' {
		t.Error("DefaultJSON returned the embedded slice")
	}
}

func TestDefaultCommands(t *testing.T) {
	c := Default()
	tests := []struct {
		runtime  string
		phase    Phase
		command  string
		env      []EnvVar // expanded with /kubeless
		absent   Phase
		depsFile string
		file     string
	}{
		{
			runtime: "python3.11", phase: PhaseInstallation,
			command: `python3.11 -m pip install --prefix="$KUBELESS_INSTALL_VOLUME" -r "$KUBELESS_DEPS_FILE"`,
			env:     []EnvVar{{"PIP_DISABLE_PIP_VERSION_CHECK", "1"}, {"PIP_IGNORE_INSTALLED", "1"}, {"PIP_ROOT_USER_ACTION", "ignore"}},
			absent:  PhaseCompilation, depsFile: "/kubeless/requirements.txt", file: "hello.py",
		},
		{
			runtime: "nodejs20", phase: PhaseInstallation, command: "kubeless-npm-install",
			absent: PhaseCompilation, depsFile: "/kubeless/package.json", file: "hello.js",
		},
		{
			runtime: "ruby3.1", phase: PhaseInstallation, command: `bundle install --gemfile="$KUBELESS_DEPS_FILE"`,
			env:    []EnvVar{{"BUNDLE_PATH", "/kubeless"}},
			absent: PhaseCompilation, depsFile: "/kubeless/Gemfile", file: "hello.rb",
		},
		{
			runtime: "php8.2", phase: PhaseInstallation, command: `composer install -d "$KUBELESS_INSTALL_VOLUME"`,
			env:    []EnvVar{{"COMPOSER_NO_INTERACTION", "1"}},
			absent: PhaseCompilation, depsFile: "/kubeless/composer.json", file: "hello.php",
		},
		{
			runtime: "go1.26", phase: PhaseCompilation, command: "kubeless-go-compile",
			absent: PhaseInstallation, depsFile: "/kubeless/go.mod", file: "hello.go",
		},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			e, err := c.Lookup(tt.runtime)
			if err != nil {
				t.Fatal(err)
			}
			img, ok := e.Image(tt.phase)
			if !ok {
				t.Fatalf("no %s phase", tt.phase)
			}
			if img.Command != tt.command {
				t.Errorf("command = %q, want %q", img.Command, tt.command)
			}
			if diff := cmp.Diff(tt.env, e.PhaseEnv(tt.phase, "/kubeless")); diff != "" {
				t.Errorf("PhaseEnv (-want +got):\n%s", diff)
			}
			if _, ok := e.Image(tt.absent); ok {
				t.Errorf("unexpected %s phase", tt.absent)
			}
			if got := e.Runtime.DepsFile("/kubeless"); got != tt.depsFile {
				t.Errorf("DepsFile = %q, want %q", got, tt.depsFile)
			}
			if got := e.Runtime.FileName("hello", source.ContentType{Encoding: source.EncodingText}); got != tt.file {
				t.Errorf("FileName = %q, want %q", got, tt.file)
			}
		})
	}
}

func TestRuntimeEnv(t *testing.T) {
	c := Default()
	tests := []struct {
		runtime string
		want    []EnvVar
	}{
		{"python3.11", []EnvVar{{"KUBELESS_INSTALL_VOLUME", "/kubeless"}, {"PYTHONPATH", "/kubeless/lib/python3.11/site-packages:/kubeless/local/lib/python3.11/dist-packages:/kubeless"}}},
		{"python3.9", []EnvVar{{"KUBELESS_INSTALL_VOLUME", "/kubeless"}, {"PYTHONPATH", "/kubeless/lib/python3.9/site-packages:/kubeless/local/lib/python3.9/dist-packages:/kubeless"}}},
		{"nodejs22", []EnvVar{{"KUBELESS_INSTALL_VOLUME", "/kubeless"}, {"NODE_PATH", "/kubeless/node_modules"}}},
		{"ruby3.3", []EnvVar{{"KUBELESS_INSTALL_VOLUME", "/kubeless"}, {"GEM_HOME", "/kubeless/ruby/3.3.0"}}},
		{"php8.3", []EnvVar{{"KUBELESS_INSTALL_VOLUME", "/kubeless"}}},
		{"go1.26", []EnvVar{{"KUBELESS_INSTALL_VOLUME", "/kubeless"}}},
	}
	for _, tt := range tests {
		e, err := c.Lookup(tt.runtime)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, e.RuntimeEnv("/kubeless")); diff != "" {
			t.Errorf("%s RuntimeEnv (-want +got):\n%s", tt.runtime, diff)
		}
	}
	// Several keys come out sorted, whatever the map order.
	img := Image{Env: map[string]string{"Z": "$(KUBELESS_INSTALL_VOLUME)/z", "A": "a", "M": "$$(KUBELESS_INSTALL_VOLUME)"}}
	for i := 0; i < 20; i++ {
		got := ExpandEnv(img.SortedEnv(), map[string]string{contract.EnvInstallVolume: "/v"})
		want := []EnvVar{{"A", "a"}, {"M", "$(KUBELESS_INSTALL_VOLUME)"}, {"Z", "/v/z"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("sorted env (-want +got):\n%s", diff)
		}
	}
}

func TestLookup(t *testing.T) {
	c := Default()
	e, err := c.Lookup("python3.11")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name() != "python3.11" || e.Runtime.ID != "python" || e.Version.Version != "3.11" {
		t.Errorf("Lookup(python3.11) = %s (%s, %s)", e.Name(), e.Runtime.ID, e.Version.Version)
	}
	want := "Invalid runtime: python2.6. Supported runtimes are: " + strings.Join(defaultNames, ", ")
	for _, rt := range []string{"python2.6", "python3.1", "python", "3.11", "", "Python3.11", "python3.11 "} {
		_, err := c.Lookup(rt)
		var ire *InvalidRuntimeError
		if !errors.As(err, &ire) {
			t.Fatalf("Lookup(%q) error = %v, want *InvalidRuntimeError", rt, err)
		}
		if rt == "python2.6" && err.Error() != want {
			t.Errorf("Lookup(python2.6) error =\n%q, want\n%q", err, want)
		}
	}
	// IDs that are prefixes of each other.
	cat, err := Parse([]byte(`[
		{"ID": "nodejs", "versions": [{"version": "8", "images": [{"phase": "runtime", "image": "a"}]}]},
		{"ID": "nodejs_distroless", "versions": [{"version": "8", "images": [{"phase": "runtime", "image": "b"}]}]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	e, err = cat.Lookup("nodejs_distroless8")
	if err != nil || e.Runtime.ID != "nodejs_distroless" {
		t.Errorf("Lookup(nodejs_distroless8) = %v, %v", e.Runtime, err)
	}
	if _, err := cat.Lookup("nodejs9"); err == nil || err.Error() != "Invalid runtime: nodejs9. Supported runtimes are: nodejs8, nodejs_distroless8" {
		t.Errorf("Lookup(nodejs9) error = %v", err)
	}
}

func TestSplitRuntime(t *testing.T) {
	tests := []struct {
		in, id, version string
		ok              bool
	}{
		{"python3.11", "python", "3.11", true},
		{"go1.26", "go", "1.26", true},
		{"java11", "java", "11", true},
		{"ballerina0.981.0", "ballerina", "0.981.0", true},
		{"nodejs_distroless8", "nodejs_distroless", "8", true},
		{"dotnet-core3.1", "dotnet-core", "3.1", true},
		{"python", "python", "", false},
		{"3.11", "", "3.11", false},
		{"py3thon3.11", "py", "3.11", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		id, version, ok := SplitRuntime(tt.in)
		if id != tt.id || version != tt.version || ok != tt.ok {
			t.Errorf("SplitRuntime(%q) = %q, %q, %v; want %q, %q, %v", tt.in, id, version, ok, tt.id, tt.version, tt.ok)
		}
	}
}

func TestFileName(t *testing.T) {
	rt := &Runtime{FileNameSuffix: ".py", DepName: "requirements.txt"}
	for _, tt := range []struct{ ct, want string }{
		{"", "hello.py"}, {"text", "hello.py"}, {"base64", "hello.py"}, {"url", "hello.py"},
		{"base64+zip", "hello"}, {"url+compressedtar", "hello"}, {"base64+zip+deps", "hello"},
	} {
		ct, err := source.ParseContentType(tt.ct)
		if err != nil {
			t.Fatal(err)
		}
		if got := rt.FileName("hello", ct); got != tt.want {
			t.Errorf("FileName(hello, %q) = %q, want %q", tt.ct, got, tt.want)
		}
	}
	if got := (&Runtime{}).DepsFile("/kubeless"); got != "" {
		t.Errorf("DepsFile without depName = %q", got)
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"KUBELESS_INSTALL_VOLUME": "/kubeless", "X": "x"}
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"$(KUBELESS_INSTALL_VOLUME)/lib", "/kubeless/lib"},
		{"$(X)$(X):$(X)", "xx:x"},
		{"$(UNKNOWN)/a", "$(UNKNOWN)/a"},
		{"$$(X)", "$(X)"},
		{"$$", "$"},
		{"$X", "$X"},
		{"a$", "a$"},
		{"$(X", "$(X"},
		{"100$", "100$"},
	}
	for _, tt := range tests {
		if got := Expand(tt.in, vars); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseYAMLEqualsJSON(t *testing.T) {
	js := `[{"ID": "python", "depName": "requirements.txt", "fileNameSuffix": ".py",
	  "livenessProbeInfo": {"exec": {"command": ["curl", "-f", "http://localhost:8080/healthz"]}, "initialDelaySeconds": 5},
	  "versions": [{"name": "python310", "version": "3.10",
	    "imagePullSecrets": [{"imageSecret": "pull"}],
	    "images": [
	      {"phase": "installation", "image": "python:3.10", "command": "pip install", "env": {"A": "1"}, "secrets": [{"name": "pip-conf"}]},
	      {"phase": "runtime", "image": "kubeless/python:3.10"}]}]}]`
	yml := `
- ID: python
  depName: requirements.txt
  fileNameSuffix: .py
  livenessProbeInfo:
    exec:
      command: [curl, -f, "http://localhost:8080/healthz"]
    initialDelaySeconds: 5
  versions:
    - name: python310
      version: "3.10"
      imagePullSecrets:
        - imageSecret: pull
      images:
        - phase: installation
          image: "python:3.10"
          command: pip install
          env: {A: "1"}
          secrets: [{name: pip-conf}]
        - phase: runtime
          image: "kubeless/python:3.10"
`
	a, err := Parse([]byte(js))
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	b, err := Parse([]byte(yml))
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	// The probe is kept as raw JSON: compare it decoded.
	var pa, pb any
	json.Unmarshal(a.Runtimes[0].LivenessProbeInfo, &pa)
	json.Unmarshal(b.Runtimes[0].LivenessProbeInfo, &pb)
	if diff := cmp.Diff(pa, pb); diff != "" {
		t.Errorf("probe (-json +yaml):\n%s", diff)
	}
	a.Runtimes[0].LivenessProbeInfo, b.Runtimes[0].LivenessProbeInfo = nil, nil
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("(-json +yaml):\n%s", diff)
	}
	want := Version{
		Name: "python310", Version: "3.10",
		ImagePullSecrets: []ImageSecret{{ImageSecret: "pull"}},
		Images: []Image{
			{Phase: PhaseInstallation, Image: "python:3.10", Command: "pip install", Env: map[string]string{"A": "1"}, Secrets: []Secret{{Name: "pip-conf"}}},
			{Phase: PhaseRuntime, Image: "kubeless/python:3.10"},
		},
	}
	if diff := cmp.Diff(want, a.Runtimes[0].Versions[0]); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	// ok is a valid runtime phase image, to keep the cases short.
	const ok = `{"phase": "runtime", "image": "img"}`
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"empty", ``, `runtime-images: empty value, want a list of runtimes`},
		{"object", `{"ID": "python"}`, `runtime-images: want a list of runtimes, got an object`},
		{"broken JSON", `[{"ID": }]`, `runtime-images: invalid JSON: invalid character '}' looking for beginning of value`},
		{"broken YAML", "- ID: [python\n", `runtime-images: invalid YAML: `},
		{"runtime not object", `["python"]`, `runtime-images: runtime #1: want an object, got a string`},
		{"missing ID", `[{"versions": []}]`, `runtime-images: runtime #1: missing "ID"`},
		{"ID with digit", `[{"ID": "python3", "versions": [{"version": "1", "images": [` + ok + `]}]}]`,
			`runtime-images: runtime #1: ID "python3" must be letters, "_" and "-" only (the version follows it in a runtime string)`},
		{"unknown runtime key", `[{"ID": "python", "depname": "r.txt", "versions": []}]`,
			`runtime-images: runtime "python": unknown key "depname" (did you mean "depName"?)`},
		{"unknown runtime key list", `[{"ID": "python", "deps": "r.txt"}]`,
			`runtime-images: runtime "python": unknown key "deps" (known keys: ID, depName, fileNameSuffix, livenessProbeInfo, versions; legacy: compiled)`},
		{"duplicate key", `[{"ID": "python", "ID": "ruby"}]`, `runtime-images: runtime #1: duplicate key "ID"`},
		{"duplicate key in YAML", "- ID: python\n  ID: ruby\n", `runtime-images: invalid YAML: `},
		{"no versions", `[{"ID": "python", "versions": []}]`, `runtime-images: runtime "python": no versions`},
		{"versions not list", `[{"ID": "python", "versions": {}}]`, `runtime-images: runtime "python": "versions" must be a list, got an object`},
		{"depName with slash", `[{"ID": "python", "depName": "../r.txt"}]`, `runtime-images: runtime "python": depName "../r.txt" must be a plain file name`},
		{"probe not object", `[{"ID": "python", "livenessProbeInfo": "curl"}]`,
			`runtime-images: runtime "python": "livenessProbeInfo" must be an object (a Kubernetes Probe), got a string`},
		{"missing version", `[{"ID": "python", "versions": [{"name": "x"}]}]`, `runtime-images: runtime "python" version #1: missing "version"`},
		{"version as YAML number", "- ID: python\n  versions:\n    - version: 3.10\n",
			`runtime-images: runtime "python" version #1: "version" must be a string, got the number 3.1 (quote it in YAML: "3.10" is a string, 3.10 is the number 3.1)`},
		{"version with letters", `[{"ID": "python", "versions": [{"version": "3.11rc1"}]}]`,
			`runtime-images: runtime "python" version #1: version "3.11rc1" must be digits and dots ("3.11")`},
		{"unknown version key", `[{"ID": "python", "versions": [{"version": "3.11", "imagez": []}]}]`,
			`runtime-images: runtime "python" version "3.11": unknown key "imagez" (known keys: name, version, images, imagePullSecrets; legacy: runtimeImage, initImage)`},
		{"no runtime phase", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"phase": "installation", "image": "i", "command": "c"}]}]}]`,
			`runtime-images: runtime "python" version "3.11": no image with phase "runtime"`},
		{"no images", `[{"ID": "python", "versions": [{"version": "3.11"}]}]`,
			`runtime-images: runtime "python" version "3.11": no image with phase "runtime"`},
		{"unknown phase", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"phase": "install", "image": "i"}]}]}]`,
			`runtime-images: runtime "python" version "3.11" image #1: unknown phase "install" (one of installation, compilation, runtime)`},
		{"missing phase", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"image": "i"}]}]}]`,
			`runtime-images: runtime "python" version "3.11" image #1: missing "phase" (one of installation, compilation, runtime)`},
		{"duplicate phase", `[{"ID": "python", "versions": [{"version": "3.11", "images": [` + ok + `, ` + ok + `]}]}]`,
			`runtime-images: runtime "python" version "3.11": phase "runtime" appears twice`},
		{"unknown image key", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"phase": "runtime", "image": "i", "cmd": "x"}]}]}]`,
			`runtime-images: runtime "python" version "3.11" phase "runtime": unknown key "cmd" (known keys: phase, image, command, env, secrets)`},
		{"missing image", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"phase": "runtime"}]}]}]`,
			`runtime-images: runtime "python" version "3.11" phase "runtime": missing "image"`},
		{"install without command", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"phase": "installation", "image": "i"}, ` + ok + `]}]}]`,
			`runtime-images: runtime "python" version "3.11" phase "installation": missing "command"`},
		{"env not strings", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"phase": "runtime", "image": "i", "env": {"N": 1}}]}]}]`,
			`runtime-images: runtime "python" version "3.11" phase "runtime" env: "N" must be a string, got the number 1 (quote it)`},
		{"env bad name", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"phase": "runtime", "image": "i", "env": {"A=B": "1"}}]}]}]`,
			`runtime-images: runtime "python" version "3.11" phase "runtime" env: invalid variable name "A=B"`},
		{"unknown secret key", `[{"ID": "python", "versions": [{"version": "3.11", "images": [{"phase": "runtime", "image": "i", "secrets": [{"secret": "s"}]}]}]}]`,
			`runtime-images: runtime "python" version "3.11" phase "runtime" secrets #1: unknown key "secret" (known keys: name)`},
		{"unknown pull secret key", `[{"ID": "python", "versions": [{"version": "3.11", "imagePullSecrets": [{"name": "s"}], "images": [` + ok + `]}]}]`,
			`runtime-images: runtime "python" version "3.11" imagePullSecrets #1: unknown key "name" (known keys: imageSecret)`},
		{"defined twice", `[{"ID": "python", "versions": [{"version": "3.11", "images": [` + ok + `]}]}, {"ID": "python", "versions": [{"version": "3.11", "images": [` + ok + `]}]}]`,
			`runtime-images: runtime "python3.11" is defined twice`},
		{"compiled with images", `[{"ID": "go", "compiled": true, "versions": [{"version": "1.26", "images": [` + ok + `]}]}]`,
			`runtime-images: runtime "go": "compiled" belongs to the legacy form; with images, give the version a "compilation" phase instead`},
		{"legacy keys with images", `[{"ID": "go", "versions": [{"version": "1.26", "runtimeImage": "a", "images": [` + ok + `]}]}]`,
			`runtime-images: runtime "go" version "1.26": has both "images" and the legacy runtimeImage/initImage`},
		{"compiled not bool", `[{"ID": "go", "compiled": "yes"}]`, `runtime-images: runtime "go": "compiled" must be true or false, got a string`},
		{"legacy and images mixed", `[{"ID": "python", "versions": [{"version": "2.7", "runtimeImage": "a"}, {"version": "3.11", "images": [` + ok + `]}]}]`,
			`runtime-images: runtime "python": mixes versions in the legacy form (runtimeImage, initImage) with versions that have images`},
		{"legacy without runtimeImage", `[{"ID": "python", "versions": [{"version": "2.7", "initImage": "a"}]}]`,
			`runtime-images: runtime "python" version "2.7": missing "runtimeImage" (legacy form)`},
		{"legacy compiled unknown language", `[{"ID": "cobol", "compiled": true, "versions": [{"version": "85", "runtimeImage": "a", "initImage": "b"}]}]`,
			`runtime-images: runtime "cobol" version "85": Not found a valid compilation step for cobol85`},
		{"legacy compiled without initImage", `[{"ID": "go", "compiled": true, "versions": [{"version": "1.10", "runtimeImage": "a"}]}]`,
			`runtime-images: runtime "go" version "1.10": "compiled" is true but "initImage" is missing (legacy form)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded (%v), want error %q", c.Names(), tt.wantErr)
			}
			if strings.HasSuffix(tt.wantErr, ": ") {
				if !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Errorf("error = %q, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error =\n%q, want\n%q", err, tt.wantErr)
			}
		})
	}
}

func TestParseLegacy(t *testing.T) {
	// The shape of the legacy catalog (docs/compatibility.md §2).
	in := `[
	  {"ID": "python", "compiled": false, "depName": "requirements.txt", "fileNameSuffix": ".py",
	   "versions": [{"name": "python27", "version": "2.7", "runtimeImage": "kubeless/python@sha256:aa", "initImage": "python:2.7",
	                 "imagePullSecrets": [{"imageSecret": "p"}]}]},
	  {"ID": "nodejs", "depName": "package.json", "fileNameSuffix": ".js",
	   "versions": [{"name": "node8", "version": "8", "runtimeImage": "kubeless/nodejs@sha256:bb", "initImage": "node:8"}]},
	  {"ID": "ruby", "depName": "Gemfile", "fileNameSuffix": ".rb",
	   "versions": [{"name": "ruby24", "version": "2.4", "runtimeImage": "kubeless/ruby@sha256:cc", "initImage": "bitnami/ruby:2.4"}]},
	  {"ID": "php", "depName": "composer.json", "fileNameSuffix": ".php",
	   "versions": [{"name": "php72", "version": "7.2", "runtimeImage": "kubeless/php@sha256:dd", "initImage": "composer:1.6"}]},
	  {"ID": "go", "compiled": true, "depName": "Gopkg.toml", "fileNameSuffix": ".go",
	   "versions": [{"name": "go110", "version": "1.10", "runtimeImage": "kubeless/go@sha256:ee", "initImage": "kubeless/go-init@sha256:ff"}]},
	  {"ID": "jvm", "compiled": true, "depName": "", "fileNameSuffix": ".jar",
	   "versions": [{"name": "jvm18", "version": "1.8", "runtimeImage": "kubeless/jvm@sha256:gg", "initImage": "kubeless/jvm-init@sha256:hh"}]},
	  {"ID": "custom", "versions": [{"version": "1", "runtimeImage": "me/custom:1"}]}
	]`
	c, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 7 || !strings.Contains(c.Warnings[0], `runtime "python" is in the legacy form`) {
		t.Errorf("warnings = %q", c.Warnings)
	}
	want := map[string][]Image{
		"python2.7": {
			{Phase: PhaseInstallation, Image: "python:2.7", Command: `pip install --prefix="$KUBELESS_INSTALL_VOLUME" -r "$KUBELESS_DEPS_FILE"`},
			{Phase: PhaseRuntime, Image: "kubeless/python@sha256:aa", Env: map[string]string{"PYTHONPATH": "$(KUBELESS_INSTALL_VOLUME)/lib/python2.7/site-packages:$(KUBELESS_INSTALL_VOLUME)"}},
		},
		"nodejs8": {
			{Phase: PhaseInstallation, Image: "node:8", Env: map[string]string{"HOME": "/tmp"},
				Command: `if [ -n "$NPM_REGISTRY" ]; then npm config set "${NPM_SCOPE:+$NPM_SCOPE:}registry" "$NPM_REGISTRY"; fi && npm install --production --prefix="$KUBELESS_INSTALL_VOLUME"`},
			{Phase: PhaseRuntime, Image: "kubeless/nodejs@sha256:bb", Env: map[string]string{"NODE_PATH": "$(KUBELESS_INSTALL_VOLUME)/node_modules"}},
		},
		"ruby2.4": {
			{Phase: PhaseInstallation, Image: "bitnami/ruby:2.4", Command: `bundle install --gemfile="$KUBELESS_DEPS_FILE" --path="$KUBELESS_INSTALL_VOLUME"`},
			{Phase: PhaseRuntime, Image: "kubeless/ruby@sha256:cc", Env: map[string]string{"GEM_HOME": "$(KUBELESS_INSTALL_VOLUME)/ruby/2.4.0"}},
		},
		"php7.2": {
			{Phase: PhaseInstallation, Image: "composer:1.6", Command: `composer install -d "$KUBELESS_INSTALL_VOLUME"`},
			{Phase: PhaseRuntime, Image: "kubeless/php@sha256:dd"},
		},
		"go1.10": {
			{Phase: PhaseInstallation, Image: "kubeless/go-init@sha256:ff", Command: `cd $GOPATH/src/kubeless && dep ensure > /dev/termination-log 2>&1`},
			{Phase: PhaseCompilation, Image: "kubeless/go-init@sha256:ff", Command: `sed "s/<<FUNCTION>>/$KUBELESS_FUNC_NAME/g" $GOPATH/src/controller/kubeless.tpl.go > $GOPATH/src/controller/kubeless.go && rm -rf $GOPATH/src/kubeless/vendor/github.com/kubeless/kubeless && go build -o "$KUBELESS_INSTALL_VOLUME/server" $GOPATH/src/controller/kubeless.go > /dev/termination-log 2>&1`},
			{Phase: PhaseRuntime, Image: "kubeless/go@sha256:ee"},
		},
		"jvm1.8": {
			{Phase: PhaseCompilation, Image: "kubeless/jvm-init@sha256:hh", Command: `mv /kubeless/* /kubeless/payload.jar && cp /opt/*.jar /kubeless/ > /dev/termination-log 2>&1`},
			{Phase: PhaseRuntime, Image: "kubeless/jvm@sha256:gg"},
		},
		"custom1": {
			{Phase: PhaseRuntime, Image: "me/custom:1"},
		},
	}
	for name, images := range want {
		e, err := c.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(images, e.Version.Images); diff != "" {
			t.Errorf("%s images (-want +got):\n%s", name, diff)
		}
	}
	e, _ := c.Lookup("python2.7")
	if diff := cmp.Diff([]ImageSecret{{ImageSecret: "p"}}, e.Version.ImagePullSecrets); diff != "" {
		t.Errorf("pull secrets (-want +got):\n%s", diff)
	}
	// The converted catalog is a valid current-form catalog.
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal(legacy)): %v", err)
	}
	if diff := cmp.Diff(c.Runtimes, again.Runtimes); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
