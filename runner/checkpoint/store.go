package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Storage is the object store checkpoints are kept in. Put must be atomic
// and durable: once it returns, Get sees the whole object, even after a
// crash; until then, no reader sees a part of it.
type Storage interface {
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns the keys that start with prefix.
	List(ctx context.Context, prefix string) ([]string, error)
	Delete(ctx context.Context, key string) error
}

// LeaseStorage is a Storage that ownership leases can be kept in
// (Store.Acquire).
type LeaseStorage interface {
	Storage
	// PutIfAbsent is Put, except that when an object is at key it writes
	// nothing and fails with an error matching fs.ErrExist. Of concurrent
	// calls for one absent key, from any number of processes, exactly one
	// succeeds.
	PutIfAbsent(ctx context.Context, key string, data []byte) error
	// CheckWritable checks that objects can be created under the folder
	// dir, and that PutIfAbsent refuses to overwrite one. Its error is one
	// line that starts with the storage's name, e.g.
	// "file:///var/lib/sluice is not writable: mkdir: permission denied".
	CheckWritable(ctx context.Context, dir string) error
}

// Keep is how many checkpoints of a pipeline a Store keeps.
const Keep = 3

// suffix ends the key of every checkpoint object.
const suffix = ".ckpt"

// Store keeps the checkpoints of pipelines in a Storage, under
// "<pipeline>/<epoch, 20 digits>.ckpt", and their ownership leases under
// "<pipeline>/_lease/" (Acquire).
type Store struct {
	storage Storage
	// Warn is told about checkpoints that cannot be read, which Latest
	// skips; nil ignores them.
	Warn func(key string, err error)
}

// NewStore returns a store over s.
func NewStore(s Storage) *Store { return &Store{storage: s} }

func key(pipeline string, epoch int64) string {
	return fmt.Sprintf("%s/%020d%s", pipeline, epoch, suffix)
}

// Save writes c and returns its encoded size. Once Save returns, c is
// durable.
func (s *Store) Save(ctx context.Context, c *Checkpoint) (int, error) {
	data, err := c.Marshal()
	if err != nil {
		return 0, err
	}
	if err := s.storage.Put(ctx, key(c.Pipeline, c.Epoch), data); err != nil {
		return 0, fmt.Errorf("writing checkpoint %d: %w", c.Epoch, err)
	}
	return len(data), nil
}

// epochs lists the epochs of pipeline's checkpoints, newest first.
func (s *Store) epochs(ctx context.Context, pipeline string) ([]int64, error) {
	keys, err := s.storage.List(ctx, pipeline+"/")
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints: %w", err)
	}
	var out []int64
	for _, k := range keys {
		name, ok := strings.CutSuffix(strings.TrimPrefix(k, pipeline+"/"), suffix)
		if !ok || strings.Contains(name, "/") {
			continue
		}
		if e, err := strconv.ParseInt(name, 10, 64); err == nil {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// Latest returns the newest checkpoint of pipeline that reads back whole,
// or nil when there is none. Damaged ones are skipped (and told to Warn):
// an older complete checkpoint is still a consistent cut.
func (s *Store) Latest(ctx context.Context, pipeline string) (*Checkpoint, error) {
	epochs, err := s.epochs(ctx, pipeline)
	if err != nil {
		return nil, err
	}
	for _, e := range epochs {
		k := key(pipeline, e)
		data, err := s.storage.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("reading checkpoint %s: %w", k, err)
		}
		c, err := Unmarshal(data)
		if err == nil && (c.Pipeline != pipeline || c.Epoch != e) {
			err = fmt.Errorf("%w: it names pipeline %q epoch %d", ErrCorrupt, c.Pipeline, c.Epoch)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				return nil, err
			}
			if s.Warn != nil {
				s.Warn(k, err)
			}
			continue
		}
		return c, nil
	}
	return nil, nil
}

// Prune deletes all but the newest Keep checkpoints of pipeline, and what
// a crash in the middle of a Save left of a checkpoint ("….ckpt.<x>.tmp"
// on a local store). Only the process taking the pipeline's checkpoints
// (the holder of its lease) may call it. Objects in folders below the
// pipeline's, such as its lease, are never touched.
func (s *Store) Prune(ctx context.Context, pipeline string) error {
	keys, err := s.storage.List(ctx, pipeline+"/")
	if err != nil {
		return fmt.Errorf("listing checkpoints: %w", err)
	}
	for _, k := range keys {
		name := strings.TrimPrefix(k, pipeline+"/")
		if !strings.Contains(name, "/") && strings.HasSuffix(name, ".tmp") && strings.Contains(name, suffix+".") {
			if err := s.storage.Delete(ctx, k); err != nil {
				return fmt.Errorf("deleting %s: %w", k, err)
			}
		}
	}
	epochs, err := s.epochs(ctx, pipeline)
	if err != nil {
		return err
	}
	for _, e := range epochs[min(Keep, len(epochs)):] {
		if err := s.storage.Delete(ctx, key(pipeline, e)); err != nil {
			return fmt.Errorf("deleting old checkpoint %d: %w", e, err)
		}
	}
	return nil
}
