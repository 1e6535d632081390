package langruntime

import (
	"fmt"
	"strconv"
	"strings"
)

// originalNames are the runtime strings of the original Kubeless catalogs
// (the last shipped one and the earlier built-in one) in the languages this
// project serves, and the ones this project's catalog dropped. A Function that names one of them runs on the nearest
// version of its language in the catalog, unless the catalog's
// OldNames is OldNamesRefuse.
var originalNames = map[string]bool{
	"python2.7": true, "python3.4": true, "python3.6": true, "python3.7": true, "python3.8": true,
	"nodejs6": true, "nodejs8": true, "nodejs10": true, "nodejs12": true, "nodejs14": true,
	"ruby2.3": true, "ruby2.4": true, "ruby2.5": true, "ruby2.6": true,
	"php7.2": true, "php7.3": true, "php7.4": true,
	"go1.10": true, "go1.11": true, "go1.12": true, "go1.13": true, "go1.14": true,
	// And the names this project's own catalog had and dropped: go1.25,
	// whose compilation image cannot build a function server (the host
	// library's module needs Go 1.26).
	"go1.25": true,
}

// IsOriginalName reports whether rt is a runtime string of the original
// Kubeless catalogs that Lookup maps onto a current version.
func IsOriginalName(rt string) bool { return originalNames[rt] }

// What Lookup does with a runtime string of the original's catalog that is
// not in this catalog (the kubeless-config key legacy-runtimes).
const (
	// OldNamesNearest runs it on the nearest version of its language.
	OldNamesNearest = "nearest"
	// OldNamesRefuse treats it as any unknown runtime.
	OldNamesRefuse = "refuse"
)

// ParseOldNames checks a value of the legacy-runtimes key; "" means
// OldNamesNearest.
func ParseOldNames(v string) (refuse bool, err error) {
	switch strings.TrimSpace(v) {
	case "", OldNamesNearest:
		return false, nil
	case OldNamesRefuse:
		return true, nil
	}
	return false, fmt.Errorf("%q is not one of %s (run old runtime names such as python3.7 on the nearest version) or %s (refuse them as unknown runtimes)", v, OldNamesNearest, OldNamesRefuse)
}

// nearest returns the version of r nearest to version: the lowest one at or
// above it, else the highest one below it.
func nearest(r *Runtime, version string) *Version {
	want := versionKey(version)
	var above, below *Version
	for i := range r.Versions {
		v := &r.Versions[i]
		k := versionKey(v.Version)
		if compareKeys(k, want) >= 0 {
			if above == nil || compareKeys(k, versionKey(above.Version)) < 0 {
				above = v
			}
		} else if below == nil || compareKeys(k, versionKey(below.Version)) > 0 {
			below = v
		}
	}
	if above != nil {
		return above
	}
	return below
}

func versionKey(v string) []int {
	var k []int
	for _, p := range strings.Split(v, ".") {
		n, _ := strconv.Atoi(p)
		k = append(k, n)
	}
	return k
}

func compareKeys(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
