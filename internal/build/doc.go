// Package build builds functions on this machine: it materialises a
// function's source into a folder (the install volume) and runs the catalog's
// installation and compilation commands there, as the init containers of a
// function's pod do in a cluster, with the same commands and environment
// (KUBELESS_INSTALL_VOLUME, KUBELESS_DEPS_FILE, KUBELESS_FUNC_NAME).
//
// Builds are kept in a content-addressed cache: building an unchanged
// function again, or for a second replica, returns the folder built before
// without running anything.
//
// Catalog commands run as `/bin/sh -c <command>` exactly as the catalog
// gives them; the function's values reach them only through environment
// variables. The helper commands that catalog commands name
// (kubeless-npm-install, kubeless-go-compile) are put first on PATH in a
// folder of shims: shell scripts embedded in this package (see Scripts), and
// tools written in Go that re-execute the current binary (see ToolFunc and
// RunTool).
//
// The package also finds the local interpreters and compilers that can run
// each runtime of the catalog (Detect), for `kubeless runtime ls`.
//
// It imports no Kubernetes package.
package build
