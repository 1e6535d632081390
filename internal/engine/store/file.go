package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// tmpPrefix starts the name of the temporary file of every write. Keys
// start with a letter or digit, so no key's file starts with a dot.
const tmpPrefix = ".tmp-"

// File is a Store that keeps each key in a file of one folder, named after
// the key with '/' replaced by '+' ("functions/default/hello" is the file
// "functions+default+hello"), holding the value as is.
//
// Put writes the value to a temporary file in the same folder, flushes it
// to disk (fsync), renames it over the key's file and flushes the folder,
// so a crash at any point leaves the old value or the new one. Temporary
// files that a crash left behind are never read, and NewFile removes them.
// Files whose names are not keys (such as the Lock file) are ignored.
//
// A File is safe for concurrent use. Several File values, or processes,
// may read one folder, but only one should write to it: NewFile removes
// temporary files that another writer may be about to rename. Use Lock to
// make sure of that.
type File struct {
	dir string
	mu  sync.Mutex // serialises Put and Delete
}

var _ Store = (*File)(nil)

// NewFile returns a File rooted at dir, creating dir (mode 0700) if needed
// and removing the temporary files that an interrupted Put left there. It
// logs each removal to logger, which may be nil.
func NewFile(dir string, logger *slog.Logger) (*File, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	removed := false
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open store: remove temporary file of an interrupted write: %w", err)
		}
		logger.Info("removed temporary file of an interrupted write", "path", p)
		removed = true
	}
	if removed {
		if err := syncDir(dir); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	return &File{dir: dir}, nil
}

// Dir returns the folder that f keeps its files in.
func (f *File) Dir() string { return f.dir }

// Path returns the file that holds key's value (whether or not it exists).
func (f *File) Path(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return filepath.Join(f.dir, fileName(key)), nil
}

// Get implements Store. A file that is empty or that cannot be read gives
// an error wrapping ErrUnreadable and naming the file.
func (f *File) Get(key string) ([]byte, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	v, err := f.read(key)
	if err != nil {
		return nil, fmt.Errorf("get key %q: %w", key, err)
	}
	return v, nil
}

func (f *File) read(key string) ([]byte, error) {
	p := filepath.Join(f.dir, fileName(key))
	v, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	case len(v) == 0:
		return nil, fmt.Errorf("%w: file %s is empty, which a write of the store never "+
			"leaves (was it changed by hand?); delete the file or put the key again", ErrUnreadable, p)
	}
	return v, nil
}

// Put implements Store.
func (f *File) Put(key string, value []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if len(value) == 0 {
		return fmt.Errorf("put key %q: %w; use Delete to remove a key", key, ErrEmptyValue)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := writeFile(f.dir, fileName(key), value); err != nil {
		return fmt.Errorf("put key %q: %w", key, err)
	}
	return nil
}

// writeFile replaces dir/name with data atomically and durably.
func writeFile(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// Delete implements Store.
func (f *File) Delete(key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	err := os.Remove(filepath.Join(f.dir, fileName(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete key %q: %w", key, ErrNotFound)
	}
	if err == nil {
		err = syncDir(f.dir)
	}
	if err != nil {
		return fmt.Errorf("delete key %q: %w", key, err)
	}
	return nil
}

// List implements Store.
func (f *File) List(prefix string) ([]Entry, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	var keys []string
	for _, e := range ents {
		if key, ok := keyOf(e.Name()); ok && strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys) // '+' and '/' sort differently against '-' and '.'
	var out []Entry
	var errs []error
	for _, key := range keys {
		v, err := f.read(key)
		switch {
		case errors.Is(err, ErrNotFound): // deleted since ReadDir
		case err != nil:
			errs = append(errs, fmt.Errorf("key %q: %w", key, err))
		default:
			out = append(out, Entry{Key: key, Value: v})
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("list %q: %w", prefix, errors.Join(errs...))
	}
	return out, nil
}

func fileName(key string) string { return strings.ReplaceAll(key, "/", "+") }

// keyOf returns the key whose file is called name, if there is one.
func keyOf(name string) (string, bool) {
	key := strings.ReplaceAll(name, "+", "/")
	return key, ValidateKey(key) == nil
}

// syncDir flushes a folder's entries (a rename or a removal) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
