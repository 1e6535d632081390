package source

import (
	"errors"
	"testing"
)

func TestParseHandler(t *testing.T) {
	const compat = "failed: incorrect handler format. It should be module_name.handler_name"
	tests := []struct {
		name    string
		in      string
		want    Handler
		wantErr string
	}{
		{name: "simple", in: "hello.foo", want: Handler{Module: "hello", Function: "foo"}},
		{name: "underscores and digits", in: "my_mod2.handler_1", want: Handler{Module: "my_mod2", Function: "handler_1"}},
		{name: "java style class", in: "Foo.bar", want: Handler{Module: "Foo", Function: "bar"}},
		{name: "empty", in: "", wantErr: compat},
		{name: "no dot", in: "hello", wantErr: compat},
		{name: "three parts", in: "a.b.c", wantErr: compat},
		{name: "empty module", in: ".foo", wantErr: compat},
		{name: "empty function", in: "hello.", wantErr: compat},
		{name: "only dot", in: ".", wantErr: compat},
		{name: "dot dot traversal", in: "../x.foo", wantErr: compat},
		{name: "slash in module", in: "dir/hello.foo", wantErr: `handler "dir/hello.foo": module name "dir/hello" must be a plain file name (no "/", "\" or NUL)`},
		{name: "backslash in module", in: `dir\hello.foo`, wantErr: `handler "dir\\hello.foo": module name "dir\\hello" must be a plain file name (no "/", "\" or NUL)`},
		{name: "NUL in function", in: "hello.fo\x00o", wantErr: `handler "hello.fo\x00o": function name must not contain NUL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHandler(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseHandler(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				if tt.wantErr == compat && !errors.Is(err, ErrHandlerFormat) {
					t.Errorf("error is not ErrHandlerFormat")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHandler(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseHandler(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}
