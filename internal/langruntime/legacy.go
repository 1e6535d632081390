package langruntime

import (
	"errors"
	"fmt"
	"strings"
)

// The legacy catalog (Kubeless ≤ v1.0.0-alpha) named only images; the
// commands were hard-coded per language in the controller. These are those
// commands (docs/compatibility.md §2), with the fixed /kubeless paths of the
// dependency steps replaced by the phase environment variables. Languages are
// matched by the ID's prefix in this order, as the original matched by
// substring (so "nodejs_distroless" is nodejs).
var legacyLanguages = []struct {
	prefix     string
	install    string
	installEnv map[string]string
	compile    string
	runtimeEnv func(version string) map[string]string
}{
	{
		prefix:  "python",
		install: `pip install --prefix="$KUBELESS_INSTALL_VOLUME" -r "$KUBELESS_DEPS_FILE"`,
		runtimeEnv: func(v string) map[string]string {
			return map[string]string{"PYTHONPATH": "$(KUBELESS_INSTALL_VOLUME)/lib/python" + v + "/site-packages:$(KUBELESS_INSTALL_VOLUME)"}
		},
	},
	{
		prefix:     "nodejs",
		install:    `if [ -n "$NPM_REGISTRY" ]; then npm config set "${NPM_SCOPE:+$NPM_SCOPE:}registry" "$NPM_REGISTRY"; fi && npm install --production --prefix="$KUBELESS_INSTALL_VOLUME"`,
		installEnv: map[string]string{"HOME": "/tmp"},
		runtimeEnv: func(string) map[string]string {
			return map[string]string{"NODE_PATH": "$(KUBELESS_INSTALL_VOLUME)/node_modules"}
		},
	},
	{
		prefix:  "ruby",
		install: `bundle install --gemfile="$KUBELESS_DEPS_FILE" --path="$KUBELESS_INSTALL_VOLUME"`,
		runtimeEnv: func(v string) map[string]string {
			return map[string]string{"GEM_HOME": "$(KUBELESS_INSTALL_VOLUME)/ruby/" + rubyABI(v)}
		},
	},
	{
		prefix:  "php",
		install: `composer install -d "$KUBELESS_INSTALL_VOLUME"`,
	},
	{
		prefix:  "go",
		install: `cd $GOPATH/src/kubeless && dep ensure > /dev/termination-log 2>&1`,
		compile: `sed "s/<<FUNCTION>>/$KUBELESS_FUNC_NAME/g" $GOPATH/src/controller/kubeless.tpl.go > $GOPATH/src/controller/kubeless.go && rm -rf $GOPATH/src/kubeless/vendor/github.com/kubeless/kubeless && go build -o "$KUBELESS_INSTALL_VOLUME/server" $GOPATH/src/controller/kubeless.go > /dev/termination-log 2>&1`,
	},
	{
		prefix:  "dotnetcore",
		compile: `/app/compile-function.sh "$KUBELESS_INSTALL_VOLUME"`,
		runtimeEnv: func(string) map[string]string {
			return map[string]string{"DOTNETCORE_HOME": "$(KUBELESS_INSTALL_VOLUME)/packages"}
		},
	},
	{
		prefix:  "java",
		install: `mv "$KUBELESS_INSTALL_VOLUME/pom.xml" "$KUBELESS_INSTALL_VOLUME/function-pom.xml"`,
		compile: `cp -r /usr/src/myapp/* /kubeless/ && cp /kubeless/*.java /kubeless/function/src/main/java/io/kubeless/ && cp /kubeless/function-pom.xml /kubeless/function/pom.xml 2>/dev/null || true && mvn package > /dev/termination-log 2>&1 && mvn install > /dev/termination-log 2>&1`,
	},
	{
		prefix:  "jvm",
		compile: `mv /kubeless/* /kubeless/payload.jar && cp /opt/*.jar /kubeless/ > /dev/termination-log 2>&1`,
	},
	{
		prefix:  "ballerina",
		compile: `/compile-function.sh "$KUBELESS_FUNC_NAME"`,
	},
}

// rubyABI returns the folder name that RubyGems and Bundler use for a Ruby
// version's gems: "3.1" → "3.1.0".
func rubyABI(version string) string {
	parts := strings.Split(version, ".")
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1] + ".0"
	}
	return version + ".0"
}

// legacyImages converts a legacy version (runtimeImage, initImage, and the
// runtime's compiled flag) into images with phases.
func legacyImages(id, version, runtimeImage, initImage string, compiled bool) ([]Image, error) {
	if runtimeImage == "" {
		return nil, errors.New(`missing "runtimeImage" (legacy form)`)
	}
	var lang struct {
		install, compile string
		installEnv       map[string]string
		runtimeEnv       map[string]string
	}
	for _, l := range legacyLanguages {
		if strings.HasPrefix(id, l.prefix) {
			lang.install, lang.compile, lang.installEnv = l.install, l.compile, l.installEnv
			if l.runtimeEnv != nil {
				lang.runtimeEnv = l.runtimeEnv(version)
			}
			break
		}
	}
	var images []Image
	if initImage != "" && lang.install != "" {
		images = append(images, Image{Phase: PhaseInstallation, Image: initImage, Command: lang.install, Env: lang.installEnv})
	}
	if compiled {
		switch {
		case initImage == "":
			return nil, errors.New(`"compiled" is true but "initImage" is missing (legacy form)`)
		case lang.compile == "":
			return nil, fmt.Errorf("Not found a valid compilation step for %s%s", id, version)
		}
		images = append(images, Image{Phase: PhaseCompilation, Image: initImage, Command: lang.compile})
	}
	images = append(images, Image{Phase: PhaseRuntime, Image: runtimeImage, Env: lang.runtimeEnv})
	return images, nil
}
