package render

import (
	"testing"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend/backendtest"
	"github.com/kubeless/kubeless/internal/fnspec"
	"github.com/kubeless/kubeless/internal/fnspec/fnspectest"
)

// TestRenderUsesFnspec: render (and so the controller) refuses each bad
// spec of the shared table with fnspec's exact message, under the reason
// of the field.
func TestRenderUsesFnspec(t *testing.T) {
	reasons := map[fnspec.Field]string{
		fnspec.FieldHandler:     v1beta1.ReasonInvalidHandler,
		fnspec.FieldContentType: v1beta1.ReasonInvalidContentType,
		fnspec.FieldChecksum:    v1beta1.ReasonInvalidChecksum,
		fnspec.FieldTimeout:     v1beta1.ReasonInvalidDeployment,
	}
	for _, c := range fnspectest.Bad {
		t.Run(c.Name, func(t *testing.T) {
			fn := newFunction(nil)
			backendtest.SetBad(fn, c)
			_, err := renderFunction(fn)
			if err == nil || err.Error() != c.Message {
				t.Fatalf("render: %v, want %q", err, c.Message)
			}
			if got := Reason(err); got != reasons[c.Field] {
				t.Errorf("Reason = %q, want %q", got, reasons[c.Field])
			}
			if _, err := ContentType(fn); err == nil || err.Error() != c.Message {
				t.Errorf("ContentType: %v, want %q", err, c.Message)
			}
		})
	}
}
