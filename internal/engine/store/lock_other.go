//go:build !unix

package store

import (
	"errors"
	"fmt"
	"runtime"
)

// Lock is not supported without flock(2); it always fails, so that no two
// engines share a folder unknowingly.
func Lock(dir string) (unlock func(), err error) {
	return nil, fmt.Errorf("lock %s: on %s: %w", dir, runtime.GOOS, errors.ErrUnsupported)
}
