package source

import (
	"errors"
	"fmt"
	"strings"
)

// ErrHandlerFormat is returned by ParseHandler when the handler does not split
// into exactly two non-empty parts at ".". Its text is the original Kubeless
// controller's message, byte for byte, because scripts match on it.
var ErrHandlerFormat = errors.New("failed: incorrect handler format. It should be module_name.handler_name")

// Handler is a parsed function handler such as "hello.foo" or
// "src/api/hello.foo".
type Handler struct {
	// Module is the part before the dot: the path of the function's code
	// file without its suffix, relative to the function's folder, with "/"
	// between folders ("hello", "src/api/hello"); env MOD_NAME.
	Module string
	// Function is the part after the dot: the entry point inside the module
	// (env FUNC_HANDLER, and KUBELESS_FUNC_NAME in the compilation phase).
	Function string
}

// String returns "module.function".
func (h Handler) String() string { return h.Module + "." + h.Function }

// Dir returns the folder of the module, "" when it is at the top of the
// function's folder ("src/api" of "src/api/hello").
func (h Handler) Dir() string {
	if i := strings.LastIndexByte(h.Module, '/'); i >= 0 {
		return h.Module[:i]
	}
	return ""
}

// File returns the module's file name without its folder ("hello").
func (h Handler) File() string { return h.Module[strings.LastIndexByte(h.Module, '/')+1:] }

// ParseHandler parses "module.function", where the module may sit in a
// sub-folder of the function's folder: "src/api/hello.foo". It returns
// ErrHandlerFormat unless the function (after the last dot) and the module's
// file name (between the last "/" and that dot) are non-empty and the file
// name has no dot. The folder must stay inside the function's folder: an
// absolute path, an empty, "." or ".." part, a "\" or a NUL byte is refused
// with a one-line error that says so.
func ParseHandler(s string) (Handler, error) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return Handler{}, ErrHandlerFormat
	}
	h := Handler{Module: s[:i], Function: s[i+1:]}
	dir, file := "", h.Module
	if j := strings.LastIndexByte(h.Module, '/'); j >= 0 {
		dir, file = h.Module[:j], h.Module[j+1:]
	}
	if h.Function == "" || file == "" || strings.Contains(file, ".") {
		return Handler{}, ErrHandlerFormat
	}
	if strings.ContainsAny(h.Module, "\\\x00") {
		return Handler{}, fmt.Errorf("handler %q: module %q must use \"/\" between folders and hold no \"\\\" or NUL, for example src/hello.foo", s, h.Module)
	}
	if strings.HasPrefix(h.Module, "/") {
		return Handler{}, fmt.Errorf("handler %q: the module's folder must be relative to the function's folder (no leading \"/\"), for example src/hello.foo", s)
	}
	if dir != "" {
		for _, part := range strings.Split(dir, "/") {
			if part == "" || part == "." || part == ".." {
				return Handler{}, fmt.Errorf("handler %q: folder %q must stay inside the function's folder (no empty, \".\" or \"..\" parts), for example src/hello.foo", s, dir)
			}
		}
	}
	if strings.ContainsRune(h.Function, 0) {
		return Handler{}, fmt.Errorf("handler %q: function name must not contain NUL", s)
	}
	return h, nil
}
