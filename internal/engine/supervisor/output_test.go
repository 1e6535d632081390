//go:build unix

package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOutputLines(t *testing.T) {
	s := newSupervisor(t)
	spec := taskSpec(t, "lines", "print", "4", "echo", "crlf\r", "echo", "", "bytes", "40000",
		"no-newline", "tail", "exit", "0")
	spec.Restart = RestartNever
	spec.LogPath = "" // only the in-memory tail
	mustStart(t, s, spec)
	waitState(t, s, "lines", StateStopped)
	got, err := s.Tail("lines", -1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"line 1", "line 2", "line 3", "line 4", "crlf", "",
		strings.Repeat("x", maxLineBytes), strings.Repeat("x", 40000-maxLineBytes), "tail"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output lines (-want +got):\n%s", diff)
	}
	if got, _ := s.Tail("lines", 2); !cmp.Equal(got, want[len(want)-2:]) {
		t.Errorf("Tail(2) = %.40q", got)
	}
}

func TestLogRotation(t *testing.T) {
	s := newSupervisor(t)
	spec := taskSpec(t, "chatty", "print", "100", "exit", "0")
	spec.Restart = RestartNever
	spec.LogMaxBytes = 300
	mustStart(t, s, spec)
	// Whatever the follower missed before it subscribed must be in the
	// log it starts from: together, a gapless suffix of the output.
	ch, err := s.Follow(t.Context(), "chatty", -1)
	if err != nil {
		t.Fatal(err)
	}
	followed := drain(t, ch)
	waitState(t, s, "chatty", StateStopped)

	var all []string
	for i := 1; i <= 100; i++ {
		all = append(all, fmt.Sprintf("line %d", i))
	}
	isSuffix := func(what string, lines []string) {
		t.Helper()
		if len(lines) == 0 || !slices.Equal(lines, all[len(all)-len(lines):]) {
			t.Errorf("%s is not a gapless end of the output: %q", what, lines)
		}
	}
	isSuffix("the followed output", followed)

	cur, err := os.ReadFile(spec.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(spec.LogPath + ".1")
	if err != nil {
		t.Fatalf("no rotated log: %v", err)
	}
	if len(cur) > 300 || len(old) > 300 || len(old) < 290 {
		t.Errorf("log sizes: %d and %d (rotated) bytes; want each at most 300, the rotated one full", len(cur), len(old))
	}
	kept := strings.Split(strings.TrimSuffix(string(old)+string(cur), "\n"), "\n")
	isSuffix("the log files", kept)
	if len(followed) < len(kept) {
		t.Errorf("followed %d lines, fewer than the %d in the log files", len(followed), len(kept))
	}

	tail, err := s.Tail("chatty", -1)
	if err != nil || !cmp.Equal(tail, kept) {
		t.Errorf("Tail(-1) = %q, %v; want the two files' lines", tail, err)
	}
	nCur := strings.Count(string(cur), "\n")
	for _, n := range []int{0, 1, 5, nCur, nCur + 3, len(kept), len(kept) + 10} {
		want := kept[max(0, len(kept)-n):]
		if n == 0 {
			want = nil
		}
		if got, err := s.Tail("chatty", n); err != nil || !cmp.Equal(got, want) {
			t.Errorf("Tail(%d) = %q, %v; want %q", n, got, err, want)
		}
	}
}

func TestLogAppendsAcrossRuns(t *testing.T) {
	s := newSupervisor(t)
	spec := taskSpec(t, "twice", "echo", "first", "exit", "0")
	spec.Restart = RestartNever
	mustStart(t, s, spec)
	waitState(t, s, "twice", StateStopped)
	spec.Args[2] = "second"
	mustStart(t, s, spec)
	waitState(t, s, "twice", StateStopped)
	b, err := os.ReadFile(spec.LogPath)
	if err != nil || string(b) != "first\nsecond\n" {
		t.Errorf("log = %q, %v; want both runs", b, err)
	}
}

func TestFollow(t *testing.T) {
	s := newSupervisor(t)
	gate := filepath.Join(t.TempDir(), "gate")
	mustStart(t, s, taskSpec(t, "f", "print", "3", "wait-file", gate, "echo", "late 1", "echo", "late 2", "sleep", "1h"))
	waitFor(t, 10*time.Second, "three lines", func() bool {
		st, _ := s.Status("f")
		return len(st.Output) == 3
	})

	since2, err := s.Follow(t.Context(), "f", 2)
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, err := s.Follow(t.Context(), "f", 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	canceled, err := s.Follow(ctx, "f", -1)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	drain(t, canceled) // ends with its context

	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	isLate2 := func(l string) bool { return l == "late 2" }
	if got := readUntil(t, since2, "late 2", isLate2); !cmp.Equal(got, []string{"line 2", "line 3", "late 1", "late 2"}) {
		t.Errorf("follow since 2 = %q", got)
	}
	if got := readUntil(t, onlyNew, "late 2", isLate2); !cmp.Equal(got, []string{"late 1", "late 2"}) {
		t.Errorf("follow since 0 = %q", got)
	}

	// Followers follow a restart.
	if err := s.Restart("f", time.Second); err != nil {
		t.Fatal(err)
	}
	if got := readUntil(t, since2, "late 2", isLate2); !cmp.Equal(got, []string{"line 1", "line 2", "line 3", "late 1", "late 2"}) {
		t.Errorf("follow after Restart = %q", got)
	}
	// And end with a Stop.
	if err := s.Stop("f", time.Second); err != nil {
		t.Fatal(err)
	}
	if rest := drain(t, since2); len(rest) != 0 {
		t.Errorf("follow after Stop got %q", rest)
	}
	drain(t, onlyNew)

	// Following a stopped process gives its last lines and ends.
	ch, err := s.Follow(t.Context(), "f", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, ch); !cmp.Equal(got, []string{"late 1", "late 2"}) {
		t.Errorf("follow of a stopped process = %q", got)
	}
}

func TestFollowAcrossCrashes(t *testing.T) {
	s := newSupervisor(t)
	mustStart(t, s, taskSpec(t, "crashy", "echo", "run", "exit", "1"))
	ch, err := s.Follow(t.Context(), "crashy", -1)
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	readUntil(t, ch, "three runs", func(l string) bool {
		if l == "run" {
			runs++
		}
		return runs == 3
	})
}

func TestSlowFollowerDropsOldLines(t *testing.T) {
	s := newSupervisor(t)
	gate := filepath.Join(t.TempDir(), "gate")
	// Four times FollowQueueBytes: the forwarder may hold one batch of up to
	// FollowQueueBytes while a full queue waits behind it, so at most twice
	// that reaches a reader that reads nothing; the rest must be dropped.
	const n, size = 4000, 1000
	spec := taskSpec(t, "flood", "wait-file", gate, "fill", fmt.Sprint(n), fmt.Sprint(size), "exit", "0")
	spec.Restart = RestartNever
	mustStart(t, s, spec)
	ch, err := s.Follow(t.Context(), "flood", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "flood", StateStopped) // nothing read meanwhile
	// The state may change before the output reader has handed over the
	// last lines (a loaded machine): wait until the tail has line n.
	last := fmt.Sprintf("%06d ", n)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if tail, _ := s.Tail("flood", 1); len(tail) == 1 && strings.HasPrefix(tail[0], last) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the output reader did not reach line %d", n)
		}
	}
	got := drain(t, ch)
	// The follower may hold a first batch taken before it blocked; then
	// comes the note, then the newest lines.
	note := slices.IndexFunc(got, func(l string) bool { return strings.HasPrefix(l, "[kubeless: ") })
	if note < 0 {
		t.Fatalf("no note of dropped lines in %d lines", len(got))
	}
	var dropped int
	if _, err := fmt.Sscanf(got[note], "[kubeless: %d lines dropped because the reader fell behind]", &dropped); err != nil {
		t.Fatalf("note %q: %v", got[note], err)
	}
	before, after := got[:note], got[note+1:]
	if len(before)+dropped+len(after) != n || (len(before)+len(after))*size > 2*FollowQueueBytes {
		t.Errorf("%d lines, then %d dropped, then %d; want %d in all, at most %d bytes delivered",
			len(before), dropped, len(after), n, 2*FollowQueueBytes)
	}
	for i, l := range got {
		num := i + 1
		if i > note {
			num = i + dropped
		}
		if want := fmt.Sprintf("%06d ", num); i != note && !strings.HasPrefix(l, want) {
			t.Fatalf("line %d starts %.10q, want %q", i, l, want)
		}
	}
}
