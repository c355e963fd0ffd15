package delta

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/internal/deltalog"
)

// ManifestVersion is the version of the manifest format Prepare writes.
const ManifestVersion = 1

// Manifest is what Prepare returns, as JSON: the data files of one epoch,
// complete under their final names and not yet in the log.
type Manifest struct {
	Version int `json:"version"`
	// Location is the table's Location.Root.
	Location string `json:"location"`
	AppID    string `json:"app_id"`
	// Task is the task of the writer that prepared it
	// (plugins.Runtime.Task); absent without one.
	Task  string         `json:"task,omitempty"`
	Epoch int64          `json:"epoch"`
	Files []ManifestFile `json:"files"`
}

// ManifestFile is one data file of a Manifest.
type ManifestFile struct {
	// Key is the file's object key relative to the table's root.
	Key             string            `json:"key"`
	PartitionValues map[string]string `json:"partition_values"`
	Size            int64             `json:"size"`
	Rows            int64             `json:"rows"`
	Created         int64             `json:"created"`
	// Stats is the add action's stats JSON.
	Stats string `json:"stats"`
}

// Prepare completes every file written since the previous Prepare (footer
// written, synced or uploaded) and returns the manifest naming them, nil
// when nothing was written.
func (w *Writer) Prepare(ctx context.Context, epoch int64) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errors.New("prepare after close")
	}
	if err := w.finishAll(); err != nil {
		return nil, err
	}
	if len(w.done) == 0 {
		return nil, nil
	}
	m := Manifest{Version: ManifestVersion, Location: w.sink.Location.Root(), AppID: w.appID, Task: w.task, Epoch: epoch}
	for _, f := range w.done {
		m.Files = append(m.Files, ManifestFile{Key: f.key, PartitionValues: f.values, Size: f.bytes, Rows: f.rows, Created: f.created, Stats: f.stats.Encode()})
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	w.done = nil
	return out, nil
}

// Commit writes the table version of the manifest's epoch: its add
// actions and the txn action of the sink's application id. It is a no-op
// when the table records that epoch (or a later one) for the sink.
func (w *Writer) Commit(ctx context.Context, manifest []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	m, err := w.decode(manifest)
	if err != nil || m == nil {
		return err
	}
	return w.commit(ctx, m)
}

// commit commits m, then checkpoints and optimizes as due.
func (w *Writer) commit(ctx context.Context, m *Manifest) error {
	now := w.now()
	for _, f := range m.Files {
		size, ok, err := w.store.Size(ctx, f.Key)
		switch {
		case err != nil:
			return err
		case !ok:
			if v, done := w.snap.Txns[m.AppID]; done && v >= m.Epoch {
				return nil // committed already; optimize or vacuum may have gone on since
			}
			return fmt.Errorf("data file %s of epoch %d is missing: the output of that epoch is lost (was the table's folder or bucket changed or cleaned?)", f.Key, m.Epoch)
		case size != f.Size:
			return fmt.Errorf("data file %s has %d bytes, the manifest says %d", f.Key, size, f.Size)
		}
	}
	build := func(s *deltalog.Snapshot) ([]deltalog.Action, error) {
		if v, ok := s.Txns[m.AppID]; ok && v >= m.Epoch {
			return nil, nil
		}
		return w.actions(s, m, now.UnixMilli())
	}
	v, err := w.log.CommitNext(ctx, w.snap, build, func() { w.retries.Add(1) })
	if v < 0 {
		return err
	}
	if err != nil { // the commit stands; only its checkpoint failed
		w.logger.Warn("could not write a Delta checkpoint", "version", v, "error", err.Error())
	}
	w.commits++
	if w.sink.OptimizeEvery > 0 && w.commits%w.sink.OptimizeEvery == 0 {
		res, err := Optimize(ctx, w.log, w.snap, OptimizeOptions{TargetSize: w.sink.TargetFileSize, Compression: w.sink.Compression, Now: w.now, OnConflict: func() { w.retries.Add(1) }})
		if err != nil {
			return fmt.Errorf("optimize: %w", err)
		}
		if res.Removed > 0 {
			w.logger.Info("optimized the Delta table", "version", res.Version, "files_removed", res.Removed, "files_added", res.Added)
		}
	}
	return nil
}

