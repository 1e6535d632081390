// Package langruntime is the runtime catalog: the "runtime-images" key of the
// kubeless-config ConfigMap, which lists each language (ID), its versions,
// and per version the images and shell commands of the build phases
// (installation, compilation) and the runtime.
//
// Parse reads a catalog strictly (JSON or YAML; an unknown key is an error
// that names it) and also accepts the legacy form with runtimeImage,
// initImage and compiled. Default returns the catalog built into the binary.
// Catalog.Lookup resolves a runtime string such as "python3.11".
//
// The package is pure (ARCHITECTURE.md §3): no programs are run, no network is
// used and no environment is read. The local build (internal/build) and the
// Kubernetes renderer both take their commands and environment from here.
package langruntime
