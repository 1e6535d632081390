//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Lock takes an exclusive lock on the folder dir (created if needed) for
// as long as the process runs or until unlock is called, so that one
// process at a time owns it; the engine locks KUBELESS_HOME this way. It
// does not wait: if another process (or another Lock call in this one)
// holds the lock, it returns a *LockedError naming the holder's pid when
// known.
//
// The lock is an flock(2) on dir/.lock, which holds the owner's pid. The
// kernel drops it when the owner exits, even by SIGKILL, so a crashed
// engine never leaves a stale lock. The file is closed on exec, so the
// processes that the engine starts do not hold the lock. unlock is safe to
// call more than once.
func Lock(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		defer f.Close()
		buf := make([]byte, 32)
		n, _ := f.ReadAt(buf, 0)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
		return nil, &LockedError{Path: path, PID: pid}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid is only a hint for the error above; failing to write it
	// does not weaken the lock.
	if f.Truncate(0) == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			f.Truncate(0)
			syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		})
	}, nil
}
