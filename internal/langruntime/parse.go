package langruntime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Parse reads a runtime-images value: a JSON or YAML list of runtimes in the
// current form (images with phases) or the legacy form (runtimeImage,
// initImage, compiled), which is converted to phases. Decoding is strict:
// an unknown or duplicated key, a value of the wrong type, a missing ID,
// version or runtime image, an unknown phase and a runtime string defined
// twice are errors that say where, for example
//
//	runtime-images: runtime "python" version "3.11": unknown key "imagez" (known keys: name, version, images, imagePullSecrets)
func Parse(data []byte) (*Catalog, error) {
	c, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("runtime-images: %w", err)
	}
	return c, nil
}

func parse(data []byte) (*Catalog, error) {
	js, err := toJSON(data)
	if err != nil {
		return nil, err
	}
	if k := kindOf(js); k != "list" {
		return nil, fmt.Errorf("want a list of runtimes, got %s", k)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(js, &items); err != nil {
		return nil, err
	}
	c := &Catalog{}
	seen := map[string]bool{}
	for i, raw := range items {
		rt, legacy, err := decodeRuntime(raw, i)
		if err != nil {
			return nil, err
		}
		for _, v := range rt.Versions {
			name := rt.ID + v.Version
			if seen[name] {
				return nil, fmt.Errorf("runtime %q is defined twice", name)
			}
			seen[name] = true
		}
		if legacy {
			c.Warnings = append(c.Warnings, fmt.Sprintf("runtime %q is in the legacy form (runtimeImage, initImage, compiled); it was converted to images with phases", rt.ID))
		}
		c.Runtimes = append(c.Runtimes, rt)
	}
	return c, nil
}

// toJSON returns data as JSON. JSON input is used as is (YAML would reject
// tabs in it); anything else is read as YAML. Duplicate keys are refused in
// both (for JSON by fields).
func toJSON(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty value, want a list of runtimes")
	}
	if trimmed[0] == '[' || trimmed[0] == '{' {
		if !json.Valid(trimmed) {
			var v any
			err := json.Unmarshal(trimmed, &v)
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return trimmed, nil
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	return js, nil
}

// kindOf names the JSON type of raw for error messages.
func kindOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "the number " + string(raw)
}

type field struct {
	key string
	val json.RawMessage
}

// fields returns the keys of a JSON object in order, refusing duplicates.
func fields(raw json.RawMessage, where string) ([]field, error) {
	if k := kindOf(raw); k != "an object" {
		return nil, fmt.Errorf("%s: want an object, got %s", where, k)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	var out []field
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", where, key, err)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s: duplicate key %q", where, key)
		}
		seen[key] = true
		out = append(out, field{key: key, val: val})
	}
	return out, nil
}

func lookupField(fs []field, key string) (json.RawMessage, bool) {
	for _, f := range fs {
		if f.key == key {
			return f.val, true
		}
	}
	return nil, false
}

// unknownKey builds the error for a key that is not in known (nor legacy).
func unknownKey(where, key string, known, legacy []string) error {
	for _, k := range append(append([]string{}, known...), legacy...) {
		if strings.EqualFold(k, key) {
			return fmt.Errorf("%s: unknown key %q (did you mean %q?)", where, key, k)
		}
	}
	hint := "known keys: " + strings.Join(known, ", ")
	if len(legacy) > 0 {
		hint += "; legacy: " + strings.Join(legacy, ", ")
	}
	return fmt.Errorf("%s: unknown key %q (%s)", where, key, hint)
}

func isNull(raw json.RawMessage) bool { return kindOf(raw) == "null" }

func decodeString(raw json.RawMessage, where, key string) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if kindOf(raw) != "a string" || json.Unmarshal(raw, &s) != nil {
		hint := ""
		if strings.HasPrefix(kindOf(raw), "the number") {
			hint = " (quote it)"
			if key == "version" {
				hint = " (quote it in YAML: \"3.10\" is a string, 3.10 is the number 3.1)"
			}
		}
		return "", fmt.Errorf("%s: %q must be a string, got %s%s", where, key, kindOf(raw), hint)
	}
	return s, nil
}

func decodeList(raw json.RawMessage, where, key string) ([]json.RawMessage, error) {
	if isNull(raw) {
		return nil, nil
	}
	if kindOf(raw) != "list" {
		return nil, fmt.Errorf("%s: %q must be a list, got %s", where, key, kindOf(raw))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: %q: %w", where, key, err)
	}
	return items, nil
}

var (
	runtimeKeys       = []string{"ID", "depName", "fileNameSuffix", "livenessProbeInfo", "versions"}
	runtimeLegacyKeys = []string{"compiled"}
	versionKeys       = []string{"name", "version", "images", "imagePullSecrets"}
	versionLegacyKeys = []string{"runtimeImage", "initImage"}
	imageKeys         = []string{"phase", "image", "command", "env", "secrets"}
)

