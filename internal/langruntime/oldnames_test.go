package langruntime

import (
	"errors"
	"strings"
	"testing"
)

func TestLookupOldNames(t *testing.T) {
	tests := []struct {
		runtime, want, substitution string
	}{
		{"python2.7", "python3.9", "python2.7 runs on python3.9"},
		{"python3.7", "python3.9", "python3.7 runs on python3.9"},
		{"python3.8", "python3.9", "python3.8 runs on python3.9"},
		{"nodejs6", "nodejs18", "nodejs6 runs on nodejs18"},
		{"nodejs14", "nodejs18", "nodejs14 runs on nodejs18"},
		{"ruby2.6", "ruby3.0", "ruby2.6 runs on ruby3.0"},
		{"php7.4", "php8.1", "php7.4 runs on php8.1"},
		{"go1.10", "go1.26", "go1.10 runs on go1.26"},
		{"go1.14", "go1.26", "go1.14 runs on go1.26"},
		// Dropped from this project's catalog: its image cannot build.
		{"go1.25", "go1.26", "go1.25 runs on go1.26"},
		// A current name is found by itself.
		{"python3.11", "python3.11", ""},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			e, err := c.Lookup(tt.runtime)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tt.runtime, err)
			}
			if e.Name() != tt.want || e.Substitution() != tt.substitution {
				t.Errorf("Lookup(%q) = %s, %q; want %s, %q", tt.runtime, e.Name(), e.Substitution(), tt.want, tt.substitution)
			}
		})
	}
	// Names the original never had stay unknown.
	for _, rt := range []string{"python3.5", "nodejs16", "ruby2.7", "php7.1", "go1.15", "nodejs_distroless8", "java1.8"} {
		var ire *InvalidRuntimeError
		if _, err := c.Lookup(rt); !errors.As(err, &ire) {
			t.Errorf("Lookup(%q) error = %v, want *InvalidRuntimeError", rt, err)
		}
	}
	// The mapping is off: an old name is unknown.
	c.RefuseOldNames = true
	if _, err := c.Lookup("python3.7"); err == nil || err.Error() != "Invalid runtime: python3.7. Supported runtimes are: "+strings.Join(c.Names(), ", ") {
		t.Errorf("Lookup(python3.7) with RefuseOldNames: error = %v", err)
	}
}

func TestNearest(t *testing.T) {
	cat, err := Parse([]byte(`[{"ID": "python", "versions": [
		{"version": "3.12", "images": [{"phase": "runtime", "image": "a"}]},
		{"version": "3.9", "images": [{"phase": "runtime", "image": "b"}]},
		{"version": "3.10", "images": [{"phase": "runtime", "image": "c"}]}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ version, want string }{
		{"3.6", "3.9"}, {"3.9", "3.9"}, {"3.11", "3.12"}, {"3.13", "3.12"}, {"2.7", "3.9"}, {"3.10", "3.10"},
	}
	for _, tt := range tests {
		if got := nearest(&cat.Runtimes[0], tt.version).Version; got != tt.want {
			t.Errorf("nearest(%s) = %s, want %s", tt.version, got, tt.want)
		}
	}
}

func TestParseOldNames(t *testing.T) {
	tests := []struct {
		in      string
		refuse  bool
		wantErr string
	}{
		{"", false, ""},
		{"nearest", false, ""},
		{" refuse ", true, ""},
		{"off", false, `"off" is not one of nearest (run old runtime names such as python3.7 on the nearest version) or refuse (refuse them as unknown runtimes)`},
	}
	for _, tt := range tests {
		refuse, err := ParseOldNames(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if refuse != tt.refuse || gotErr != tt.wantErr {
			t.Errorf("ParseOldNames(%q) = %v, %q; want %v, %q", tt.in, refuse, gotErr, tt.refuse, tt.wantErr)
		}
	}
}
