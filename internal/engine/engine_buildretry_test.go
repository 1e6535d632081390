package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeless/kubeless/internal/build"
)

// attempts counts the install steps run so far.
func attempts(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "x\n")
}

// A build that failed because the disk was full is tried again, and the
// function starts once there is space; a package that does not exist is not
// retried.
func TestBuildRetriedAfterAFailureThatMayPass(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "disk-full")
	count := filepath.Join(dir, "attempts")
	os.WriteFile(full, nil, 0o600)
	t.Setenv("KUBELESS_TEST_NOSPACE", full)
	t.Setenv("KUBELESS_TEST_ATTEMPTS", count)
	old := buildRetryBase
	buildRetryBase = 50 * time.Millisecond
	t.Cleanup(func() { buildRetryBase = old })
	e, _ := newTestEngine(t, t.TempDir())
	ctx := context.Background()

	fn := testFunction("space", "v1")
	fn.Spec.Deps = "nospace\n"
	if _, err := e.Deploy(ctx, fn); err != nil {
		t.Fatal(err)
	}
	// Wait for the second retry (or a later one: each is announced only
	// until it runs, which a loaded machine may let a poll miss).
	retry := regexp.MustCompile("^" + regexp.QuoteMeta(reasonBuilding+" "+buildingMsg+": retry ") + `(\d+) in `)
	deadline := time.Now().Add(30 * time.Second)
	var c string
	n := 0
	for time.Now().Before(deadline) {
		got, _ := e.Get(ctx, "default", "space")
		if cond := readyCondition(got); cond != nil {
			c = cond.Reason + " " + cond.Message
		}
		if m := retry.FindStringSubmatch(c); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		if n >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n < 2 || !strings.HasSuffix(c, "write /cache/x: No space left on device") {
		t.Fatalf("while the disk is full: condition %q, want retry 2 or later announced", c)
	}
	os.Remove(full) // space again
	waitReason(t, e, "space", reasonReady)
	if code, body := call(t, e, "/space", "p"); code != 200 || body != "v1||p" {
		t.Errorf("call = %d %q", code, body)
	}

	os.Remove(count)
	bad := testFunction("nopkg", "v1")
	bad.Spec.Deps = "fail\n"
	if _, err := e.Deploy(ctx, bad); err != nil {
		t.Fatal(err)
	}
	// A retry would have kept it Building ("retry 1 in ...").
	waitReason(t, e, "nopkg", reasonBuildFailed)
	if n := attempts(t, count); n != 1 {
		t.Errorf("a missing package was installed %d times, want 1 (no retry)", n)
	}
}

func TestTransientBuildError(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("write: %w", syscall.ENOSPC), true},
		{&build.PhaseError{Err: errors.New("exit status 1"), Output: "npm ERR! code EAI_AGAIN"}, true},
		{&build.PhaseError{Err: errors.New("exit status 1"), Output: "ERROR: Could not find a version that satisfies the requirement nosuch"}, false},
		{&build.PhaseError{Err: errors.New("exit status 2"), Output: "./main.go:3: syntax error"}, false},
		{errors.New("failed: incorrect handler format"), false},
	}
	for _, tt := range tests {
		if got := transientBuildError(tt.err); got != tt.want {
			t.Errorf("transientBuildError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if d := buildRetryDelay(0); d != buildRetryBase {
		t.Errorf("first delay %s", d)
	}
	if d := buildRetryDelay(30); d != buildRetryMax {
		t.Errorf("delay after 30 attempts %s, want the cap %s", d, buildRetryMax)
	}
}
