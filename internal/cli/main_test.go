package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestMainExitCodes: 0 on success, 2 with the usage for a wrong flag,
// argument or command, 1 for a runtime failure, and a command's own code.
func TestMainExitCodes(t *testing.T) {
	t.Setenv("KUBELESS_ENGINE", "local")
	t.Setenv("KUBELESS_HOME", t.TempDir())
	tests := []struct {
		name      string
		args      []string
		want      int
		wantOut   string
		wantErr   string // first line of stderr
		wantUsage bool
	}{
		{name: "version", args: []string{"version"}, want: 0, wantOut: "Kubeless version: " + Version + "\n"},
		{name: "unknown flag", args: []string{"version", "--nope"}, want: 2, wantErr: "Error: unknown flag: --nope", wantUsage: true},
		{name: "unknown command", args: []string{"nope"}, want: 2, wantErr: "Error: unknown command \"nope\" for \"kubeless\"", wantUsage: true},
		{name: "unknown sub-command", args: []string{"function", "nope"}, want: 2, wantErr: "Error: unknown command \"nope\" for \"kubeless function\"", wantUsage: true},
		{name: "unknown sub-command deeper", args: []string{"trigger", "http", "nope"}, want: 2, wantErr: "Error: unknown command \"nope\" for \"kubeless trigger http\"", wantUsage: true},
		{name: "command group alone", args: []string{"function"}, want: 0, wantOut: "Deploy, update, list, call and remove functions"},
		{name: "missing argument", args: []string{"function", "delete"}, want: 2,
			wantErr: "Error: delete: the function name is required, for example: kubeless function delete hello", wantUsage: true},
		{name: "invalid engine", args: []string{"function", "ls", "--engine", "nope"}, want: 2,
			wantErr: `Error: invalid --engine "nope": use local or kubernetes`, wantUsage: true},
		{name: "runtime failure", args: []string{"runtime", "run", "cobol1"}, want: 1},
		{name: "own code", args: []string{"local", "status"}, want: 1, wantOut: "The local engine is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := Main(tt.args, strings.NewReader(""), &stdout, &stderr)
			if got != tt.want {
				t.Fatalf("Main(%q) = %d, want %d; stderr:\n%s", tt.args, got, tt.want, stderr.String())
			}
			if tt.wantOut != "" && !strings.HasPrefix(stdout.String(), tt.wantOut) {
				t.Errorf("stdout = %q, want prefix %q", stdout.String(), tt.wantOut)
			}
			first, rest, _ := strings.Cut(stderr.String(), "\n")
			if tt.wantErr != "" && first != tt.wantErr {
				t.Errorf("stderr's first line = %q, want %q", first, tt.wantErr)
			}
			if usage := strings.Contains(rest, "Usage:"); usage != tt.wantUsage {
				t.Errorf("usage shown: %v, want %v; stderr:\n%s", usage, tt.wantUsage, stderr.String())
			}
		})
	}
}
