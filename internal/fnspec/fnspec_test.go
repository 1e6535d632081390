package fnspec_test

import (
	"testing"

	"github.com/kubeless/kubeless/internal/fnspec"
	"github.com/kubeless/kubeless/internal/fnspec/fnspectest"
	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"
)

func valid() fnspec.Spec {
	return fnspec.Spec{Runtime: "python3.11", Handler: "hello.foo", ContentType: "base64+zip", Checksum: source.Checksum([]byte("x")), Timeout: "30"}
}

func TestValidateBad(t *testing.T) {
	cases := append([]fnspectest.Case{
		{Name: "unknown runtime", Field: fnspec.FieldRuntime, Value: "cobol1",
			Message: "Invalid runtime: cobol1. Supported runtimes are: python3.11"},
	}, fnspectest.Bad...)
	cat := &langruntime.Catalog{Runtimes: []langruntime.Runtime{{ID: "python", Versions: []langruntime.Version{{Version: "3.11"}}}}}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			s := valid()
			c.Apply(&s)
			_, err := fnspec.Validate(s, cat)
			if err == nil || err.Error() != c.Message {
				t.Fatalf("Validate(%s=%q) = %v, want %q", c.Field, c.Value, err, c.Message)
			}
			if got := fnspec.FieldOf(err); got != c.Field {
				t.Errorf("FieldOf = %q, want %q", got, c.Field)
			}
		})
	}
}

func TestValidateGood(t *testing.T) {
	cat := &langruntime.Catalog{Runtimes: []langruntime.Runtime{{ID: "python", Versions: []langruntime.Version{{Version: "3.11"}}}}}
	p, err := fnspec.Validate(valid(), cat)
	if err != nil {
		t.Fatal(err)
	}
	if p.Handler != (source.Handler{Module: "hello", Function: "foo"}) || p.ContentType.Archive != source.ArchiveZip || p.Entry.Name() != "python3.11" {
		t.Errorf("Parsed = %+v", p)
	}
	// Empty values are the caller's rule: nothing to check, text code, and
	// no runtime lookup without a catalog.
	p, err = fnspec.Validate(fnspec.Spec{Runtime: "cobol1"}, nil)
	if err != nil || p.ContentType.Encoding != source.EncodingText {
		t.Errorf("Validate(empty spec, no catalog) = %+v, %v", p, err)
	}
}
