//go:build unix

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{}.withDefaults()
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 200 * time.Millisecond},
		{2, 400 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{8, 25600 * time.Millisecond},
		{9, 30 * time.Second},
		{100, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := b.Delay(tt.failures); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
	if b.Reset != 10*time.Second {
		t.Errorf("default Reset = %v, want 10s", b.Reset)
	}
}

func TestStartStop(t *testing.T) {
	s := newSupervisor(t)
	before := time.Now()
	st := mustStart(t, s, taskSpec(t, "sleeper", "sleep", "1h"))
	if st.State != StateRunning || st.PID <= 0 || st.Started.Before(before) || st.Restarts != 0 || st.LastExit != nil {
		t.Fatalf("status after Start = %+v; want running with a pid", st)
	}
	if !alive(st.PID) {
		t.Fatalf("pid %d is not alive", st.PID)
	}

	// A grace period far longer than any stop: Stop must return when the
	// process exits, not when the grace period ends.
	const grace = 2 * time.Minute
	start := time.Now()
	if err := s.Stop("sleeper", grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(start); d >= grace/2 {
		t.Errorf("Stop of a process that obeys SIGTERM took %v (grace %v)", d, grace)
	}
	if alive(st.PID) {
		t.Errorf("pid %d is alive after Stop", st.PID)
	}
	got, _ := s.Status("sleeper")
	if got.State != StateStopped || got.PID != 0 || got.LastExit == nil ||
		got.LastExit.Signal != "SIGTERM" || got.LastExit.Code != -1 || got.Reason != "" {
		t.Errorf("status after Stop = %+v; want stopped, killed by SIGTERM", got)
	}
	if got.LastExit.String() != "killed by SIGTERM" {
		t.Errorf("LastExit.String() = %q", got.LastExit)
	}
	if err := s.Stop("sleeper", time.Second); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	// A stopped name can be started again.
	st2 := mustStart(t, s, taskSpec(t, "sleeper", "sleep", "1h"))
	if st2.State != StateRunning || st2.PID == st.PID || st2.LastExit != nil {
		t.Errorf("status after a new Start = %+v", st2)
	}
}

func TestStopGraceThenKill(t *testing.T) {
	s := newSupervisor(t)
	mustStart(t, s, taskSpec(t, "stubborn", "ignore-term", "echo", "ready", "sleep", "1h"))
	ch, err := s.Follow(t.Context(), "stubborn", -1)
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, ch, `"ready"`, func(l string) bool { return l == "ready" })

	const grace = 300 * time.Millisecond
	start := time.Now()
	if err := s.Stop("stubborn", grace); err != nil {
		t.Fatal(err)
	}
	// At least the grace period; the upper bound only catches a Stop that
	// waited for something else (a default grace of 10 s, say).
	if d := time.Since(start); d < grace || d > grace+8*time.Second {
		t.Errorf("Stop took %v; want the grace period (%v) then a kill", d, grace)
	}
	st, _ := s.Status("stubborn")
	if st.State != StateStopped || st.LastExit == nil || st.LastExit.Signal != "SIGKILL" {
		t.Errorf("status = %+v; want stopped, killed by SIGKILL", st)
	}
	if rest := drain(t, ch); len(rest) != 0 {
		t.Errorf("follow after Stop got %q; want it closed", rest)
	}
}

func TestGrandchildDiesWithGroup(t *testing.T) {
	tests := []struct {
		name      string
		script    []string
		stop      bool
		grace     time.Duration
		minStop   time.Duration
		wantState State
	}{
		{"stop", []string{"spawn-grandchild", "plain", "sleep", "1h"}, true, 5 * time.Second, 0, StateStopped},
		{"stop grandchild ignoring SIGTERM", []string{"spawn-grandchild", "ignore-term", "sleep", "1h"},
			true, 300 * time.Millisecond, 300 * time.Millisecond, StateStopped},
		{"leader exits", []string{"spawn-grandchild", "plain", "sleep", "100ms", "exit", "1"}, false, 0, 0, StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSupervisor(t)
			spec := taskSpec(t, "parent", tt.script...)
			spec.Restart = RestartNever
			st := mustStart(t, s, spec)
			ch, err := s.Follow(t.Context(), "parent", -1)
			if err != nil {
				t.Fatal(err)
			}
			lines := readUntil(t, ch, "the grandchild", func(l string) bool { return l == "grandchild-ready" })
			gpid := pidAfter(t, lines, "grandchild")
			if !alive(gpid) {
				t.Fatalf("grandchild %d is not alive", gpid)
			}
			if tt.stop {
				start := time.Now()
				if err := s.Stop("parent", tt.grace); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d < tt.minStop {
					t.Errorf("Stop took %v, want at least %v", d, tt.minStop)
				}
			}
			waitState(t, s, "parent", tt.wantState)
			waitDead(t, "the process", st.PID)
			waitDead(t, "the grandchild", gpid)
		})
	}
}