// actions returns the actions of m's commit on top of table s: a new
// table's protocol and metadata, or a metadata update when the records add
// columns or properties changed; an error when s no longer fits (another
// writer changed its schema or protocol).
func (w *Writer) actions(s *deltalog.Snapshot, m *Manifest, now int64) ([]deltalog.Action, error) {
	rows, bytes := int64(0), int64(0)
	for _, f := range m.Files {
		rows += f.Rows
		bytes += f.Size
	}
	readVersion, blind := s.Version, true
	info := &deltalog.CommitInfo{
		Timestamp:           now,
		Operation:           "STREAMING UPDATE",
		OperationParameters: map[string]string{"outputMode": "Append", "queryId": m.AppID, "epochId": strconv.FormatInt(m.Epoch, 10)},
		IsBlindAppend:       &blind,
		OperationMetrics:    map[string]string{"numAddedFiles": strconv.Itoa(len(m.Files)), "numOutputRows": strconv.FormatInt(rows, 10), "numOutputBytes": strconv.FormatInt(bytes, 10)},
		EngineInfo:          "sluice",
	}
	actions := []deltalog.Action{{CommitInfo: info}}
	if !s.Exists() {
		p, meta := w.sink.newTable(newTableID(), w.now())
		actions = append(actions, deltalog.Action{Protocol: p}, deltalog.Action{MetaData: meta})
	} else {
		info.ReadVersion = &readVersion
		if err := s.Protocol.Check(); err != nil {
			return nil, fmt.Errorf("another writer changed the table's protocol: %w", err)
		}
		meta, err := w.sink.fit(s.Metadata)
		if err != nil {
			return nil, fmt.Errorf("another writer changed the table so that it no longer fits the records of the sink at %s: %w", w.sink.At, err)
		}
		if meta != nil {
			actions = append(actions, deltalog.Action{MetaData: meta})
		}
	}
	for _, f := range m.Files {
		actions = append(actions, deltalog.Action{Add: &deltalog.Add{
			Path: deltalog.EncodePath(f.Key), PartitionValues: f.PartitionValues, Size: f.Size,
			ModificationTime: f.Created, DataChange: true, Stats: f.Stats,
		}})
	}
	actions = append(actions, deltalog.Action{Txn: &deltalog.Txn{AppID: m.AppID, Version: m.Epoch, LastUpdated: now}})
	return actions, nil
}

// Recover commits manifest (the crash may have come between the
// checkpoint and its commit), then deletes every data file of this sink
// (and task: the files of other tasks are theirs) that the log does not
// reference: rows written after that checkpoint are
// written again by the resumed run.
func (w *Writer) Recover(ctx context.Context, manifest []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	m, err := w.decode(manifest)
	if err != nil {
		return err
	}
	if m != nil {
		if err := w.commit(ctx, m); err != nil {
			return err
		}
	}
	if err := w.log.Update(ctx, w.snap); err != nil {
		return err
	}
	keys, err := w.store.List(ctx, "")
	if err != nil {
		return fmt.Errorf("list %s: %w", w.sink.Location.Root(), err)
	}
	referenced := referencedKeys(w.snap)
	deleted := 0
	for _, k := range keys {
		if strings.HasPrefix(k, deltalog.LogDir+"/") || referenced[k] || !w.names.owns(k) {
			continue
		}
		if err := w.store.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete %s: %w", k, err)
		}
		deleted++
	}
	if deleted > 0 {
		w.logger.Info("deleted data files no commit references", "count", deleted)
	}
	return nil
}

// referencedKeys returns the object keys of the files s references: live
// files and tombstones.
func referencedKeys(s *deltalog.Snapshot) map[string]bool {
	out := make(map[string]bool, len(s.Files)+len(s.Tombstones))
	for p := range s.Files {
		if k, err := deltalog.DecodePath(p); err == nil {
			out[k] = true
		}
	}
	for p := range s.Tombstones {
		if k, err := deltalog.DecodePath(p); err == nil {
			out[k] = true
		}
	}
	return out
}

// decode parses and checks a manifest; nil when it is empty. Every key
// must be a data file of this sink, so that a damaged or foreign manifest
// never adds other objects to the table.
func (w *Writer) decode(manifest []byte) (*Manifest, error) {
	if len(bytes.TrimSpace(manifest)) == 0 {
		return nil, nil
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("bad manifest: %w", err)
	}
	if len(m.Files) == 0 {
		return nil, nil
	}
	switch {
	case m.Version != ManifestVersion:
		return nil, fmt.Errorf("manifest version %d, want %d", m.Version, ManifestVersion)
	case m.Location != w.sink.Location.Root():
		return nil, fmt.Errorf("the checkpoint's manifest is for %s but the sink now writes to %s; set path back to commit it, or start without the checkpoint", m.Location, w.sink.Location.Root())
	case m.Task != w.task:
		return nil, fmt.Errorf("the checkpoint's manifest is for task %q, not task %q", m.Task, w.task)
	case m.AppID != w.appID:
		return nil, fmt.Errorf("the checkpoint's manifest is for application %q, not %q", m.AppID, w.appID)
	}
	for _, f := range m.Files {
		if !w.names.owns(f.Key) || strings.HasPrefix(f.Key, "_") {
			return nil, fmt.Errorf("manifest names a file this sink does not write: %q", f.Key)
		}
	}
	return &m, nil
}

// newTableID returns a random UUID (version 4) for a new table.
func newTableID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
