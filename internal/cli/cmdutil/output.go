package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// CheckOutput accepts "", "json" and "yaml" (with "wide" when wide), and
// otherwise returns the original's FlagError.
func CheckOutput(c *cobra.Command, out string, wide bool) error {
	switch out {
	case "", "json", "yaml":
		return nil
	case "wide":
		if wide {
			return nil
		}
	}
	return FlagErrorf(c, "Wrong output format. Please use only json|yaml")
}

// PrintOutput prints v as JSON (2-space indent) or YAML; format must be
// "json" or "yaml".
func PrintOutput(w io.Writer, format string, v any) error {
	if format == "yaml" {
		return PrintYAML(w, v)
	}
	return PrintJSON(w, v)
}

// PrintJSON prints v as JSON with a 2-space indent.
func PrintJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// PrintYAML prints v as YAML.
func PrintYAML(w io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
