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

// Handler is a parsed function handler such as "hello.foo".
type Handler struct {
	// Module is the part before the dot: the file name of the function's
	// code without its suffix (env MOD_NAME).
	Module string
	// Function is the part after the dot: the entry point inside the module
	// (env FUNC_HANDLER, and KUBELESS_FUNC_NAME in the compilation phase).
	Function string
}

// String returns "module.function".
func (h Handler) String() string { return h.Module + "." + h.Function }

// ParseHandler parses "module.function". It returns ErrHandlerFormat unless
// the string has exactly one dot with non-empty text on both sides. Because
// the module names a file in the function's folder, a module containing a
// path separator or a NUL byte is refused as well.
func ParseHandler(s string) (Handler, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return Handler{}, ErrHandlerFormat
	}
	h := Handler{Module: parts[0], Function: parts[1]}
	if strings.ContainsAny(h.Module, "/\\\x00") {
		return Handler{}, fmt.Errorf("handler %q: module name %q must be a plain file name (no \"/\", \"\\\" or NUL)", s, h.Module)
	}
	if strings.ContainsRune(h.Function, 0) {
		return Handler{}, fmt.Errorf("handler %q: function name must not contain NUL", s)
	}
	return h, nil
}
