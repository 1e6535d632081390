package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeless/kubeless/internal/engine/api"
)

// engine.log does not grow without bound: past its size it is rotated and
// only LogBackups old files are kept.
func TestEngineLogRotates(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, api.LogName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := LogWriter(home, f)
	if w == f {
		t.Fatal("stderr is the engine log, but LogWriter did not rotate it")
	}
	rl := newRotatingLog(path, 1) // 1 MB for the test
	defer rl.Close()
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	for range 6 * 1024 { // 6 MB
		if _, err := rl.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 1<<20 {
		t.Errorf("engine.log is %d bytes, over its 1 MB limit", st.Size())
	}
	old, _ := filepath.Glob(filepath.Join(home, "engine-*.log"))
	if len(old) == 0 {
		t.Errorf("no rotated file next to engine.log")
	}
	// A daemon in a terminal logs there, unrotated.
	if w := LogWriter(home, os.Stdout); w != os.Stdout {
		t.Errorf("LogWriter for a terminal = %T, want os.Stdout", w)
	}
}
