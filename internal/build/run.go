package build

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/kubeless/kubeless/pkg/spawn"
)

// commandError is a failed command with the tail of its output.
type commandError struct {
	err  error
	tail string
}

func (e *commandError) Error() string { return e.err.Error() }

// runCommand runs `/bin/sh -c command` in dir with env, in its own process
// group (killed as a whole when ctx ends), stdin from /dev/null, and stdout
// and stderr both to out (when not nil) and to a buffer of the last
// OutputLines lines.
func runCommand(ctx context.Context, command, dir string, env []string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	tail := newTailWriter(OutputLines)
	var w io.Writer = tail
	if out != nil {
		w = io.MultiWriter(tail, out)
	}
	w = &syncWriter{w: w}
	cmd.Stdout = w
	cmd.Stderr = w
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	err := spawn.Start(cmd) // killed if the engine dies
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &commandError{err: err, tail: tail.String()}
	}
	return nil
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// maxTailLine bounds one kept line; longer lines are cut.
const maxTailLine = 2048

// tailWriter keeps the last n lines written to it.
type tailWriter struct {
	n       int
	lines   []string
	partial []byte
}

func newTailWriter(n int) *tailWriter { return &tailWriter{n: n} }

func (t *tailWriter) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.partial = appendCapped(t.partial, p)
			break
		}
		t.push(string(appendCapped(t.partial, p[:i])))
		t.partial = t.partial[:0]
		p = p[i+1:]
	}
	return written, nil
}

func appendCapped(dst, p []byte) []byte {
	if room := maxTailLine - len(dst); room < len(p) {
		if room < 0 {
			room = 0
		}
		p = p[:room]
	}
	return append(dst, p...)
}

func (t *tailWriter) push(line string) {
	line = strings.TrimRight(line, "\r")
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

// String returns the kept lines, the unfinished last line included.
func (t *tailWriter) String() string {
	lines := t.lines
	if len(t.partial) > 0 {
		lines = append(append([]string(nil), lines...), string(t.partial))
		if len(lines) > t.n {
			lines = lines[len(lines)-t.n:]
		}
	}
	return strings.Join(lines, "\n")
}
