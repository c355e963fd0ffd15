package deltalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	pq "github.com/parquet-go/parquet-go"
)

// CheckpointInterval is how many commits apart checkpoints are written:
// writers write one after each commit whose version is a multiple of it.
const CheckpointInterval = 10

// TombstoneRetention is how long a checkpoint keeps the remove actions
// of files deleted from the table: Delta's default
// delta.deletedFileRetentionDuration, one week.
const TombstoneRetention = 7 * 24 * time.Hour

// checkpointRow is one row of a checkpoint file (the protocol's
// checkpoint schema): exactly one column is set.
type checkpointRow struct {
	Txn      *Txn      `parquet:"txn,optional"`
	Add      *Add      `parquet:"add,optional"`
	Remove   *Remove   `parquet:"remove,optional"`
	MetaData *Metadata `parquet:"metaData,optional"`
	Protocol *Protocol `parquet:"protocol,optional"`
}

// WriteCheckpoint writes the checkpoint of s (which must be the state at
// s.Version, replayed) and then _last_checkpoint naming it. Both are
// plain writes: two writers checkpointing one version write the same
// state, and either file is complete or absent. Tombstones older than
// TombstoneRetention at now are left out.
func (l *Log) WriteCheckpoint(ctx context.Context, s *Snapshot, now time.Time) error {
	if !s.Exists() || s.Protocol == nil || s.Metadata == nil {
		return fmt.Errorf("checkpoint of version %d: the table has no protocol or metadata", s.Version)
	}
	rows := []checkpointRow{{Protocol: s.Protocol}, {MetaData: s.Metadata}}
	apps := make([]string, 0, len(s.Txns))
	for app := range s.Txns {
		apps = append(apps, app)
	}
	sort.Strings(apps)
	for _, app := range apps {
		rows = append(rows, checkpointRow{Txn: &Txn{AppID: app, Version: s.Txns[app]}})
	}
	for _, p := range sortedKeys(s.Files) {
		rows = append(rows, checkpointRow{Add: s.Files[p]})
	}
	oldest := now.Add(-TombstoneRetention).UnixMilli()
	for _, p := range sortedKeys(s.Tombstones) {
		if r := s.Tombstones[p]; r.DeletionTimestamp >= oldest {
			rows = append(rows, checkpointRow{Remove: r})
		}
	}
	var buf bytes.Buffer
	if err := pq.Write(&buf, rows, pq.Compression(&pq.Snappy)); err != nil {
		return fmt.Errorf("checkpoint of version %d: %w", s.Version, err)
	}
	if err := l.store.Put(ctx, CheckpointKey(s.Version), buf.Bytes()); err != nil {
		return err
	}
	last, err := json.Marshal(LastCheckpoint{Version: s.Version, Size: int64(len(rows)), SizeInBytes: int64(buf.Len()), NumOfAddFiles: int64(len(s.Files))})
	if err != nil {
		return err
	}
	return l.store.Put(ctx, LastCheckpointKey, last)
}

// ReadCheckpoint returns the state the checkpoint of version holds.
func (l *Log) ReadCheckpoint(ctx context.Context, version int64) (*Snapshot, error) {
	key := CheckpointKey(version)
	data, err := l.store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	rows, err := pq.Read[checkpointRow](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	s := NewSnapshot()
	for i := range rows {
		r := &rows[i]
		switch {
		case r.Protocol != nil:
			s.Protocol = r.Protocol
		case r.MetaData != nil:
			s.Metadata = r.MetaData
		case r.Txn != nil:
			s.Txns[r.Txn.AppID] = r.Txn.Version
		case r.Add != nil:
			s.Files[r.Add.Path] = r.Add
		case r.Remove != nil:
			s.Tombstones[r.Remove.Path] = r.Remove
		}
	}
	if s.Protocol == nil || s.Metadata == nil {
		return nil, fmt.Errorf("%s: no protocol or metadata", key)
	}
	if err := s.Protocol.Check(); err != nil {
		return nil, err
	}
	s.Version = version
	return s, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
