package store

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned (wrapped) by Get and Delete for a key that has no
// value.
var ErrNotFound = errors.New("not found")

// ErrInvalidKey is wrapped by the *KeyError that every method returns for a
// malformed key or prefix.
var ErrInvalidKey = errors.New("invalid key")

// ErrEmptyValue is returned by Put for an empty value: File keeps an empty
// file as the sign of damage, so an empty value could not be told apart
// from one. Use Delete to remove a key.
var ErrEmptyValue = errors.New("empty value")

// ErrUnreadable is wrapped by the errors that File returns for a value it
// cannot read back: an empty file (which a Put never leaves), or a file the
// process may not read.
var ErrUnreadable = errors.New("unreadable value")

// Store persists values under keys and produces them back on request.
//
// A key is one or more segments separated by '/'. A segment is made of the
// characters [a-z0-9._-] and starts with a letter or a digit, so "..",
// empty segments, and leading or trailing slashes are rejected with a
// *KeyError. Keys sort as strings.
//
// Implementations are safe for concurrent use. A value passed to Put is
// copied, and a value returned by Get or List belongs to the caller.
type Store interface {
	// Get returns the value stored under key, or an error wrapping
	// ErrNotFound if the key has none.
	Get(key string) ([]byte, error)

	// Put stores value under key, replacing any previous value. When Put
	// returns nil the value is durable. Values must not be empty
	// (ErrEmptyValue).
	Put(key string, value []byte) error

	// Delete removes key and its value. It returns an error wrapping
	// ErrNotFound if the key had no value; callers that do not care can
	// ignore that with errors.Is.
	Delete(key string) error

	// List returns the entries whose key starts with prefix, sorted by
	// key. The prefix is compared as a string: "functions/" lists every
	// key under functions, "functions/default/h" lists functions of the
	// default namespace whose name starts with h, and "" lists everything.
	//
	// When some values cannot be read (see ErrUnreadable), List returns the
	// other entries together with an error that names each unreadable
	// key, so that one damaged value does not hide the rest.
	List(prefix string) ([]Entry, error)
}

// Entry is one key and its value, as returned by List.
type Entry struct {
	Key   string // the key, e.g. "functions/default/hello"
	Value []byte // its value
}

// KeyError reports a malformed key or prefix. It wraps ErrInvalidKey.
type KeyError struct {
	Key    string // the key as given
	Reason string // what is wrong, e.g. "segment 2 is empty"
}

// Error says what is wrong with the key and what a key looks like.
func (e *KeyError) Error() string {
	return fmt.Sprintf("invalid key %q: %s; a key is slash-separated segments of [a-z0-9._-] "+
		"that start with a letter or digit, like \"functions/default/hello\"", e.Key, e.Reason)
}

// Unwrap returns ErrInvalidKey.
func (e *KeyError) Unwrap() error { return ErrInvalidKey }

// ValidateKey returns a *KeyError if key is not a valid key (see Store).
func ValidateKey(key string) error {
	if key == "" {
		return &KeyError{Key: key, Reason: "empty key"}
	}
	if key[0] == '/' {
		return &KeyError{Key: key, Reason: "leading slash"}
	}
	if key[len(key)-1] == '/' {
		return &KeyError{Key: key, Reason: "trailing slash"}
	}
	if len(key) > maxKeyLen {
		return &KeyError{Key: key, Reason: fmt.Sprintf("longer than %d bytes", maxKeyLen)}
	}
	for i, seg := range strings.Split(key, "/") {
		if err := checkSegment(seg); err != "" {
			return &KeyError{Key: key, Reason: fmt.Sprintf("segment %d %s", i+1, err)}
		}
	}
	return nil
}

// maxKeyLen keeps the file name of a key (see fileName) under the 255-byte
// limit of common filesystems. It leaves room for a namespace and a name
// of 63 characters each under a prefix such as "triggers/cronjob/".
const maxKeyLen = 250

func checkSegment(seg string) string {
	switch seg {
	case "":
		return "is empty"
	case ".", "..":
		return fmt.Sprintf("is %q", seg)
	}
	for i, c := range seg {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '-':
			if i == 0 {
				return fmt.Sprintf("%q starts with %q", seg, c)
			}
		default:
			return fmt.Sprintf("%q has the character %q", seg, c)
		}
	}
	return ""
}

// validatePrefix accepts "" and any valid key, with or without a trailing
// slash.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := ValidateKey(strings.TrimSuffix(prefix, "/")); err != nil {
		err.(*KeyError).Key = prefix
		return err
	}
	return nil
}
