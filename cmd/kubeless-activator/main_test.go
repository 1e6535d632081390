package main

import "testing"

func TestRunRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--max-held", "0"}, "invalid --max-held 0: want 1 or more"},
		{[]string{"--hold-timeout", "0s"}, "invalid --hold-timeout 0s: want a positive duration such as 60s"},
		{[]string{"--kubeconfig", "/nonexistent/kubeconfig"}, ""},
	}
	for _, tt := range tests {
		err := run(tt.args)
		if err == nil {
			t.Errorf("run(%q) = nil, want an error", tt.args)
			continue
		}
		if tt.want != "" && err.Error() != tt.want {
			t.Errorf("run(%q) = %q, want %q", tt.args, err, tt.want)
		}
	}
}
