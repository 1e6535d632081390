//go:build unix

package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeless/kubeless/pkg/spawn"
)

// taskEnv makes the test binary act as a supervised process (nomad's
// testtask pattern) instead of running the tests; see runTask.
const taskEnv = "KUBELESS_SUPERVISOR_TESTTASK"

func TestMain(m *testing.M) {
	if os.Getenv(taskEnv) != "" {
		os.Exit(runTask(os.Args[1:]))
	}
	// Start pkg/spawn's thread (one goroutine for the life of the
	// process) before any test counts goroutines.
	warm := exec.Command(os.Args[0], "exit", "0")
	warm.Env = append(os.Environ(), taskEnv+"=1")
	if err := spawn.Start(warm); err != nil {
		fmt.Fprintln(os.Stderr, "start the spawn thread:", err)
		os.Exit(1)
	}
	warm.Wait()
	os.Exit(m.Run())
}

// runTask runs a script of commands given as arguments, in order:
//
//	echo TEXT             print TEXT and a newline to stdout
//	print N               print "line 1" … "line N", odd ones to stdout, even ones to stderr
//	bytes N               print one line of N 'x'
//	fill N SIZE           print N lines of SIZE bytes: "000001 xxx…"
//	no-newline TEXT       print TEXT with no newline
//	pid                   print "pid <pid>"
//	sleep DURATION        sleep
//	exit N                exit with status N
//	write-fd3 TEXT        print TEXT and a newline to file descriptor 3
//	kill-self             kill itself with SIGKILL
//	ignore-term           ignore SIGTERM from now on
//	note-term             from now on, print "got-term" for each SIGTERM and go on
//	wait-file PATH        wait until PATH exists
//	spawn-grandchild MODE start this binary in the same process group, ignoring SIGTERM
//	                      (MODE ignore-term) or not (MODE plain); print "grandchild <pid>",
//	                      and the grandchild prints "grandchild-ready" once set up; the
//	                      script goes on once it did
//	supervise             run a Supervisor with a child "pid sleep 1h", print "child <pid>"
//
// It sleeps forever at the end of the script; tests end it.
func runTask(args []string) int {
	next := func() string {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "testtask: missing argument")
			os.Exit(100)
		}
		a := args[0]
		args = args[1:]
		return a
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testtask:", err)
			os.Exit(100)
		}
		return n
	}
	for len(args) > 0 {
		switch cmd := next(); cmd {
		case "echo":
			fmt.Println(next())
		case "print":
			n := atoi(next())
			for i := 1; i <= n; i++ {
				w := os.Stdout
				if i%2 == 0 {
					w = os.Stderr
				}
				fmt.Fprintf(w, "line %d\n", i)
			}
		case "bytes":
			fmt.Println(strings.Repeat("x", atoi(next())))
		case "fill":
			n, size := atoi(next()), atoi(next())
			for i := 1; i <= n; i++ {
				fmt.Printf("%06d %s\n", i, strings.Repeat("x", size-7))
			}
		case "no-newline":
			fmt.Print(next())
		case "pid":
			fmt.Printf("pid %d\n", os.Getpid())
		case "sleep":
			d, err := time.ParseDuration(next())
			if err != nil {
				fmt.Fprintln(os.Stderr, "testtask:", err)
				return 100
			}
			time.Sleep(d)
		case "exit":
			return atoi(next())
		case "write-fd3":
			fmt.Fprintln(os.NewFile(3, "fd3"), next())
		case "kill-self":
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Hour)
		case "ignore-term":
			signal.Ignore(syscall.SIGTERM)
		case "note-term":
			terms := make(chan os.Signal, 1)
			signal.Notify(terms, syscall.SIGTERM)
			go func() {
				for range terms {
					fmt.Println("got-term")
				}
			}()
		case "wait-file":
			path := next()
			for {
				if _, err := os.Stat(path); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		case "spawn-grandchild":
			// The grandchild says on a pipe (its fd 3) that it is set up
			// and has printed its line; only then does the script go on,
			// so a script that exits next cannot end the group before.
			gargs := []string{"echo", "grandchild-ready", "write-fd3", "ready", "sleep", "1h"}
			if next() == "ignore-term" {
				gargs = append([]string{"ignore-term"}, gargs...)
			}
			r, w, err := os.Pipe()
			if err != nil {
				fmt.Fprintln(os.Stderr, "testtask:", err)
				return 100
			}
			c := exec.Command(os.Args[0], gargs...)
			c.Stdout, c.Stderr, c.ExtraFiles = os.Stdout, os.Stderr, []*os.File{w}
			if err := c.Start(); err != nil {
				fmt.Fprintln(os.Stderr, "testtask:", err)
				return 100
			}
			w.Close()
			fmt.Printf("grandchild %d\n", c.Process.Pid)
			if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
				fmt.Fprintln(os.Stderr, "testtask: the grandchild did not get ready:", err)
				return 100
			}
			r.Close()
		case "supervise":
			s := New(nil)
			spec := Spec{Name: "child", Args: []string{os.Args[0], "sleep", "1h"}}
			if err := s.Start(spec); err != nil {
				fmt.Fprintln(os.Stderr, "testtask:", err)
				return 100
			}
			st, _ := s.Status("child")
			fmt.Printf("child %d\n", st.PID)
		default:
			fmt.Fprintf(os.Stderr, "testtask: unknown command %q\n", cmd)
			return 100
		}
	}
	time.Sleep(time.Hour)
	return 0
}
