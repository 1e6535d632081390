//go:build unix

package supervisor

import (
	"bufio"
	"os"
	"testing"
)

// TestExtraFilesEveryRun: the files of Spec.ExtraFiles reach the process as
// fd 3 on its first run and again after each restart (the engine hands an
// instance the listener it bound this way).
func TestExtraFilesEveryRun(t *testing.T) {
	s := newSupervisor(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	spec := taskSpec(t, "fd", "write-fd3", "hello")
	spec.ExtraFiles = []*os.File{w}
	mustStart(t, s, spec)
	br := bufio.NewReader(r)
	for run := 1; run <= 2; run++ {
		line, err := br.ReadString('\n')
		if err != nil || line != "hello\n" {
			t.Fatalf("run %d: fd 3 gave %q, %v; want \"hello\\n\"", run, line, err)
		}
		if run == 1 {
			if err := s.Restart("fd", 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Stop("fd", 0); err != nil {
		t.Fatal(err)
	}
}