func decodeRuntime(raw json.RawMessage, index int) (Runtime, bool, error) {
	where := fmt.Sprintf("runtime #%d", index+1)
	fs, err := fields(raw, where)
	if err != nil {
		return Runtime{}, false, err
	}
	var rt Runtime
	if v, ok := lookupField(fs, "ID"); ok {
		if rt.ID, err = decodeString(v, where, "ID"); err != nil {
			return Runtime{}, false, err
		}
	}
	switch {
	case rt.ID == "":
		return Runtime{}, false, fmt.Errorf("%s: missing \"ID\"", where)
	case !validIDRe.MatchString(rt.ID):
		return Runtime{}, false, fmt.Errorf("%s: ID %q must be letters, \"_\" and \"-\" only (the version follows it in a runtime string)", where, rt.ID)
	}
	where = fmt.Sprintf("runtime %q", rt.ID)
	var (
		compiled    bool
		hasCompiled bool
		versions    []json.RawMessage
	)
	for _, f := range fs {
		switch f.key {
		case "ID":
		case "depName":
			rt.DepName, err = decodeString(f.val, where, f.key)
			if err == nil && strings.ContainsAny(rt.DepName, "/\\\x00") {
				err = fmt.Errorf("%s: depName %q must be a plain file name", where, rt.DepName)
			}
		case "fileNameSuffix":
			rt.FileNameSuffix, err = decodeString(f.val, where, f.key)
			if err == nil && strings.ContainsAny(rt.FileNameSuffix, "/\\\x00") {
				err = fmt.Errorf("%s: fileNameSuffix %q must not contain a path separator", where, rt.FileNameSuffix)
			}
		case "livenessProbeInfo":
			switch kindOf(f.val) {
			case "null":
			case "an object":
				rt.LivenessProbeInfo = append(json.RawMessage(nil), f.val...)
			default:
				err = fmt.Errorf("%s: \"livenessProbeInfo\" must be an object (a Kubernetes Probe), got %s", where, kindOf(f.val))
			}
		case "versions":
			versions, err = decodeList(f.val, where, f.key)
		case "compiled":
			hasCompiled = true
			if err = json.Unmarshal(f.val, &compiled); err != nil || kindOf(f.val) != "a boolean" {
				err = fmt.Errorf("%s: \"compiled\" must be true or false, got %s", where, kindOf(f.val))
			}
		default:
			err = unknownKey(where, f.key, runtimeKeys, runtimeLegacyKeys)
		}
		if err != nil {
			return Runtime{}, false, err
		}
	}
	if len(versions) == 0 {
		return Runtime{}, false, fmt.Errorf("%s: no versions", where)
	}
	legacy := hasCompiled
	for i, raw := range versions {
		v, isLegacy, err := decodeVersion(raw, where, i, rt.ID, compiled, hasCompiled)
		if err != nil {
			return Runtime{}, false, err
		}
		if i > 0 && isLegacy != legacy {
			return Runtime{}, false, fmt.Errorf("%s: mixes versions in the legacy form (runtimeImage, initImage) with versions that have images", where)
		}
		legacy = isLegacy
		rt.Versions = append(rt.Versions, v)
	}
	if hasCompiled && !legacy {
		return Runtime{}, false, fmt.Errorf("%s: \"compiled\" belongs to the legacy form; with images, give the version a %q phase instead", where, PhaseCompilation)
	}
	return rt, legacy, nil
}

func decodeVersion(raw json.RawMessage, rtWhere string, index int, id string, compiled, hasCompiled bool) (Version, bool, error) {
	where := fmt.Sprintf("%s version #%d", rtWhere, index+1)
	fs, err := fields(raw, where)
	if err != nil {
		return Version{}, false, err
	}
	var v Version
	if val, ok := lookupField(fs, "version"); ok {
		if v.Version, err = decodeString(val, where, "version"); err != nil {
			return Version{}, false, err
		}
	}
	switch {
	case v.Version == "":
		return Version{}, false, fmt.Errorf("%s: missing \"version\"", where)
	case !validVersionRe.MatchString(v.Version):
		return Version{}, false, fmt.Errorf("%s: version %q must be digits and dots (\"3.11\")", where, v.Version)
	}
	where = fmt.Sprintf("%s version %q", rtWhere, v.Version)
	var (
		images                  []json.RawMessage
		hasImages, legacy       bool
		runtimeImage, initImage string
	)
	for _, f := range fs {
		switch f.key {
		case "version":
		case "name":
			v.Name, err = decodeString(f.val, where, f.key)
		case "images":
			hasImages = true
			images, err = decodeList(f.val, where, f.key)
		case "imagePullSecrets":
			v.ImagePullSecrets, err = decodeImageSecrets(f.val, where)
		case "runtimeImage":
			legacy = true
			runtimeImage, err = decodeString(f.val, where, f.key)
		case "initImage":
			legacy = true
			initImage, err = decodeString(f.val, where, f.key)
		default:
			err = unknownKey(where, f.key, versionKeys, versionLegacyKeys)
		}
		if err != nil {
			return Version{}, false, err
		}
	}
	if legacy || (hasCompiled && !hasImages) {
		if hasImages {
			return Version{}, false, fmt.Errorf("%s: has both \"images\" and the legacy runtimeImage/initImage", where)
		}
		v.Images, err = legacyImages(id, v.Version, runtimeImage, initImage, compiled)
		if err != nil {
			return Version{}, false, fmt.Errorf("%s: %w", where, err)
		}
		return v, true, nil
	}
	phases := map[Phase]bool{}
	for i, raw := range images {
		img, err := decodeImage(raw, where, i)
		if err != nil {
			return Version{}, false, err
		}
		if phases[img.Phase] {
			return Version{}, false, fmt.Errorf("%s: phase %q appears twice", where, img.Phase)
		}
		phases[img.Phase] = true
		v.Images = append(v.Images, img)
	}
	if !phases[PhaseRuntime] {
		return Version{}, false, fmt.Errorf("%s: no image with phase %q", where, PhaseRuntime)
	}
	return v, false, nil
}