func TestRestartBackoff(t *testing.T) {
	s := newSupervisor(t)
	rec := recordBackoffs(s)
	spec := taskSpec(t, "crasher", "echo", "about to fail", "exit", "3")
	spec.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Reset: time.Hour}
	mustStart(t, s, spec)
	waitFor(t, 20*time.Second, "five restarts", func() bool { return len(rec.get()) >= 5 })

	want := []time.Duration{10, 20, 40, 40, 40}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if diff := cmp.Diff(want, rec.get()[:5]); diff != "" {
		t.Errorf("backoff delays (-want +got):\n%s", diff)
	}
	st, _ := s.Status("crasher")
	if st.Restarts < 4 || st.LastExit == nil || st.LastExit.Code != 3 {
		t.Errorf("status = %+v; want 4+ restarts after exit code 3", st)
	}
	if st.State == StateBackoff && st.Reason != "exited with code 3" {
		t.Errorf("reason = %q", st.Reason)
	}
	if len(st.Output) == 0 || st.Output[len(st.Output)-1] != "about to fail" {
		t.Errorf("output = %q; want the process's last line", st.Output)
	}
	if err := s.Stop("crasher", time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status("crasher"); st.State != StateStopped || !st.NextStart.IsZero() {
		t.Errorf("status after Stop = %+v", st)
	}
}

func TestBackoffResetsAfterHealthyRun(t *testing.T) {
	s := newSupervisor(t)
	rec := recordBackoffs(s)
	spec := taskSpec(t, "flaky", "sleep", "150ms", "exit", "1")
	spec.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: time.Second, Reset: 100 * time.Millisecond}
	mustStart(t, s, spec)
	waitFor(t, 20*time.Second, "three restarts", func() bool { return len(rec.get()) >= 3 })
	for i, d := range rec.get()[:3] {
		if d != 10*time.Millisecond {
			t.Errorf("delay %d = %v; want the initial 10ms after each healthy run", i+1, d)
		}
	}
}

func TestKilledBySignalRestarts(t *testing.T) {
	s := newSupervisor(t)
	rec := recordBackoffs(s)
	spec := taskSpec(t, "segv", "kill-self")
	spec.Restart = RestartOnFailure
	spec.Backoff.Initial = time.Hour
	mustStart(t, s, spec)
	st := waitState(t, s, "segv", StateBackoff)
	if st.Reason != "killed by SIGKILL" || st.LastExit.Code != -1 || st.LastExit.Signal != "SIGKILL" {
		t.Errorf("status = %+v; want killed by SIGKILL", st)
	}
	if got := st.NextStart.Sub(st.LastExit.At); got != time.Hour {
		t.Errorf("NextStart is %v after the exit, want 1h", got)
	}
	if len(rec.get()) != 1 {
		t.Errorf("backoffs = %v", rec.get())
	}
}

func TestRestartPolicy(t *testing.T) {
	tests := []struct {
		policy    RestartPolicy
		code      string
		wantState State // the final state, or StateBackoff if it restarts
	}{
		{RestartNever, "0", StateStopped},
		{RestartNever, "1", StateFailed},
		{RestartOnFailure, "0", StateStopped},
		{RestartOnFailure, "1", StateBackoff},
		{RestartAlways, "0", StateBackoff},
		{RestartAlways, "1", StateBackoff},
		{"", "0", StateBackoff},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s exit %s", tt.policy, tt.code), func(t *testing.T) {
			s := newSupervisor(t)
			spec := taskSpec(t, "p", "exit", tt.code)
			spec.Restart = tt.policy
			spec.Backoff.Initial = time.Hour
			mustStart(t, s, spec)
			st := waitState(t, s, "p", tt.wantState)
			wantReason := ""
			if tt.code != "0" || tt.wantState == StateBackoff {
				wantReason = "exited with code " + tt.code
			}
			if st.Reason != wantReason {
				t.Errorf("reason = %q, want %q", st.Reason, wantReason)
			}
			if st.LastExit == nil || fmt.Sprint(st.LastExit.Code) != tt.code {
				t.Errorf("last exit = %+v, want code %s", st.LastExit, tt.code)
			}
			if tt.wantState != StateBackoff {
				// Ended for good: a follower gets the past and ends.
				ch, err := s.Follow(t.Context(), "p", 10)
				if err != nil {
					t.Fatal(err)
				}
				drain(t, ch)
			}
		})
	}
}

