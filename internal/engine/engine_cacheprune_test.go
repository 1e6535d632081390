package engine

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func key(c byte) string { return strings.Repeat(string(c), 64) }

func TestPruneCache(t *testing.T) {
	old := cachePruneGrace
	cachePruneGrace = time.Minute
	t.Cleanup(func() { cachePruneGrace = old })
	now := time.Now()
	dir := t.TempDir()
	mk := func(name string, age time.Duration, size int) {
		p := filepath.Join(dir, name)
		os.MkdirAll(p, 0o755)
		os.WriteFile(filepath.Join(p, "f"), make([]byte, size), 0o644)
		os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	mk(key('a'), 48*time.Hour, 10) // unused, old: pruned by age
	mk(key('b'), 48*time.Hour, 10) // in use: kept
	mk(key('c'), 2*time.Hour, 600) // unused, the oldest of the young: pruned by size
	mk(key('d'), time.Hour, 600)   // unused, young: kept once under the size
	mk(key('e'), time.Second, 900) // used just now (grace): kept
	mk(".locks", 72*time.Hour, 1)  // not a key: kept
	mk(".abc.build-1", 72*time.Hour, 1)
	got := pruneCache(dir, map[string]bool{key('b'): true}, cachePolicy{maxAge: 24 * time.Hour, maxBytes: 2000}, now, slog.New(slog.DiscardHandler))
	slices.Sort(got)
	if want := []string{key('a'), key('c')}; !slices.Equal(got, want) {
		t.Errorf("pruned %v, want %v", got, want)
	}
	for _, name := range []string{key('b'), key('d'), key('e'), ".locks", ".abc.build-1"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".prune-*"))
	if len(left) != 0 {
		t.Errorf("leftovers: %v", left)
	}
}

func TestCachePolicyFrom(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	p, err := cachePolicyFrom(env(nil))
	if err != nil || p != (cachePolicy{maxAge: 24 * time.Hour, maxBytes: 2048 << 20}) {
		t.Errorf("defaults: %+v %v", p, err)
	}
	p, err = cachePolicyFrom(env(map[string]string{envCacheMaxAge: "90m", envCacheMaxSize: "100"}))
	if err != nil || p != (cachePolicy{maxAge: 90 * time.Minute, maxBytes: 100 << 20}) {
		t.Errorf("set: %+v %v", p, err)
	}
	for k, v := range map[string]string{envCacheMaxAge: "a week", envCacheMaxSize: "2G"} {
		if _, err := cachePolicyFrom(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k+"=") {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

// A deleted function's build leaves the cache; a running function's stays.
func TestDeletedFunctionsBuildPruned(t *testing.T) {
	t.Setenv(envCacheMaxAge, "0s")
	old := cachePruneGrace
	cachePruneGrace = 0
	t.Cleanup(func() { cachePruneGrace = old })
	home := t.TempDir()
	e, _ := newTestEngine(t, home)
	ctx := context.Background()
	for _, name := range []string{"keep", "gone"} {
		if _, err := e.Deploy(ctx, testFunction(name, name)); err != nil {
			t.Fatal(err)
		}
		waitReason(t, e, name, reasonReady)
	}
	cache := filepath.Join(home, "cache")
	keys := func() []string {
		ents, _ := os.ReadDir(cache)
		var out []string
		for _, de := range ents {
			if isCacheKey(de.Name()) {
				out = append(out, de.Name())
			}
		}
		return out
	}
	if n := len(keys()); n != 2 {
		t.Fatalf("%d cache entries, want 2", n)
	}
	if err := e.Delete(ctx, "default", "gone"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(keys()) != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(keys()); n != 1 {
		t.Fatalf("after the delete: %d cache entries, want 1", n)
	}
	if code, body := call(t, e, "/keep", "x"); code != 200 || body != "keep||x" {
		t.Errorf("the running function after the prune: %d %q", code, body)
	}
}
