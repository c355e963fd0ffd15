package checkpoint

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// MemStorage is a Storage in memory, for tests and for runs whose
// checkpoints need not outlive the process.
type MemStorage struct {
	mu      sync.Mutex
	objects map[string][]byte
}

// NewMemStorage returns an empty MemStorage.
func NewMemStorage() *MemStorage { return &MemStorage{objects: map[string][]byte{}} }

// Put stores a copy of data under key.
func (m *MemStorage) Put(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key] = slices.Clone(data)
	return nil
}

// Get returns the object key.
func (m *MemStorage) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.objects[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return d, nil
}

// List returns the keys that start with prefix.
func (m *MemStorage) List(_ context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out, nil
}

// Delete removes the object key.
func (m *MemStorage) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
	return nil
}

// PutIfAbsent stores a copy of data under key only if no object is there;
// otherwise it fails with an error matching fs.ErrExist.
func (m *MemStorage) PutIfAbsent(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; ok {
		return &fs.PathError{Op: "create", Path: key, Err: fs.ErrExist}
	}
	m.objects[key] = slices.Clone(data)
	return nil
}

// CheckWritable reports nothing: memory is always writable.
func (m *MemStorage) CheckWritable(context.Context, string) error { return nil }

// String names the storage in messages.
func (m *MemStorage) String() string { return "memory" }
