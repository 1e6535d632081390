// Package store keeps the local engine's state (function definitions,
// triggers) as values under slash-separated keys such as
// "functions/default/hello".
//
// Store is the interface; Mem keeps values in memory (for tests) and File
// keeps one file per key in a folder, written so that a crash at any point
// (of the process or, with a filesystem that honours fsync, of the machine)
// leaves every key with either its old or its new value, never a part of
// one. Lock takes the cross-process lock that lets one engine at a time own
// a folder.
//
// The package imports nothing from this module and no Kubernetes package.
// It is internal; its API is not stable.
package store
