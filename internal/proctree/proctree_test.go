package proctree

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestDescendantsAndMemory(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 5 & sleep 5; wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var kids []int
	for i := 0; i < 100 && len(kids) < 2; i++ {
		kids, _ = Descendants(cmd.Process.Pid)
	}
	if len(kids) != 2 {
		t.Errorf("descendants of sh with two sleeps: %v", kids)
	}
	self, err := Descendants(os.Getpid())
	if err != nil || !slices.Contains(self, cmd.Process.Pid) {
		t.Errorf("the test's descendants %v lack its child %d (%v)", self, cmd.Process.Pid, err)
	}
	if m := PSS(os.Getpid()); m <= 0 {
		t.Errorf("PSS of the test process = %v MiB", m)
	}
	if _, err := CPUTicks(os.Getpid()); err != nil {
		t.Error(err)
	}
}
