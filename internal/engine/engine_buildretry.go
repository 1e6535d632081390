package engine

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/kubeless/kubeless/internal/build"
)

// A build that failed for a reason that may pass (the disk was full, the
// network or a package index could not be reached) is tried again, after
// buildRetryBase, then twice as long each time up to buildRetryMax, for as
// long as the generation is current. A failure of the function itself (a
// package that does not exist, code that does not compile, a bad handler)
// is not retried: the same input fails the same way.
var (
	buildRetryBase = 5 * time.Second
	buildRetryMax  = 5 * time.Minute
)

// transientMarks are what package tools print when the machine, not the
// function, is at fault.
var transientMarks = []string{
	"no space left on device", "enospc", "disk quota exceeded", "edquot",
	"temporary failure in name resolution", "could not resolve host", "name or service not known",
	"eai_again", "getaddrinfo", "connection refused", "econnrefused", "connection reset", "econnreset",
	"connection timed out", "etimedout", "network is unreachable", "enetunreach", "i/o timeout",
	"tls handshake timeout", "503 service unavailable", "502 bad gateway",
}

// transientBuildError reports whether a build failure may pass on its own.
func transientBuildError(err error) bool {
	if err == nil {
		return false
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var pe *build.PhaseError
	if !errors.As(err, &pe) {
		return false
	}
	out := strings.ToLower(pe.Output)
	for _, m := range transientMarks {
		if strings.Contains(out, m) {
			return true
		}
	}
	return false
}

// buildRetryDelay is the wait before retry number attempt (0 for the first).
func buildRetryDelay(attempt int) time.Duration {
	d := buildRetryBase
	for range attempt {
		d *= 2
		if d >= buildRetryMax {
			return buildRetryMax
		}
	}
	return d
}

// retryReason is the line that says why a build failed: the tool's last
// line of output, else the error's first line.
func retryReason(err error) string {
	var pe *build.PhaseError
	if errors.As(err, &pe) {
		lines := strings.Split(strings.TrimSpace(pe.Output), "\n")
		if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
			return last
		}
	}
	return strings.SplitN(err.Error(), "\n", 2)[0]
}
