package deltalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/internal/objstore"
)

// LogDir is the folder of the transaction log under a table's root.
const LogDir = "_delta_log"

// ErrConflict is returned by Commit when the version exists already:
// another writer committed it first.
var ErrConflict = errors.New("the version was committed by another writer")

// Log is the transaction log of the table whose root is the store's
// root. Its methods may be called from several goroutines at once.
type Log struct {
	store *objstore.Store
}

// New returns the log of the table at store's root.
func New(store *objstore.Store) *Log { return &Log{store: store} }

// Store returns the table's store.
func (l *Log) Store() *objstore.Store { return l.store }

// CommitKey returns the key of the commit file of version.
func CommitKey(version int64) string { return fmt.Sprintf("%s/%020d.json", LogDir, version) }

// CheckpointKey returns the key of the classic checkpoint of version.
func CheckpointKey(version int64) string {
	return fmt.Sprintf("%s/%020d.checkpoint.parquet", LogDir, version)
}

// LastCheckpointKey is the key of the _last_checkpoint file.
const LastCheckpointKey = LogDir + "/_last_checkpoint"

// LastCheckpoint is the content of _last_checkpoint.
type LastCheckpoint struct {
	Version       int64 `json:"version"`
	Size          int64 `json:"size"`
	SizeInBytes   int64 `json:"sizeInBytes,omitempty"`
	NumOfAddFiles int64 `json:"numOfAddFiles,omitempty"`
	// Parts is set by writers of multi-part checkpoints, which this
	// package does not read.
	Parts int64 `json:"parts,omitempty"`
}

// ReadCommit returns the actions of the commit of version; an error
// matching fs.ErrNotExist when there is none.
func (l *Log) ReadCommit(ctx context.Context, version int64) ([]Action, error) {
	data, err := l.store.Get(ctx, CommitKey(version))
	if err != nil {
		return nil, err
	}
	actions, err := DecodeActions(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CommitKey(version), err)
	}
	return actions, nil
}

// Commit creates the commit of version with actions, only if no commit
// of that version exists: ErrConflict (which also matches fs.ErrExist)
// when another writer committed it first.
func (l *Log) Commit(ctx context.Context, version int64, actions []Action) error {
	data, err := EncodeActions(actions)
	if err != nil {
		return err
	}
	if len(data) > objstore.MaxPutIfAbsent {
		return fmt.Errorf("commit %d has %d bytes, more than the %d a log entry may have here: commit more often or write larger files", version, len(data), objstore.MaxPutIfAbsent)
	}
	err = l.store.PutIfAbsent(ctx, CommitKey(version), data)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// Snapshot replays the log into the table's latest state: from the
// checkpoint _last_checkpoint names, if any, then every later commit.
// A table that does not exist yet gives a Snapshot of version -1.
func (l *Log) Snapshot(ctx context.Context) (*Snapshot, error) {
	s := NewSnapshot()
	data, err := l.store.Get(ctx, LastCheckpointKey)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		var lc LastCheckpoint
		if err := json.Unmarshal(data, &lc); err != nil {
			return nil, fmt.Errorf("%s: %w", LastCheckpointKey, err)
		}
		if lc.Parts > 1 {
			return nil, fmt.Errorf("%s names a checkpoint in %d parts, which sluice does not read", LastCheckpointKey, lc.Parts)
		}
		if s, err = l.ReadCheckpoint(ctx, lc.Version); err != nil {
			return nil, err
		}
	}
	if err := l.Update(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Update applies to s every commit after s.Version, in order, until the
// first version that does not exist.
func (l *Log) Update(ctx context.Context, s *Snapshot) error {
	for {
		actions, err := l.ReadCommit(ctx, s.Version+1)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		s.Apply(s.Version+1, actions)
		if s.Protocol != nil {
			if err := s.Protocol.Check(); err != nil {
				return err
			}
		}
	}
}

// ReplayAll replays every JSON commit from version 0, ignoring
// checkpoints: what Snapshot must equal.
func (l *Log) ReplayAll(ctx context.Context) (*Snapshot, error) {
	s := NewSnapshot()
	return s, l.Update(ctx, s)
}

// Versions lists the versions of the JSON commits in the log, ascending.
func (l *Log) Versions(ctx context.Context) ([]int64, error) {
	keys, err := l.store.List(ctx, LogDir+"/")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, k := range keys {
		name := strings.TrimPrefix(k, LogDir+"/")
		num, ok := strings.CutSuffix(name, ".json")
		if !ok || len(num) != 20 {
			continue
		}
		if v, err := strconv.ParseInt(num, 10, 64); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