func TestStatusFields(t *testing.T) {
	s := newSupervisor(t)
	spec := taskSpec(t, "status", "pid", "print", "3", "exit", "2")
	spec.Restart = RestartOnFailure
	spec.Backoff.Initial = time.Hour
	started := time.Now()
	mustStart(t, s, spec)
	st := waitState(t, s, "status", StateBackoff)

	pid := pidAfter(t, st.Output, "pid")
	want := Status{
		Name:     "status",
		State:    StateBackoff,
		Restarts: 0,
		Reason:   "exited with code 2",
		Output:   []string{fmt.Sprintf("pid %d", pid), "line 1", "line 2", "line 3"},
		LogPath:  spec.LogPath,
	}
	got := st
	got.Started, got.LastExit, got.NextStart = time.Time{}, nil, time.Time{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if st.Started.Before(started) || st.LastExit == nil || st.LastExit.At.Before(st.Started) ||
		st.LastExit.Code != 2 || st.LastExit.Signal != "" || st.NextStart != st.LastExit.At.Add(time.Hour) {
		t.Errorf("times or exit: started %v, last exit %+v, next start %v", st.Started, st.LastExit, st.NextStart)
	}
	if list := s.List(); len(list) != 1 || list[0].Name != "status" {
		t.Errorf("List = %+v", list)
	}

	// Restart starts it at once and counts.
	if err := s.Restart("status", time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the restarted process to exit", func() bool {
		st, _ = s.Status("status")
		return st.State == StateBackoff && st.LastExit != nil && st.LastExit.At.After(got.Started)
	})
	if st.Restarts != 1 {
		t.Errorf("restarts after Restart = %d, want 1", st.Restarts)
	}
	if pid2 := pidAfter(t, st.Output[len(st.Output)-4:], "pid"); pid2 == pid {
		t.Errorf("the restarted process has the old pid %d", pid)
	}
}

func TestStartErrors(t *testing.T) {
	s := newSupervisor(t)
	missing := filepath.Join(t.TempDir(), "no-such-program")
	err := s.Start(Spec{Name: "missing", Args: []string{missing}, Restart: RestartAlways})
	if err == nil || !strings.HasPrefix(err.Error(), `start "missing": `) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Start of a missing program: err = %v", err)
	}
	st, _ := s.Status("missing")
	if st.State != StateFailed || !strings.HasPrefix(st.Reason, "start: ") || !strings.Contains(st.Reason, "no such file") {
		t.Errorf("status of a program that could not start = %+v", st)
	}

	spec := taskSpec(t, "dir", "sleep", "1h")
	spec.Dir = filepath.Join(t.TempDir(), "no-such-dir")
	if err := s.Start(spec); err == nil || !strings.Contains(err.Error(), "no-such-dir") {
		t.Errorf("Start in a missing folder: err = %v", err)
	}

	mustStart(t, s, taskSpec(t, "twice", "sleep", "1h"))
	err = s.Start(taskSpec(t, "twice", "sleep", "1h"))
	if !errors.Is(err, ErrExists) {
		t.Errorf("second Start: err = %v, want ErrExists", err)
	}
	if want := `start "twice": process already active (running); stop it first`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}

	invalid := []struct {
		spec Spec
		want string
	}{
		{Spec{Args: []string{"x"}}, `invalid spec for process "": the name is empty`},
		{Spec{Name: "n"}, `invalid spec for process "n": the command (Args) is empty`},
		{Spec{Name: "n", Args: []string{"x"}, Restart: "sometimes"},
			`invalid spec for process "n": unknown restart policy "sometimes" (want "always", "on-failure" or "never")`},
		{Spec{Name: "n", Args: []string{"x"}, Backoff: Backoff{Initial: -1}},
			`invalid spec for process "n": a backoff duration is negative`},
	}
	for _, tt := range invalid {
		if err := s.Start(tt.spec); err == nil || err.Error() != tt.want {
			t.Errorf("Start(%+v) = %v, want %q", tt.spec, err, tt.want)
		}
	}

	for name, call := range map[string]func() error{
		"stop":    func() error { return s.Stop("nope", 0) },
		"restart": func() error { return s.Restart("nope", 0) },
		"remove":  func() error { return s.Remove("nope", 0) },
		"status of": func() error {
			_, err := s.Status("nope")
			return err
		},
		"follow": func() error {
			_, err := s.Follow(t.Context(), "nope", 0)
			return err
		},
	} {
		err := call()
		if !errors.Is(err, ErrNotFound) || err.Error() != name+` "nope": no such process` {
			t.Errorf("%s of an unknown name: err = %v", name, err)
		}
	}

	s.Close()
	if err := s.Start(taskSpec(t, "late", "sleep", "1h")); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: err = %v, want ErrClosed", err)
	}
}

