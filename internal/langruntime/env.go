package langruntime

import "strings"

// Expand replaces the Kubernetes-style references $(NAME) in s by vars[NAME],
// as a kubelet does for container env: "$$" stands for a literal "$", and a
// reference to a name not in vars is left as it is.
func Expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// ExpandEnv returns a copy of env with each value passed through Expand.
func ExpandEnv(env []EnvVar, vars map[string]string) []EnvVar {
	if env == nil {
		return nil
	}
	out := make([]EnvVar, len(env))
	for i, e := range env {
		out[i] = EnvVar{Name: e.Name, Value: Expand(e.Value, vars)}
	}
	return out
}
