// Package kubeless holds the source of the packages that compiled Go
// functions link against (pkg/contract, pkg/functions, pkg/host and
// pkg/spawn), embedded so that the kubeless binary can compile a Go function
// on a machine without this repository (internal/gobuild).
package kubeless

import "embed"

// Source is this module's go.mod, go.sum and the packages a Go function
// server imports.
//
//go:embed go.mod go.sum pkg/contract/*.go pkg/functions/*.go pkg/host/*.go pkg/spawn/*.go
var Source embed.FS
