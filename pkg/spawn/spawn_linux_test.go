package spawn

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// taskEnv makes the test binary play a part in a test instead of running
// the tests (the value names the part).
const taskEnv = "KUBELESS_SPAWN_TESTTASK"

func TestMain(m *testing.M) {
	if part := os.Getenv(taskEnv); part != "" {
		os.Exit(runTask(part))
	}
	os.Exit(m.Run())
}

// runTask plays a part:
//
//	parent-<how>  start "child-<how>" with Start, print "child <pid>", wait forever
//	child-spawn   from a thread other than the main one, Exec "replaced"
//	child-plain   the same with syscall.Exec (which drops the signal)
//	replaced      print "replaced <pid> <death signal>", wait forever
func runTask(part string) int {
	self, _ := os.Executable()
	switch {
	case strings.HasPrefix(part, "parent-"):
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), taskEnv+"=child-"+strings.TrimPrefix(part, "parent-"))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := Start(cmd); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("child %d\n", cmd.Process.Pid)
		for {
			time.Sleep(time.Hour) // until the test ends it
		}
	case strings.HasPrefix(part, "child-"):
		var env []string // without this part's name: the first entry wins
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, taskEnv+"=") {
				env = append(env, kv)
			}
		}
		env = append(env, taskEnv+"=replaced")
		errc := make(chan error)
		var onOtherThread func()
		onOtherThread = func() {
			runtime.LockOSThread() // kept locked: the next try gets another thread
			if syscall.Gettid() == os.Getpid() {
				go onOtherThread()
				return
			}
			if part == "child-plain" {
				errc <- syscall.Exec(self, []string{self}, env)
			} else {
				errc <- Exec(self, []string{self}, env)
			}
		}
		go onOtherThread()
		fmt.Fprintln(os.Stderr, <-errc)
		return 1
	case part == "replaced":
		fmt.Printf("replaced %d %d\n", os.Getpid(), startSignal)
		for {
			time.Sleep(time.Hour) // until the test ends it
		}
	}
	fmt.Fprintln(os.Stderr, "unknown part", part)
	return 100
}

// TestDeathSignalSurvivesExec starts a parent that starts a child with
// Start; the child replaces itself from a thread other than its main one;
// then the parent is killed with SIGKILL. With Exec, the replaced child
// dies with the parent. With a plain syscall.Exec it survives: that is the
// kernel behaviour Exec exists for, and it shows the test can fail.
func TestDeathSignalSurvivesExec(t *testing.T) {
	for _, tt := range []struct {
		how      string
		wantDies bool
	}{
		{"spawn", true},
		{"plain", false},
	} {
		t.Run(tt.how, func(t *testing.T) {
			parent := exec.Command(os.Args[0])
			parent.Env = append(os.Environ(), taskEnv+"=parent-"+tt.how)
			stderr := new(strings.Builder)
			parent.Stderr = stderr
			// A surviving child keeps the output pipes open: Wait must not
			// wait for their end.
			parent.WaitDelay = time.Second
			out, err := parent.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := parent.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { parent.Process.Kill(); parent.Wait() })
			r := bufio.NewReader(out)
			var pid, replaced, sig int
			for _, want := range []string{"child", "replaced"} {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("waiting for %q: read %q, %v; stderr: %s", want, line, err, stderr)
				}
				f := strings.Fields(line)
				if len(f) < 2 || f[0] != want {
					t.Fatalf("got %q, want a %q line", line, want)
				}
				if want == "child" {
					pid, _ = strconv.Atoi(f[1])
				} else {
					replaced, _ = strconv.Atoi(f[1])
					sig, _ = strconv.Atoi(f[2])
				}
			}
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			if replaced != pid {
				t.Fatalf("the replaced image runs as pid %d, want %d", replaced, pid)
			}
			if tt.wantDies && sig != int(syscall.SIGKILL) {
				t.Errorf("the replaced image starts with death signal %d, want SIGKILL (%d)", sig, syscall.SIGKILL)
			}
			parent.Process.Signal(syscall.SIGKILL)
			parent.Wait()
			wait := time.Second // the signal is sent at once: a survivor is one by then
			if tt.wantDies {
				wait = 10 * time.Second
			}
			died := waitExit(t, pid, wait)
			if died != tt.wantDies {
				t.Errorf("child %d died with its parent: %v, want %v", pid, died, tt.wantDies)
			}
		})
	}
}

// waitExit reports whether process pid exits within d, waiting on a pidfd.
func waitExit(t *testing.T, pid int, d time.Duration) bool {
	t.Helper()
	fd, _, e := syscall.Syscall(434 /* pidfd_open */, uintptr(pid), 0, 0)
	if e == syscall.ESRCH {
		return true
	}
	if e != 0 {
		t.Fatalf("pidfd_open %d: %v", pid, e)
	}
	defer syscall.Close(int(fd))
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (fd % 64)
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	for {
		n, err := syscall.Select(int(fd)+1, &set, nil, nil, &tv)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("select on pidfd: %v", err)
		}
		return n > 0
	}
}
