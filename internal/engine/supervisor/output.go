package supervisor

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLineBytes is the longest line kept whole; longer ones are split.
const maxLineBytes = 32 << 10

// ringLines is the number of lines kept in memory per process, for Status
// and for Tail and Follow when the spec has no log file.
const ringLines = 100

// ring keeps the last ringLines lines.
type ring struct {
	lines []string
	next  int // where the next line goes once lines is full
}

func (r *ring) add(line string) {
	if len(r.lines) < ringLines {
		r.lines = append(r.lines, line)
		return
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % ringLines
}

// last returns the last n lines (all if n < 0) in order.
func (r *ring) last(n int) []string {
	all := append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...)
	if n >= 0 && n < len(all) {
		all = all[len(all)-n:]
	}
	if len(all) == 0 {
		return nil
	}
	return all
}

// logFile appends lines to a file, rotating it to path.1 when it would
// grow past max bytes.
type logFile struct {
	path   string
	max    int64
	f      *os.File
	size   int64
	failed bool // a write error was reported
}

func openLog(path string, max int64) (*logFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &logFile{path: path, max: max, f: f, size: fi.Size()}, nil
}

func (l *logFile) writeLine(line string) error {
	n := int64(len(line)) + 1
	if l.f == nil || (l.size > 0 && l.size+n > l.max) {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	buf := make([]byte, 0, n)
	buf = append(append(buf, line...), '\n')
	w, err := l.f.Write(buf)
	l.size += int64(w)
	return err
}

// rotate moves the file to path.1 and starts a new one.
func (l *logFile) rotate() error {
	if l.f != nil {
		l.f.Close()
		l.f = nil
		if err := os.Rename(l.path, l.path+".1"); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	l.f, l.size = f, 0
	return nil
}

func (l *logFile) close() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// tailLog returns the last n lines (all if n < 0) of the log at path,
// with the rotated path.1 before it.
func tailLog(path string, n int) ([]string, error) {
	lines, err := tailFile(path, n)
	if err != nil {
		return nil, err
	}
	if n >= 0 && len(lines) >= n {
		return lines, nil
	}
	rest := -1
	if n >= 0 {
		rest = n - len(lines)
	}
	older, err := tailFile(path+".1", rest)
	if err != nil {
		return nil, err
	}
	return append(older, lines...), nil
}

// tailFile returns the last n lines (all if n < 0) of a file, reading it
// from the end. A missing file has no lines.
func tailFile(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	const chunk = 32 << 10
	off := fi.Size()
	var buf []byte
	for off > 0 && (n < 0 || bytes.Count(buf, []byte{'\n'}) <= n) {
		size := min(chunk, off)
		off -= size
		b := make([]byte, size, int(size)+len(buf))
		if _, err := f.ReadAt(b, off); err != nil {
			return nil, err
		}
		buf = append(b, buf...)
	}
	if len(buf) == 0 {
		return nil, nil
	}
	lines := strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")
	if off > 0 {
		lines = lines[1:] // the first one is cut
	}
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}
