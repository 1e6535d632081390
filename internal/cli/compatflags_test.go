package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOriginalFlagsExitCodes: the original CLI's flags through Main, on
// each engine: a flag the local engine cannot honour and a bad value are
// usage errors (exit 2, one line, then the usage); --dryrun prints the
// Function and exits 0 without reaching an engine (none runs here).
func TestOriginalFlagsExitCodes(t *testing.T) {
	dir := t.TempDir()
	code := filepath.Join(dir, "hello.py")
	if err := os.WriteFile(code, []byte("def foo(event, context):\n    return 'hi'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deploy := []string{"function", "deploy", "hello", "-r", "python3.12", "--handler", "hello.foo", "-f", code}
	tests := []struct {
		name    string
		engine  string
		args    []string
		want    int
		wantOut string // prefix of stdout
		wantErr string // first line of stderr
	}{
		{name: "local refuses --headless", engine: "local", args: append(deploy, "--headless"), want: 2,
			wantErr: "Error: --headless needs the Kubernetes engine: the local engine has no Services: its gateway routes /<function> to the function's instances"},
		{name: "local refuses --env-from-secret", engine: "local", args: append(deploy, "--env-from-secret", "creds"), want: 2,
			wantErr: "Error: --env-from-secret needs the Kubernetes engine: the local engine has no Secrets (pass values with --env)"},
		{name: "local refuses --tls-secret", engine: "local", args: []string{"trigger", "http", "create", "web", "--function-name", "hello", "--hostname", "h.local", "--tls-secret", "cert"}, want: 2,
			wantErr: "Error: --tls-secret needs the Kubernetes engine: the local gateway serves plain HTTP on this machine (TLS is the Ingress controller's)"},
		{name: "local dry run", engine: "local", args: append(deploy, "--dryrun", "-o", "json"), want: 0, wantOut: "{\n  \"kind\": \"Function\""},
		{name: "kubernetes: bad pull policy", engine: "kubernetes", args: append(deploy, "--image-pull-policy", "sometimes"), want: 2,
			wantErr: `Error: invalid --image-pull-policy "sometimes": use Always, IfNotPresent or Never`},
		{name: "kubernetes: both TLS flags", engine: "kubernetes", args: []string{"trigger", "http", "create", "web", "--function-name", "hello", "--hostname", "h.example.com", "--enableTLSAcme", "--tls-secret", "cert"}, want: 2,
			wantErr: "Error: Cannot specify both --enableTLSAcme and --tls-secret"},
		{name: "kubernetes: dry run", engine: "kubernetes", args: append(deploy, "--headless", "--servicePort", "80", "--dryrun"), want: 0, wantOut: "apiVersion: kubeless.io/v1beta1\nkind: Function\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBELESS_ENGINE", tt.engine)
			t.Setenv("KUBELESS_HOME", t.TempDir())
			// No cluster: a dry run must not need one.
			t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
			var stdout, stderr bytes.Buffer
			got := Main(tt.args, strings.NewReader(""), &stdout, &stderr)
			if got != tt.want {
				t.Fatalf("Main(%q) = %d, want %d; stderr:\n%s", tt.args, got, tt.want, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), tt.wantOut) {
				t.Errorf("stdout = %q, want prefix %q", stdout.String(), tt.wantOut)
			}
			first, rest, _ := strings.Cut(stderr.String(), "\n")
			if tt.wantErr != "" {
				if first != tt.wantErr {
					t.Errorf("stderr's first line = %q, want %q", first, tt.wantErr)
				}
				if !strings.Contains(rest, "Usage:") {
					t.Errorf("no usage after a usage error; stderr:\n%s", stderr.String())
				}
			} else if stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
		})
	}
}
