package v1beta1_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

const crdDir = "../../config/crd/bases"

// loadCRD reads config/crd/bases/kubeless.io_<plural>.yaml strictly: a key
// that apiextensions.k8s.io/v1 does not know is an error.
func loadCRD(t *testing.T, plural string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(crdDir, "kubeless.io_"+plural+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		t.Fatalf("%s CRD: %v", plural, err)
	}
	return crd
}

type column struct {
	Name, Type, JSONPath string
	Priority             int32
}

func TestCRDs(t *testing.T) {
	ready := `.status.conditions[?(@.type=="Ready")].status`
	age := column{"Age", "date", ".metadata.creationTimestamp", 0}
	tests := []struct {
		plural, singular, kind string
		columns                []column
	}{
		{"functions", "function", "Function", []column{
			{"Runtime", "string", ".spec.runtime", 0},
			{"Handler", "string", ".spec.handler", 0},
			{"Ready", "string", ".status.ready", 0},
			{"Status", "string", `.status.conditions[?(@.type=="Ready")].reason`, 1},
			age,
		}},
		{"httptriggers", "httptrigger", "HTTPTrigger", []column{
			{"Function", "string", ".spec.function-name", 0},
			{"Host", "string", ".spec.host-name", 0},
			{"Path", "string", ".spec.path", 0},
			{"Ready", "string", ready, 0},
			age,
		}},
		{"cronjobtriggers", "cronjobtrigger", "CronJobTrigger", []column{
			{"Function", "string", ".spec.function-name", 0},
			{"Schedule", "string", ".spec.schedule", 0},
			{"Ready", "string", ready, 0},
			age,
		}},
		{"kafkatriggers", "kafkatrigger", "KafkaTrigger", []column{
			{"Topic", "string", ".spec.topic", 0},
			{"Function", "string", ".spec.function-name", 0},
			{"Ready", "string", ready, 0},
			age,
		}},
		{"natstriggers", "natstrigger", "NATSTrigger", []column{
			{"Topic", "string", ".spec.topic", 0},
			{"Function", "string", ".spec.function-name", 0},
			{"Ready", "string", ready, 0},
			age,
		}},
		{"kinesistriggers", "kinesistrigger", "KinesisTrigger", []column{
			{"Stream", "string", ".spec.stream", 0},
			{"Shard", "string", ".spec.shard", 0},
			{"Function", "string", ".spec.function-name", 0},
			{"Ready", "string", ready, 0},
			age,
		}},
	}
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%s holds %d CRDs, want %d: %v", crdDir, len(files), len(tests), files)
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			crd := loadCRD(t, tt.plural)
			if crd.APIVersion != "apiextensions.k8s.io/v1" || crd.Kind != "CustomResourceDefinition" {
				t.Errorf("apiVersion/kind = %s/%s", crd.APIVersion, crd.Kind)
			}
			if want := tt.plural + ".kubeless.io"; crd.Name != want {
				t.Errorf("name = %q, want %q", crd.Name, want)
			}
			wantNames := apiextensionsv1.CustomResourceDefinitionNames{
				Plural: tt.plural, Singular: tt.singular, Kind: tt.kind, ListKind: tt.kind + "List",
				Categories: []string{"kubeless"},
			}
			if diff := cmp.Diff(wantNames, crd.Spec.Names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if crd.Spec.Group != "kubeless.io" || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
				t.Errorf("group %q scope %q", crd.Spec.Group, crd.Spec.Scope)
			}
			if len(crd.Spec.Versions) != 1 {
				t.Fatalf("%d versions, want 1", len(crd.Spec.Versions))
			}
			v := crd.Spec.Versions[0]
			if v.Name != "v1beta1" || !v.Served || !v.Storage {
				t.Errorf("version %q served=%v storage=%v", v.Name, v.Served, v.Storage)
			}
			if v.Subresources == nil || v.Subresources.Status == nil {
				t.Errorf("no status subresource")
			}
			var got []column
			for _, c := range v.AdditionalPrinterColumns {
				got = append(got, column{c.Name, c.Type, c.JSONPath, c.Priority})
			}
			if diff := cmp.Diff(tt.columns, got); diff != "" {
				t.Errorf("printer columns (-want +got):\n%s", diff)
			}
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				t.Fatal("no schema")
			}
			root := v.Schema.OpenAPIV3Schema
			for _, e := range structuralErrors(root, "", true) {
				t.Errorf("schema is not structural: %s", e)
			}
			status := root.Properties["status"]
			for _, k := range []string{"observedGeneration", "conditions"} {
				if _, ok := status.Properties[k]; !ok {
					t.Errorf("status has no %s", k)
				}
			}
			if c := status.Properties["conditions"]; c.XListType == nil || *c.XListType != "map" || !slices.Equal(c.XListMapKeys, []string{"type"}) {
				t.Errorf("status.conditions is not a list-map keyed by type")
			}
			// Client-side `kubectl apply` keeps the whole object in an
			// annotation limited to 256 KiB.
			compact, err := json.Marshal(crd)
			if err != nil {
				t.Fatal(err)
			}
			if len(compact) > 200<<10 {
				t.Errorf("CRD is %d bytes of JSON; kubectl apply stores it in an annotation limited to 256 KiB", len(compact))
			}
		})
	}
}

