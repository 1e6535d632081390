package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/cli"
	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
	"github.com/kubeless/kubeless/internal/cli/local"
)

// asCLI makes the test binary act as the kubeless command, so that start
// can run it as the daemon.
const asCLI = "KUBELESS_LOCAL_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func run(t *testing.T, cfg *local.Config, args ...string) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	c := *cfg
	c.IO = ios
	cmd := local.NewCmdLocal(&c)
	cmd.SetArgs(args)
	cmd.SetContext(context.Background())
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestStartStatusStop(t *testing.T) {
	dir, err := os.MkdirTemp("", "kll")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, _ := os.Executable()
	t.Setenv(asCLI, "1")
	t.Setenv("KUBELESS_GATEWAY", "127.0.0.1:0")
	cfg := &local.Config{Home: filepath.Join(dir, "home"), SelfExe: self, StartTimeout: 20 * time.Second}

	out, _, err := run(t, cfg, "status")
	var se *cmdutil.SilentExitError
	if !errors.As(err, &se) || se.Code != 1 || !strings.Contains(out, "The local engine is not running") {
		t.Fatalf("status before start: %q %v", out, err)
	}

	_, errOut, err := run(t, cfg, "start")
	if err != nil || !strings.HasPrefix(errOut, "Local engine started (pid ") {
		t.Fatalf("start: %q %v", errOut, err)
	}
	t.Cleanup(func() { run(t, cfg, "stop") })
	_, errOut, err = run(t, cfg, "start")
	if err != nil || !strings.HasPrefix(errOut, "Local engine already running") {
		t.Fatalf("second start: %q %v", errOut, err)
	}
	out, _, err = run(t, cfg, "status")
	if err != nil || !strings.Contains(out, "home:\t"+cfg.Home) {
		t.Fatalf("status: %q %v", out, err)
	}
	fi, err := os.Stat(filepath.Join(cfg.Home, "engine.sock"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v", err)
	}
	_, errOut, err = run(t, cfg, "stop")
	if err != nil || !strings.HasPrefix(errOut, "Local engine stopped") {
		t.Fatalf("stop: %q %v", errOut, err)
	}
	if _, _, err := run(t, cfg, "status"); !errors.As(err, &se) {
		t.Errorf("status after stop: %v", err)
	}
}

// A relative KUBELESS_HOME names the folder under the directory the command
// runs in: the daemon, which runs in its home, must use that folder too
// (it used home/home, and the command waited for a socket that never came).
func TestStartWithARelativeHome(t *testing.T) {
	dir, err := os.MkdirTemp("", "klr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, _ := os.Executable()
	t.Chdir(dir)
	t.Setenv(asCLI, "1")
	t.Setenv("KUBELESS_GATEWAY", "127.0.0.1:0")
	t.Setenv("KUBELESS_HOME", "home")
	cfg := &local.Config{SelfExe: self, StartTimeout: 20 * time.Second}
	_, errOut, err := run(t, cfg, "start")
	if err != nil || !strings.HasPrefix(errOut, "Local engine started (pid ") {
		t.Fatalf("start: %q %v", errOut, err)
	}
	t.Cleanup(func() { run(t, cfg, "stop") })
	out, _, err := run(t, cfg, "status")
	if want := "home:\t" + filepath.Join(dir, "home") + "\n"; err != nil || !strings.Contains(out, want) {
		t.Fatalf("status: %q %v, want %q", out, err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "home", "home")); err == nil {
		t.Errorf("the daemon made a home inside the home")
	}
}

// Commands that find the engine stopped at the same time (after it was
// killed, say) share the engine that one of them starts: none fails.
func TestConcurrentAutoStartsShareOneEngine(t *testing.T) {
	dir, err := os.MkdirTemp("", "klc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, _ := os.Executable()
	t.Setenv(asCLI, "1")
	t.Setenv("KUBELESS_GATEWAY", "127.0.0.1:0")
	cfg := &local.Config{Home: filepath.Join(dir, "home"), SelfExe: self, StartTimeout: 20 * time.Second}
	ios, _, _, _ := iostreams.Test()
	cfg.IO = ios
	t.Cleanup(func() { run(t, cfg, "stop") })
	const n = 4
	type result struct {
		pid     int
		started bool
		err     error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			st, started, err := local.EnsureRunning(context.Background(), cfg)
			r := result{started: started, err: err}
			if st != nil {
				r.pid = st.PID
			}
			results <- r
		}()
	}
	pids := map[int]bool{}
	starts := 0
	for range n {
		r := <-results
		if r.err != nil {
			t.Errorf("EnsureRunning: %v", r.err)
			continue
		}
		pids[r.pid] = true
		if r.started {
			starts++
		}
	}
	if len(pids) != 1 || starts != 1 {
		t.Errorf("%d commands saw engines %v, %d of them started one; want one engine, started once", n, pids, starts)
	}
}
