package store

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Mem is a Store that keeps values in memory. It validates keys and values
// exactly as File does, so tests written against Mem hold for File. The
// zero value is ready to use.
type Mem struct {
	mu   sync.RWMutex
	vals map[string][]byte
}

var _ Store = (*Mem)(nil)

// NewMem returns an empty Mem.
func NewMem() *Mem { return &Mem{} }

// Get implements Store.
func (m *Mem) Get(key string) ([]byte, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.vals[key]
	if !ok {
		return nil, fmt.Errorf("get key %q: %w", key, ErrNotFound)
	}
	return clone(v), nil
}

// Put implements Store.
func (m *Mem) Put(key string, value []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if len(value) == 0 {
		return fmt.Errorf("put key %q: %w; use Delete to remove a key", key, ErrEmptyValue)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.vals == nil {
		m.vals = map[string][]byte{}
	}
	m.vals[key] = clone(value)
	return nil
}

// Delete implements Store.
func (m *Mem) Delete(key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.vals[key]; !ok {
		return fmt.Errorf("delete key %q: %w", key, ErrNotFound)
	}
	delete(m.vals, key)
	return nil
}

// List implements Store.
func (m *Mem) List(prefix string) ([]Entry, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Entry
	for k, v := range m.vals {
		if strings.HasPrefix(k, prefix) {
			out = append(out, Entry{Key: k, Value: clone(v)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
