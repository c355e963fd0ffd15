package parquet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ManifestVersion is the version of the manifest format Prepare writes.
const ManifestVersion = 1

// Manifest is what Prepare returns, as JSON: the temporaries of one epoch
// and the final names Commit gives them. Keys are relative to Location.
type Manifest struct {
	Version int `json:"version"`
	// Location is the sink's Location.Root.
	Location string `json:"location"`
	Pipeline string `json:"pipeline"`
	Sink     string `json:"sink"`
	// Task is the task of the writer that prepared it (plugins.Runtime.Task);
	// absent when one process owns every partition.
	Task  string         `json:"task,omitempty"`
	Epoch int64          `json:"epoch"`
	Files []ManifestFile `json:"files"`
}

// ManifestFile is one file of a Manifest.
type ManifestFile struct {
	// Temp is the temporary's key, under _sluice_tmp/.
	Temp string `json:"temp"`
	// Final is the committed key: partition folders, then
	// part-PIPELINE-SINK-EPOCH-SEQ.CODEC.parquet, or
	// part-PIPELINE-SINK-tTASK-EPOCH-SEQ.CODEC.parquet for a task.
	Final string `json:"final"`
	// Rows is the number of rows in the file.
	Rows int64 `json:"rows"`
	// Bytes is the file's size.
	Bytes int64 `json:"bytes"`
}

// Prepare completes every file written since the previous Prepare (footer
// written, synced to disk or uploaded) and returns the manifest naming
// them, or nil when nothing was written. The files stay temporary until
// Commit.
func (w *Writer) Prepare(ctx context.Context, epoch int64) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errors.New("sink \"parquet\": prepare after close")
	}
	if epoch < 0 {
		return nil, w.fail(fmt.Errorf("negative epoch %d", epoch))
	}
	if err := w.finishAll(); err != nil {
		return nil, w.fail(err)
	}
	if len(w.done) == 0 {
		return nil, nil
	}
	files := w.done
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].partition != files[j].partition {
			return files[i].partition < files[j].partition
		}
		return files[i].seq < files[j].seq
	})
	m := Manifest{
		Version:  ManifestVersion,
		Location: w.sink.Location.Root(),
		Pipeline: w.pipeline,
		Sink:     w.sink.Name,
		Task:     w.task,
		Epoch:    epoch,
	}
	for i, f := range files {
		m.Files = append(m.Files, ManifestFile{
			Temp:  f.temp,
			Final: fmt.Sprintf("%s%s%020d-%05d%s", f.partition, w.finalPrefix(), epoch, i, w.suffix),
			Rows:  f.rows,
			Bytes: f.bytes,
		})
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, w.fail(err)
	}
	w.done = nil
	return out, nil
}

// Commit moves the files of the manifest to their final names. It is
// idempotent: a temporary that is gone while its final file is there (with
// the manifest's size) was committed already; one that is there replaces
// its final file, which then has the same content.
func (w *Writer) Commit(ctx context.Context, manifest []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commit(ctx, manifest)
}

func (w *Writer) commit(ctx context.Context, manifest []byte) error {
	m, err := w.decode(manifest)
	if err != nil || m == nil {
		return err
	}
	for _, f := range m.Files {
		if err := w.commitFile(ctx, f); err != nil {
			return w.fail(fmt.Errorf("commit epoch %d: %w", m.Epoch, err))
		}
	}
	return nil
}

// commitFile commits one file of a manifest.
func (w *Writer) commitFile(ctx context.Context, f ManifestFile) error {
	size, ok, err := w.store.Size(ctx, f.Temp)
	if err != nil {
		return err
	}
	if ok {
		if size != f.Bytes {
			return fmt.Errorf("temporary %s has %d bytes, the manifest says %d", f.Temp, size, f.Bytes)
		}
		if err := w.store.Promote(ctx, f.Temp, f.Final); err != nil {
			return fmt.Errorf("move %s to %s: %w", f.Temp, f.Final, err)
		}
		return nil
	}
	size, ok, err = w.store.Size(ctx, f.Final)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("neither the temporary %s nor its final file %s exists: the output of that epoch is lost (was the folder or bucket changed or cleaned?)", f.Temp, f.Final)
	case size != f.Bytes:
		return fmt.Errorf("%s has %d bytes, the manifest says %d", f.Final, size, f.Bytes)
	}
	return nil
}

// Recover commits manifest, then deletes every temporary of this
// pipeline's sink (and task) that it does not name: rows written after the
// checkpoint it came from are written again by the resumed run. An empty
// manifest only deletes. The temporaries of other tasks are left alone.
func (w *Writer) Recover(ctx context.Context, manifest []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.commit(ctx, manifest); err != nil {
		return err
	}
	keys, err := w.store.List(ctx, w.tmpPrefix)
	if err != nil {
		return w.fail(fmt.Errorf("list %s: %w", w.tmpPrefix, err))
	}
	deleted := 0
	for _, k := range keys {
		if strings.HasPrefix(k, w.run) || !w.ownsTemp(k) {
			continue // this writer's own, or another task's
		}
		if err := w.store.Delete(ctx, k); err != nil {
			return w.fail(fmt.Errorf("delete %s: %w", k, err))
		}
		deleted++
	}
	if deleted > 0 {
		w.log.Info("deleted uncommitted Parquet temporaries", "count", deleted, "under", w.tmpPrefix)
	}
	return nil
}

// decode parses and checks a manifest; nil when it is empty. Every key
// must be one this sink writes, so that a damaged or foreign manifest
// never moves or deletes other objects.
func (w *Writer) decode(manifest []byte) (*Manifest, error) {
	if len(bytes.TrimSpace(manifest)) == 0 {
		return nil, nil
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, w.fail(fmt.Errorf("bad manifest: %w", err))
	}
	if len(m.Files) == 0 {
		return nil, nil
	}
	switch {
	case m.Version != ManifestVersion:
		return nil, w.fail(fmt.Errorf("manifest version %d, want %d", m.Version, ManifestVersion))
	case m.Location != w.sink.Location.Root():
		return nil, w.fail(fmt.Errorf("the checkpoint's manifest is for %s but the sink now writes to %s; set path back to commit it, or start without the checkpoint", m.Location, w.sink.Location.Root()))
	case m.Pipeline != w.pipeline || m.Sink != w.sink.Name:
		return nil, w.fail(fmt.Errorf("the manifest is for pipeline %q sink %q, not pipeline %q sink %q", m.Pipeline, m.Sink, w.pipeline, w.sink.Name))
	case m.Task != w.task:
		return nil, w.fail(fmt.Errorf("the manifest is for task %q, not task %q", m.Task, w.task))
	}
	for _, f := range m.Files {
		if !w.ownsTemp(f.Temp) || !validKey(f.Temp) || !validKey(f.Final) ||
			strings.HasPrefix(f.Final, tempRoot+"/") || !strings.HasSuffix(f.Final, ".parquet") {
			return nil, w.fail(fmt.Errorf("manifest names files this sink does not write: %q → %q", f.Temp, f.Final))
		}
	}
	return &m, nil
}

// validKey reports whether key is a relative key without empty, "." or
// ".." segments.
func validKey(key string) bool {
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
