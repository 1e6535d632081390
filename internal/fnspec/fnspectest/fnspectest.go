// Package fnspectest holds the bad Function specs that every caller of
// fnspec must reject with fnspec's message: the validator's table test and
// the callers' tests (CLI, engines, builder, render) share it.
package fnspectest

import "github.com/kubeless/kubeless/internal/fnspec"

// Case is one bad value of one field, set on an otherwise valid spec, and
// the exact one-line message fnspec gives for it.
type Case struct {
	Name    string
	Field   fnspec.Field
	Value   string
	Message string
}

// Apply sets c's field of s to c.Value.
func (c Case) Apply(s *fnspec.Spec) {
	switch c.Field {
	case fnspec.FieldRuntime:
		s.Runtime = c.Value
	case fnspec.FieldHandler:
		s.Handler = c.Value
	case fnspec.FieldContentType:
		s.ContentType = c.Value
	case fnspec.FieldChecksum:
		s.Checksum = c.Value
	case fnspec.FieldTimeout:
		s.Timeout = c.Value
	}
}

// Bad are the bad values whose messages do not depend on a catalog.
var Bad = []Case{
	{"handler without a dot", fnspec.FieldHandler, "hello",
		"failed: incorrect handler format. It should be module_name.handler_name"},
	{"handler with a dot in the file name", fnspec.FieldHandler, "hello.py.foo",
		"failed: incorrect handler format. It should be module_name.handler_name"},
	{"handler leaving the function's folder", fnspec.FieldHandler, "../x.foo",
		`handler "../x.foo": folder ".." must stay inside the function's folder (no empty, "." or ".." parts), for example src/hello.foo`},
	{"handler with an absolute path", fnspec.FieldHandler, "/x.foo",
		`handler "/x.foo": the module's folder must be relative to the function's folder (no leading "/"), for example src/hello.foo`},
	{"unknown content type", fnspec.FieldContentType, "binary",
		"Unable to prepare function of type binary: Unknown format"},
	{"deps without an archive", fnspec.FieldContentType, "base64+deps",
		`content type "base64+deps": +deps needs +zip or +compressedtar (the dependency file is read from the archive)`},
	{"checksum without sha256", fnspec.FieldChecksum, "md5:abc",
		"Unable to verify checksum md5:abc: Unknown format"},
	{"checksum too short", fnspec.FieldChecksum, "sha256:abc",
		`checksum "sha256:abc": want 64 hexadecimal digits after "sha256:"`},
	{"timeout not a number", fnspec.FieldTimeout, "soon",
		`invalid timeout "soon": give a whole number of seconds, for example --timeout 180`},
	{"timeout zero", fnspec.FieldTimeout, "0",
		`invalid timeout "0": give a whole number of seconds, for example --timeout 180`},
}
