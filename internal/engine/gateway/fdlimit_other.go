//go:build !unix

package gateway

// fdLimit is a conservative guess where there is no RLIMIT_NOFILE.
func fdLimit() uint64 { return 8192 }
