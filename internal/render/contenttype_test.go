package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/langruntime"
)

// TestContentTypeForms: the forms the original took by looking for words in
// the content type ("url+text", parts in any order) render as their
// canonical form: the same ConfigMap and the same init containers (the code
// file keeps the runtime's suffix).
func TestContentTypeForms(t *testing.T) {
	for _, tt := range []struct{ form, canonical, function string }{
		{"url+text", "url", "https://example.com/hello.py"},
		{"text+url", "url", "https://example.com/hello.py"},
		{"zip+base64", "base64+zip", "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
		{"text+text", "text", "def foo(event, context):\n    return 'hi'\n"},
	} {
		t.Run(tt.form, func(t *testing.T) {
			render := func(ct string) (map[string]string, any) {
				fn := newFunction(func(f *v1beta1.Function) { f.Spec.FunctionContentType, f.Spec.Function = ct, tt.function })
				entry, err := Lookup(langruntime.Default(), fn)
				if err != nil {
					t.Fatal(err)
				}
				cm, err := ConfigMap(fn, entry)
				if err != nil {
					t.Fatalf("%s: ConfigMap: %v", ct, err)
				}
				d, err := Deployment(fn, entry, Config{})
				if err != nil {
					t.Fatalf("%s: Deployment: %v", ct, err)
				}
				return cm.Data, d.Spec.Template.Spec.InitContainers
			}
			gotData, gotInit := render(tt.form)
			wantData, wantInit := render(tt.canonical)
			if d := cmp.Diff(wantData, gotData); d != "" {
				t.Errorf("ConfigMap data (-%s +%s):\n%s", tt.canonical, tt.form, d)
			}
			if d := cmp.Diff(wantInit, gotInit); d != "" {
				t.Errorf("init containers (-%s +%s):\n%s", tt.canonical, tt.form, d)
			}
			if tt.canonical == "url" {
				if _, ok := gotData["hello.py"]; !ok {
					t.Errorf("ConfigMap keys %v: want the code file hello.py (with the runtime's suffix)", keys(gotData))
				}
			}
		})
	}
}
