// Package source handles a function's source as the user gives it: the
// handler ("module.function"), the content type (text, base64 or url, each
// optionally +zip or +compressedtar, and +deps), the sha256 checksum, and the
// safe extraction of zip and tar archives into a folder.
//
// The package is pure in the sense of ARCHITECTURE.md §3: it runs no programs,
// opens no network connections and reads no environment. The only side effect
// is Extract writing the archive's files into the folder it is given.
package source