func decodeImageSecrets(raw json.RawMessage, where string) ([]ImageSecret, error) {
	items, err := decodeList(raw, where, "imagePullSecrets")
	if err != nil {
		return nil, err
	}
	var out []ImageSecret
	for i, item := range items {
		w := fmt.Sprintf("%s imagePullSecrets #%d", where, i+1)
		fs, err := fields(item, w)
		if err != nil {
			return nil, err
		}
		var s ImageSecret
		for _, f := range fs {
			if f.key != "imageSecret" {
				return nil, unknownKey(w, f.key, []string{"imageSecret"}, nil)
			}
			if s.ImageSecret, err = decodeString(f.val, w, f.key); err != nil {
				return nil, err
			}
		}
		if s.ImageSecret == "" {
			return nil, fmt.Errorf("%s: missing \"imageSecret\"", w)
		}
		out = append(out, s)
	}
	return out, nil
}

func decodeImage(raw json.RawMessage, vWhere string, index int) (Image, error) {
	where := fmt.Sprintf("%s image #%d", vWhere, index+1)
	fs, err := fields(raw, where)
	if err != nil {
		return Image{}, err
	}
	var img Image
	if val, ok := lookupField(fs, "phase"); ok {
		p, err := decodeString(val, where, "phase")
		if err != nil {
			return Image{}, err
		}
		img.Phase = Phase(p)
	}
	switch img.Phase {
	case PhaseInstallation, PhaseCompilation, PhaseRuntime:
	case "":
		return Image{}, fmt.Errorf("%s: missing \"phase\" (one of installation, compilation, runtime)", where)
	default:
		return Image{}, fmt.Errorf("%s: unknown phase %q (one of installation, compilation, runtime)", where, img.Phase)
	}
	where = fmt.Sprintf("%s phase %q", vWhere, img.Phase)
	for _, f := range fs {
		switch f.key {
		case "phase":
		case "image":
			img.Image, err = decodeString(f.val, where, f.key)
		case "command":
			img.Command, err = decodeString(f.val, where, f.key)
		case "env":
			img.Env, err = decodeEnv(f.val, where)
		case "secrets":
			img.Secrets, err = decodeSecrets(f.val, where)
		default:
			err = unknownKey(where, f.key, imageKeys, nil)
		}
		if err != nil {
			return Image{}, err
		}
	}
	if img.Image == "" {
		return Image{}, fmt.Errorf("%s: missing \"image\"", where)
	}
	if img.Phase != PhaseRuntime && strings.TrimSpace(img.Command) == "" {
		return Image{}, fmt.Errorf("%s: missing \"command\"", where)
	}
	return img, nil
}

func decodeEnv(raw json.RawMessage, where string) (map[string]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	fs, err := fields(raw, where+" env")
	if err != nil {
		return nil, err
	}
	env := make(map[string]string, len(fs))
	for _, f := range fs {
		if f.key == "" || strings.ContainsAny(f.key, "=\x00") {
			return nil, fmt.Errorf("%s env: invalid variable name %q", where, f.key)
		}
		v, err := decodeString(f.val, where+" env", f.key)
		if err != nil {
			return nil, err
		}
		env[f.key] = v
	}
	return env, nil
}

func decodeSecrets(raw json.RawMessage, where string) ([]Secret, error) {
	items, err := decodeList(raw, where, "secrets")
	if err != nil {
		return nil, err
	}
	var out []Secret
	for i, item := range items {
		w := fmt.Sprintf("%s secrets #%d", where, i+1)
		fs, err := fields(item, w)
		if err != nil {
			return nil, err
		}
		var s Secret
		for _, f := range fs {
			if f.key != "name" {
				return nil, unknownKey(w, f.key, []string{"name"}, nil)
			}
			if s.Name, err = decodeString(f.val, w, f.key); err != nil {
				return nil, err
			}
		}
		if s.Name == "" {
			return nil, fmt.Errorf("%s: missing \"name\"", w)
		}
		out = append(out, s)
	}
	return out, nil
}
