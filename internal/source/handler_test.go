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
		{name: "sub-folder", in: "src/hello.foo", want: Handler{Module: "src/hello", Function: "foo"}},
		{name: "nested sub-folders with dots", in: "src/v1.2/hello.foo", want: Handler{Module: "src/v1.2/hello", Function: "foo"}},
		{name: "sub-folder, three parts", in: "src/a.b.c", wantErr: compat},
		{name: "sub-folder, no function", in: "src/hello", wantErr: compat},
		{name: "dot dot traversal", in: "../x.foo",
			wantErr: `handler "../x.foo": folder ".." must stay inside the function's folder (no empty, "." or ".." parts), for example src/hello.foo`},
		{name: "dot dot inside", in: "src/../../x.foo",
			wantErr: `handler "src/../../x.foo": folder "src/../.." must stay inside the function's folder (no empty, "." or ".." parts), for example src/hello.foo`},
		{name: "dot part", in: "./hello.foo",
			wantErr: `handler "./hello.foo": folder "." must stay inside the function's folder (no empty, "." or ".." parts), for example src/hello.foo`},
		{name: "empty part", in: "src//hello.foo",
			wantErr: `handler "src//hello.foo": folder "src/" must stay inside the function's folder (no empty, "." or ".." parts), for example src/hello.foo`},
		{name: "absolute", in: "/etc/hello.foo",
			wantErr: `handler "/etc/hello.foo": the module's folder must be relative to the function's folder (no leading "/"), for example src/hello.foo`},
		{name: "absolute at the root", in: "/hello.foo",
			wantErr: `handler "/hello.foo": the module's folder must be relative to the function's folder (no leading "/"), for example src/hello.foo`},
		{name: "backslash in module", in: `dir\hello.foo`, wantErr: `handler "dir\\hello.foo": module "dir\\hello" must use "/" between folders and hold no "\" or NUL, for example src/hello.foo`},
		{name: "NUL in module", in: "src/he\x00llo.foo", wantErr: `handler "src/he\x00llo.foo": module "src/he\x00llo" must use "/" between folders and hold no "\" or NUL, for example src/hello.foo`},
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

func TestHandlerDirFile(t *testing.T) {
	for _, tt := range []struct{ module, dir, file string }{
		{"hello", "", "hello"},
		{"src/hello", "src", "hello"},
		{"src/v1.2/hello", "src/v1.2", "hello"},
	} {
		h := Handler{Module: tt.module, Function: "foo"}
		if h.Dir() != tt.dir || h.File() != tt.file {
			t.Errorf("Handler{Module: %q}: Dir() = %q, File() = %q; want %q, %q", tt.module, h.Dir(), h.File(), tt.dir, tt.file)
		}
	}
}
