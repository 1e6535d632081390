package langruntime

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite config/manager/kubeless-config.yaml from the default catalog")

// The default catalog ships in the manifests too: the kubeless-config
// ConfigMap's runtime-images key is the catalog built into the binary.
func TestManifestCarriesDefaultCatalog(t *testing.T) {
	cm := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": "kubeless-config", "namespace": "kubeless"},
		"data":       map[string]string{"runtime-images": string(bytes.TrimSpace(DefaultJSON()))},
	}
	body, err := yaml.Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("# Generated from internal/langruntime/default_catalog.json by\n"+
		"# go test ./internal/langruntime -run TestManifestCarriesDefaultCatalog -update\n"), body...)
	path := filepath.Join("..", "..", "config", "manager", "kubeless-config.yaml")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the default catalog: run go test ./internal/langruntime -run TestManifestCarriesDefaultCatalog -update", path)
	}
	// And what the manifest carries parses back to the same catalog.
	var back struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	cat, err := Parse([]byte(back.Data["runtime-images"]))
	if err != nil {
		t.Fatalf("the manifest's catalog does not parse: %v", err)
	}
	if len(cat.Names()) != len(Default().Names()) {
		t.Errorf("manifest catalog has %d runtimes, default %d", len(cat.Names()), len(Default().Names()))
	}
}