// StopAll stops every process at once: the two that note SIGTERM and stay
// are both sent it before either grace period ends. The test then ends the
// (long) grace periods itself by killing them.
func TestStopAll(t *testing.T) {
	s := newSupervisor(t)
	scripts := map[string][]string{
		"sleeper":  {"echo", "ready", "sleep", "1h"},
		"stubborn": {"note-term", "echo", "ready", "sleep", "1h"},
		"parent":   {"spawn-grandchild", "ignore-term", "note-term", "echo", "ready", "sleep", "1h"},
	}
	var pids []int
	follows := map[string]<-chan string{}
	groups := map[string]int{}
	for name, script := range scripts {
		st := mustStart(t, s, taskSpec(t, name, script...))
		pids = append(pids, st.PID)
		groups[name] = st.PID
		ch, err := s.Follow(t.Context(), name, -1)
		if err != nil {
			t.Fatal(err)
		}
		follows[name] = ch
		want := map[string]bool{"ready": true}
		if name == "parent" {
			want["grandchild-ready"] = true
		}
		lines := readUntil(t, ch, name+" to be ready", func(l string) bool {
			delete(want, l)
			return len(want) == 0
		})
		if name == "parent" {
			pids = append(pids, pidAfter(t, lines, "grandchild"))
		}
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.StopAll(time.Hour) }()
	for _, name := range []string{"stubborn", "parent"} {
		readUntil(t, follows[name], name+" to get SIGTERM", func(l string) bool { return l == "got-term" })
	}
	// Both got SIGTERM while the other's grace period ran: in parallel.
	for _, name := range []string{"stubborn", "parent"} {
		syscall.Kill(-groups[name], syscall.SIGKILL)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("StopAll did not return after its processes were killed")
	}
	for _, pid := range pids {
		waitDead(t, "a stopped process", pid)
	}
	for _, st := range s.List() {
		if st.State != StateStopped || st.PID != 0 {
			t.Errorf("after StopAll: %+v", st)
		}
	}
}

func TestClose(t *testing.T) {
	s := newSupervisor(t)
	a := mustStart(t, s, taskSpec(t, "a", "sleep", "1h"))
	b := mustStart(t, s, taskSpec(t, "b", "ignore-term", "fill", "100", "50", "sleep", "1h"))
	// A follower that reads nothing and never ends its context.
	ch, err := s.Follow(context.Background(), "b", -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitDead(t, "process a", a.PID)
	waitDead(t, "process b", b.PID)
	drain(t, ch)
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRemove(t *testing.T) {
	s := newSupervisor(t)
	spec := taskSpec(t, "gone", "echo", "hello", "sleep", "1h")
	st := mustStart(t, s, spec)
	waitFor(t, 10*time.Second, "output", func() bool {
		st, _ := s.Status("gone")
		return len(st.Output) > 0
	})
	if err := s.Remove("gone", time.Second); err != nil {
		t.Fatal(err)
	}
	waitDead(t, "the removed process", st.PID)
	if _, err := s.Status("gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status after Remove: err = %v", err)
	}
	if len(s.List()) != 0 {
		t.Errorf("List after Remove = %+v", s.List())
	}
	if b, err := os.ReadFile(spec.LogPath); err != nil || string(b) != "hello\n" {
		t.Errorf("log file after Remove = %q, %v; want it kept", b, err)
	}
	mustStart(t, s, spec) // the name is free again
}
