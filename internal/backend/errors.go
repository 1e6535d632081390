package backend

import (
	"errors"
	"fmt"
)

// Error codes: what went wrong, the same on both engines.
const (
	CodeNotFound      = "NotFound"
	CodeAlreadyExists = "AlreadyExists"
	CodeInvalid       = "Invalid"
	CodeUnavailable   = "Unavailable"
	CodeInternal      = "Internal"
)

// Error is an engine error: a code and a one-line message. Both engines
// return it (wrapped or not); the local engine's client turns the error
// bodies of its API back into it.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err's *Error, or "" when it has none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsNotFound reports whether err is an *Error with code NotFound.
func IsNotFound(err error) bool { return CodeOf(err) == CodeNotFound }

// IsAlreadyExists reports whether err is an *Error with code AlreadyExists.
func IsAlreadyExists(err error) bool { return CodeOf(err) == CodeAlreadyExists }

// IsInvalid reports whether err is an *Error with code Invalid.
func IsInvalid(err error) bool { return CodeOf(err) == CodeInvalid }
