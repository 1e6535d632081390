package kubeless

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kubeless/kubeless/internal/langruntime"
)

// builtImages runs hack/build-images.sh with -n (print the build commands,
// build nothing) and the given flags, and returns the images it would build,
// each with its Dockerfile, and the images it says it skips.
func builtImages(t *testing.T, flags ...string) (built map[string]string, skipped []string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"hack/build-images.sh", "-n"}, flags...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/build-images.sh -n %s: %v\n%s", strings.Join(flags, " "), err, stderr.String())
	}
	built = map[string]string{}
	line := regexp.MustCompile(`(?m)^== (\S+) \((\S+)\)$`)
	for _, m := range line.FindAllStringSubmatch(stderr.String(), -1) {
		built[m[1]] = m[2]
	}
	skip := regexp.MustCompile(`(?m)^build-images: not built \(-d: no base in Debian 12\): (.*)$`)
	if m := skip.FindStringSubmatch(stderr.String()); m != nil {
		for _, s := range strings.Fields(m[1]) {
			skipped = append(skipped, "kubeless/"+s)
		}
	}
	if len(built) == 0 {
		t.Fatalf("hack/build-images.sh -n %s names no image:\n%s", strings.Join(flags, " "), stderr.String())
	}
	return built, skipped
}

// catalogImages returns every image of the default catalog, by runtime name.
func catalogImages() map[string][]string {
	c := langruntime.Default()
	out := map[string][]string{}
	for _, r := range c.Runtimes {
		for _, v := range r.Versions {
			for _, im := range v.Images {
				out[r.ID+v.Version] = append(out[r.ID+v.Version], im.Image)
			}
		}
	}
	return out
}

// Every image of the default catalog has a Dockerfile that
// hack/build-images.sh builds, and the script builds no runtime image the
// catalog does not name: a catalog runtime without a recipe (or a recipe
// left over from a runtime dropped from the catalog) fails here.
func TestCatalogImagesHaveRecipes(t *testing.T) {
	built, _ := builtImages(t, "-b", "docker")
	used := map[string]bool{"kubeless/controller-manager:dev": true}
	for rt, images := range catalogImages() {
		for _, im := range images {
			used[im] = true
			file, ok := built[im]
			if !ok {
				t.Errorf("%s: image %s has no recipe that hack/build-images.sh builds (docker/runtime/<lang>/Dockerfile.<version>[.init])", rt, im)
				continue
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s: image %s: %v", rt, im, err)
			}
		}
	}
	for im, file := range built {
		if !used[im] {
			t.Errorf("hack/build-images.sh builds %s from %s, which no runtime of the default catalog uses: add the runtime to internal/langruntime/default_catalog.json or remove the Dockerfile", im, file)
		}
	}
}

// A Go compilation image builds the function server against this module
// (the host library), so a Go version of the catalog below the module's go
// line cannot compile a function: the catalog must not offer it. And the
// Debian build (-d) builds every Go version of the catalog, since its
// toolchain comes from the Go module proxy, not from Debian.
func TestCatalogGoVersionsCanBuild(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	modMajor, _ := strconv.Atoi(string(m[1]))
	modMinor, _ := strconv.Atoi(string(m[2]))
	built, skipped := builtImages(t, "-d")
	var goRuntimes int
	for _, r := range langruntime.Default().Runtimes {
		if r.ID != "go" {
			continue
		}
		for _, v := range r.Versions {
			goRuntimes++
			major, minor, _ := strings.Cut(v.Version, ".")
			x, _ := strconv.Atoi(major)
			y, _ := strconv.Atoi(minor)
			if x < modMajor || (x == modMajor && y < modMinor) {
				t.Errorf("go%s is in the default catalog, but the host library's module needs go %d.%d: its compilation image cannot build a function server", v.Version, modMajor, modMinor)
			}
			for _, im := range v.Images {
				if _, ok := built[im.Image]; !ok {
					t.Errorf("go%s: hack/build-images.sh -d does not build %s (skipped: %v)", v.Version, im.Image, skipped)
				}
			}
		}
	}
	if goRuntimes == 0 {
		t.Error("the default catalog has no Go runtime")
	}
	// What -d skips is only what the catalog has and Debian 12 gives no base.
	all := catalogImages()
	for _, s := range skipped {
		found := false
		for _, images := range all {
			found = found || slices.Contains(images, s)
		}
		if !found {
			t.Errorf("hack/build-images.sh -d skips %s, which the default catalog does not name", s)
		}
	}
}
