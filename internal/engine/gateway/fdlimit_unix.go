//go:build unix

package gateway

import "syscall"

// fdLimit is the soft limit on open files (the Go runtime raises it to the
// hard limit at start).
func fdLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 1024
	}
	return uint64(r.Cur)
}
