package engine

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Build cache pruning. The cache (KUBELESS_HOME/cache) keeps one folder per
// build key. A folder that no running instance uses is removed
//   - when it was last used longer ago than KUBELESS_CACHE_MAX_AGE (a Go
//     duration, default 24h), or
//   - oldest first while the whole cache is larger than
//     KUBELESS_CACHE_MAX_SIZE (MiB, default 2048).
//
// A folder used in the last cachePruneGrace is never removed: a build may
// have just found it. The engine prunes at start, every cachePruneInterval
// and after a function is deleted.
const (
	envCacheMaxAge  = "KUBELESS_CACHE_MAX_AGE"
	envCacheMaxSize = "KUBELESS_CACHE_MAX_SIZE"

	defaultCacheMaxAge    = 24 * time.Hour
	defaultCacheMaxSizeMB = 2048
)

var (
	cachePruneInterval = 10 * time.Minute
	cachePruneGrace    = 10 * time.Minute
)

type cachePolicy struct {
	maxAge   time.Duration
	maxBytes int64
}

// cachePolicyFrom reads the policy from an environment in os.Environ form.
func cachePolicyFrom(getenv func(string) string) (cachePolicy, error) {
	p := cachePolicy{maxAge: defaultCacheMaxAge, maxBytes: defaultCacheMaxSizeMB << 20}
	if v := getenv(envCacheMaxAge); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return p, fmt.Errorf("%s=%q is not a duration: use for example 24h or 90m", envCacheMaxAge, v)
		}
		p.maxAge = d
	}
	if v := getenv(envCacheMaxSize); v != "" {
		mb, err := strconv.ParseInt(v, 10, 64)
		if err != nil || mb < 0 {
			return p, fmt.Errorf("%s=%q is not a size in MiB: use a whole number, for example 2048", envCacheMaxSize, v)
		}
		p.maxBytes = mb << 20
	}
	return p, nil
}

// cacheUsage counts the running generations that use each cache key.
type cacheUsage struct {
	mu   sync.Mutex
	keys map[string]int
	kick chan struct{}
}

// use records that a generation uses key's folder dir from now on; the
// returned function ends that use.
func (u *cacheUsage) use(key, dir string) func() {
	u.mu.Lock()
	if u.keys == nil {
		u.keys = make(map[string]int)
	}
	u.keys[key]++
	u.mu.Unlock()
	now := time.Now()
	_ = os.Chtimes(dir, now, now) // the folder's time is its last use
	return func() {
		u.mu.Lock()
		if u.keys[key]--; u.keys[key] <= 0 {
			delete(u.keys, key)
		}
		u.mu.Unlock()
		_ = os.Chtimes(dir, time.Now(), time.Now())
	}
}

func (u *cacheUsage) inUse() map[string]bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]bool, len(u.keys))
	for k := range u.keys {
		out[k] = true
	}
	return out
}

type cacheEntry struct {
	key   string
	used  time.Time
	bytes int64
}

// isCacheKey reports whether name is a build key (64 hex digits); the
// cache's other entries (locks, builds in progress) are not pruned.
func isCacheKey(name string) bool {
	if len(name) != 64 {
		return false
	}
	for _, c := range name {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// pruneCache removes the unused folders of dir that policy p says to, and
// returns their keys.
func pruneCache(dir string, inUse map[string]bool, p cachePolicy, now time.Time, log *slog.Logger) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var all []cacheEntry
	var total int64
	for _, de := range ents {
		if !de.IsDir() || !isCacheKey(de.Name()) {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		e := cacheEntry{key: de.Name(), used: info.ModTime(), bytes: treeSize(filepath.Join(dir, de.Name()))}
		all = append(all, e)
		total += e.bytes
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	var removed []string
	for _, e := range all {
		if inUse[e.key] || now.Sub(e.used) < cachePruneGrace {
			continue
		}
		old := now.Sub(e.used) > p.maxAge
		if !old && total <= p.maxBytes {
			continue
		}
		if err := removeCacheEntry(dir, e.key); err != nil {
			log.Warn("prune build cache", "key", e.key, "err", err)
			continue
		}
		total -= e.bytes
		removed = append(removed, e.key)
		log.Info("build cache entry pruned", "key", e.key, "bytes", e.bytes, "last_used", e.used.Format(time.RFC3339))
	}
	return removed
}

// removeCacheEntry renames the folder out of the way first, so that a
// build never sees it half removed.
func removeCacheEntry(dir, key string) error {
	trash, err := os.MkdirTemp(dir, ".prune-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(trash)
	return os.Rename(filepath.Join(dir, key), filepath.Join(trash, key))
}

func treeSize(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// runCachePruner prunes at start, every cachePruneInterval and when kicked,
// until done is closed.
func (e *Engine) runCachePruner(done <-chan struct{}) {
	p, err := cachePolicyFrom(os.Getenv)
	if err != nil {
		e.logger.Warn("build cache pruning uses its defaults", "err", err)
	}
	t := time.NewTicker(cachePruneInterval)
	defer t.Stop()
	for {
		pruneCache(e.builder.CacheDir, e.cacheUse.inUse(), p, time.Now(), e.logger)
		select {
		case <-done:
			return
		case <-t.C:
		case <-e.cacheKick():
		}
	}
}

// cacheKick returns the channel that asks the pruner to run now.
func (e *Engine) cacheKick() chan struct{} {
	e.cacheUse.mu.Lock()
	defer e.cacheUse.mu.Unlock()
	if e.cacheUse.kick == nil {
		e.cacheUse.kick = make(chan struct{}, 1)
	}
	return e.cacheUse.kick
}

// kickCachePruner asks for a prune without waiting for it.
func (e *Engine) kickCachePruner() {
	select {
	case e.cacheKick() <- struct{}{}:
	default:
	}
}
