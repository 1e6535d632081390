package supervisor

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestEngineDeathKillsProcesses runs a Supervisor in a helper process,
// kills that process with SIGKILL, and checks that its child dies too
// (pkg/spawn's parent-death signal).
func TestEngineDeathKillsProcesses(t *testing.T) {
	cmd := exec.Command(os.Args[0], "supervise")
	cmd.Env = append(os.Environ(), taskEnv+"=1")
	cmd.Stderr = new(strings.Builder)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper said %q, %v; stderr: %s", line, err, cmd.Stderr)
	}
	pid := pidAfter(t, []string{strings.TrimSpace(line)}, "child")
	if !alive(pid) {
		t.Fatalf("child %d is not alive", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitDead(t, "the child of the killed engine", pid)
}
