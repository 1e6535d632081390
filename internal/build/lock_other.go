//go:build !unix

package build

import "context"

// lockFile is a no-op where flock is missing: concurrent builds of one key
// then both run, and the first rename wins (see buildLocked).
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