// TestCRDSchemaAcceptsManifests validates every testdata manifest against its
// CRD's schema: every key must be declared (so that strict field validation,
// kubectl's default, accepts it and pruning keeps it) and every value must
// have the declared type, pattern and enum.
func TestCRDSchemaAcceptsManifests(t *testing.T) {
	plurals := map[string]string{"Function": "functions", "HTTPTrigger": "httptriggers", "CronJobTrigger": "cronjobtriggers",
		"KafkaTrigger": "kafkatriggers", "NATSTrigger": "natstriggers", "KinesisTrigger": "kinesistriggers"}
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m := manifestMap(t, filepath.Base(f))
			crd := loadCRD(t, plurals[m["kind"].(string)])
			for _, e := range validate(m, crd.Spec.Versions[0].Schema.OpenAPIV3Schema, "", true) {
				t.Error(e)
			}
		})
	}
}

// TestCRDSchemaRejects: the validations that catch mistakes at apply time.
func TestCRDSchemaRejects(t *testing.T) {
	tests := []struct {
		plural  string
		spec    string // JSON of spec
		wantErr string // "" when accepted
	}{
		{"functions", `{"handler":"hello.foo","runtime":"python3.12","timeout":"180"}`, ""},
		{"functions", `{"handler":"","runtime":"","timeout":""}`, ""},
		{"functions", `{"runtime":"nodejs_distroless8"}`, ""},
		{"functions", `{"runtime":"ballerina0.981.0"}`, ""},
		{"functions", `{"handler":"Hello.handleRequest","runtime":"java11"}`, ""},
		{"functions", `{"handler":"hello"}`, "spec.handler: "},
		{"functions", `{"handler":"a.b.c"}`, "spec.handler: "},
		{"functions", `{"handler":".foo"}`, "spec.handler: "},
		{"functions", `{"handler":"dir/hello.foo"}`, ""},
		{"functions", `{"handler":"src/v1.2/.hidden/...x/hello.foo"}`, ""},
		{"functions", `{"handler":"../hello.foo"}`, "spec.handler: "},
		{"functions", `{"handler":"src/./hello.foo"}`, "spec.handler: "},
		{"functions", `{"handler":"/etc/hello.foo"}`, "spec.handler: "},
		{"functions", `{"handler":"src//hello.foo"}`, "spec.handler: "},
		{"functions", `{"handler":"src\\hello.foo"}`, "spec.handler: "},
		{"functions", `{"handler":"src/hello.x.foo"}`, "spec.handler: "},
		{"functions", `{"runtime":"python"}`, "spec.runtime: "},
		{"functions", `{"runtime":"3.12"}`, "spec.runtime: "},
		{"functions", `{"runtime":"python3.12-alpine"}`, "spec.runtime: "},
		{"functions", `{"timeout":"1.5"}`, "spec.timeout: "},
		{"functions", `{"timeout":180}`, "spec.timeout: "},
		{"functions", `{"checksum":"md5:abc"}`, "spec.checksum: "},
		{"functions", `{"checksum":"sha256:abc"}`, "spec.checksum: "},
		{"functions", `{"deployment":"nginx"}`, "spec.deployment: "},
		{"functions", `{"deployment":{"anything":{"goes":[1]}},"horizontalPodAutoscaler":{"spec":{"maxReplicas":"x"}}}`, ""},
		{"functions", `{"service":{"ports":[{"targetPort":8080}]}}`, "spec.service.ports[0]: missing required"},
		{"functions", `{"service":{"ports":[{"port":"http"}]}}`, "spec.service.ports[0].port: "},
		{"functions", `{"type":"HTTP"}`, "spec.type: unknown field"},
		{"httptriggers", `{"function-name":"f","gateway":"kong"}`, ""},
		{"httptriggers", `{"function-name":"f","gateway":"istio"}`, "spec.gateway: "},
		{"httptriggers", `{"function-name":""}`, "spec.function-name: "},
		{"httptriggers", `{"host-name":"h"}`, "spec: missing required field \"function-name\""},
		{"httptriggers", `{"function-name":"f","tls":"yes"}`, "spec.tls: "},
		{"cronjobtriggers", `{"function-name":"f","schedule":"*/5 * * * *"}`, ""},
		{"kafkatriggers", `{"topic":"t","functionSelector":{"matchLabels":{"a":"b"}},"deadLetterTopic":"dlq","maxRetries":3,"retryBackoff":"1s","atMostOnce":true,"parallelism":4,"maxInFlight":8}`, ""},
		{"kafkatriggers", `{"topic":"","function-name":"f"}`, "spec.topic: "},
		{"kafkatriggers", `{"topic":"t","maxRetries":-1}`, "spec.maxRetries: "},
		{"kafkatriggers", `{"topic":"t","parallelism":0}`, "spec.parallelism: "},
		{"natstriggers", `{"topic":"t","url":"nats://127.0.0.1:4222","function-name":"f"}`, ""},
		{"natstriggers", `{"topic":"t","maxInFlight":"8"}`, "spec.maxInFlight: "},
		{"kinesistriggers", `{"function-name":"f","aws-region":"r","stream":"s","shard":"x","secret":"","endpoint":""}`, ""},
		{"kinesistriggers", `{"function-name":"f","aws-region":"r","stream":"s"}`, "spec: missing required field \"shard\""},
		{"cronjobtriggers", `{"function-name":"f","schedule":"0 0 * * MON-FRI"}`, ""},
		{"cronjobtriggers", `{"function-name":"f","schedule":"@hourly"}`, ""},
		{"cronjobtriggers", `{"function-name":"f","schedule":"@every 10m"}`, ""},
		{"cronjobtriggers", `{"function-name":"f","schedule":"* * * *"}`, "spec.schedule: "},
		{"cronjobtriggers", `{"function-name":"f","schedule":"every minute"}`, "spec.schedule: "},
		{"cronjobtriggers", `{"function-name":"f"}`, "spec: missing required field \"schedule\""},
		{"cronjobtriggers", `{"function-name":"f","schedule":"@daily","payload":"any JSON value"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.plural+" "+tt.spec, func(t *testing.T) {
			var spec any
			if err := json.Unmarshal([]byte(tt.spec), &spec); err != nil {
				t.Fatal(err)
			}
			crd := loadCRD(t, tt.plural)
			obj := map[string]any{"apiVersion": "kubeless.io/v1beta1", "kind": crd.Spec.Names.Kind,
				"metadata": map[string]any{"name": "x"}, "spec": spec}
			errs := validate(obj, crd.Spec.Versions[0].Schema.OpenAPIV3Schema, "", true)
			switch {
			case tt.wantErr == "" && len(errs) > 0:
				t.Errorf("rejected: %v", errs)
			case tt.wantErr != "" && len(errs) == 0:
				t.Errorf("accepted, want an error starting %q", tt.wantErr)
			case tt.wantErr != "" && !strings.HasPrefix(errs[0], tt.wantErr):
				t.Errorf("errors %q, want one starting %q", errs, tt.wantErr)
			}
		})
	}
}

// validate is a small OpenAPI v3 validator covering what our CRDs use: type,
// properties, required, items, additionalProperties, pattern, enum,
// minLength, int-or-string and preserve-unknown-fields. A key the schema does
// not declare is an error, as with kubectl's strict field validation. JSON
// nulls are skipped: the API server drops them for non-nullable fields.
func validate(v any, s *apiextensionsv1.JSONSchemaProps, path string, root bool) []string {
	if v == nil {
		return nil
	}
	at := strings.TrimPrefix(path, ".")
	if s.XIntOrString {
		switch x := v.(type) {
		case string:
			return nil
		case float64:
			if x == math.Trunc(x) {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s: %v is neither an integer nor a string", at, v)}
	}
	preserve := s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	switch s.Type {
	case "":
		if !preserve {
			bad("schema has no type")
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("%v is not an object", v)
			break
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				bad("missing required field %q", r)
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if root && k == "metadata" {
				continue // ObjectMeta is validated by the API server itself
			}
			if p, ok := s.Properties[k]; ok {
				errs = append(errs, validate(m[k], &p, path+"."+k, false)...)
			} else if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
				errs = append(errs, validate(m[k], s.AdditionalProperties.Schema, path+"."+k, false)...)
			} else if !preserve {
				errs = append(errs, fmt.Sprintf("%s: unknown field", strings.TrimPrefix(path+"."+k, ".")))
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			bad("%v is not an array", v)
			break
		}
		for i, item := range l {
			if s.Items != nil && s.Items.Schema != nil {
				errs = append(errs, validate(item, s.Items.Schema, fmt.Sprintf("%s[%d]", path, i), false)...)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("%v is not a string", v)
			break
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			bad("%q does not match %s", str, s.Pattern)
		}
		if s.MinLength != nil && int64(len(str)) < *s.MinLength {
			bad("%q is shorter than %d", str, *s.MinLength)
		}
		if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e apiextensionsv1.JSON) bool { return string(e.Raw) == fmt.Sprintf("%q", str) }) {
			bad("%q is not one of the allowed values", str)
		}
	case "integer":
		x, ok := v.(float64)
		if !ok || x != math.Trunc(x) {
			bad("%v is not an integer", v)
			break
		}
		if s.Minimum != nil && x < *s.Minimum {
			bad("%v is less than %v", v, *s.Minimum)
		}
		if s.Maximum != nil && x > *s.Maximum {
			bad("%v is greater than %v", v, *s.Maximum)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			bad("%v is not a number", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("%v is not a boolean", v)
		}
	default:
		bad("schema type %q not handled by this test", s.Type)
	}
	return errs
}

// structuralErrors checks the rules of a structural schema that generation
// could break: a type on every node (except int-or-string and
// preserve-unknown-fields ones), and list-map keys that are required or
// defaulted.
func structuralErrors(s *apiextensionsv1.JSONSchemaProps, path string, root bool) []string {
	var errs []string
	preserve := s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
	if s.Type == "" && !s.XIntOrString && !preserve {
		errs = append(errs, path+": no type")
	}
	if root && s.Type != "object" {
		errs = append(errs, "root is not an object")
	}
	for k, p := range s.Properties {
		errs = append(errs, structuralErrors(&p, path+"."+k, false)...)
	}
	if s.Items != nil && s.Items.Schema != nil {
		items := s.Items.Schema
		errs = append(errs, structuralErrors(items, path+"[]", false)...)
		if s.XListType != nil && *s.XListType == "map" {
			for _, key := range s.XListMapKeys {
				p, ok := items.Properties[key]
				if !ok || (!slices.Contains(items.Required, key) && p.Default == nil) {
					errs = append(errs, fmt.Sprintf("%s: list-map key %q is neither required nor defaulted", path, key))
				}
			}
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		errs = append(errs, structuralErrors(s.AdditionalProperties.Schema, path+".*", false)...)
	}
	return errs
}

// TestKustomization: config/crd/kustomization.yaml lists exactly the
// generated CRDs.
func TestKustomization(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(crdDir, "..", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, "bases/"+filepath.Base(f))
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config/crd/kustomization.yaml resources (-want +got):\n%s", diff)
	}
}
