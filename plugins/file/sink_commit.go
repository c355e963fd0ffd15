package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
)

// This file is the file sink of a run that takes checkpoints: rows are
// appended to a pending file next to the output, which becomes the epoch's
// file at Prepare and is appended to the output at Commit. A manifest
// records the output's size before the append, so committing again after a
// crash truncates to it first and appends the same bytes: each row reaches
// the output exactly once.

// commitManifest is what Prepare returns: the epoch's rows are in Temp
// (Length bytes), to be appended to the output when it is Before bytes long.
// Task is the writer's task (plugins.Runtime.Task), absent without one.
type commitManifest struct {
	Task   string `json:"task,omitempty"`
	Epoch  int64  `json:"epoch"`
	Temp   string `json:"temp,omitempty"` // "" when the epoch wrote nothing
	Before int64  `json:"before"`
	Length int64  `json:"length"`
}

// commitWriter is the transactional writer of the file sink.
type commitWriter struct {
	path      string // the output: taskPath of the sink's path
	task      string
	enc       *ndjson.Encoder
	sink      *Sink
	view      record.Batch // the rows with their op column (changelog = true)
	line      []byte
	pending   bufferedFile
	written   int64 // bytes in the pending file
	committed int64 // the output's size after the last commit
}

var _ plugins.Committer = (*commitWriter)(nil)

// tempPrefix starts the names of the writer's files next to the output:
// hidden, and named after it.
func tempPrefix(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".sluice-")
}

// openCommitting opens the transactional writer of task's output path.
func (s *Sink) openCommitting(path, task string) (*commitWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sink \"file\": %w", err)
	}
	w := &commitWriter{path: path, task: task, enc: ndjson.NewEncoder(s.written()), line: make([]byte, 0, 1024), sink: s}
	if err := w.openPending(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *commitWriter) openPending() error {
	f, err := os.OpenFile(tempPrefix(w.path)+"pending", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("sink \"file\": %w", err)
	}
	w.pending, w.written = newBufferedFile(f.Name(), f), 0
	return nil
}

// Write appends every row of b to the pending file.
func (w *commitWriter) Write(ctx context.Context, b *record.Batch) error {
	b = w.sink.opRows(b, &w.view)
	for row := range b.Rows {
		w.line = w.enc.AppendRow(w.line[:0], b, row)
		w.line = append(w.line, '\n')
		if _, err := w.pending.w.Write(w.line); err != nil {
			return fmt.Errorf("sink \"file\": %w", w.pending.named(err))
		}
		w.written += int64(len(w.line))
	}
	return nil
}

// Prepare syncs the pending file and names it after the epoch.
func (w *commitWriter) Prepare(ctx context.Context, epoch int64) ([]byte, error) {
	m := commitManifest{Task: w.task, Epoch: epoch, Before: w.committed, Length: w.written}
	if w.written > 0 {
		if err := w.pending.close(); err != nil {
			return nil, fmt.Errorf("sink \"file\": %w", err)
		}
		m.Temp = tempPrefix(w.path) + strconv.FormatInt(epoch, 10)
		if err := os.Rename(w.pending.path, m.Temp); err != nil {
			return nil, fmt.Errorf("sink \"file\": %w", err)
		}
		if err := objstore.SyncDir(filepath.Dir(w.path)); err != nil {
			return nil, fmt.Errorf("sink \"file\": %w", err)
		}
		if err := w.openPending(); err != nil {
			return nil, err
		}
	}
	return json.Marshal(m)
}

// Commit appends the epoch's rows to the output, once.
func (w *commitWriter) Commit(ctx context.Context, manifest []byte) error {
	m, err := w.decode(manifest)
	if err != nil {
		return err
	}
	if err := commitTo(w.path, m); err != nil {
		return fmt.Errorf("sink \"file\": committing epoch %d: %w", m.Epoch, err)
	}
	w.committed = m.Before + m.Length
	return nil
}

// commitTo appends m's temporary file to path when it still exists (after
// truncating path to m.Before, in case a commit was cut short), syncs, and
// removes it. A missing temporary file was committed already.
func commitTo(path string, m commitManifest) error {
	if m.Temp == "" {
		return nil
	}
	src, err := os.Open(m.Temp)
	if errors.Is(err, fs.ErrNotExist) {
		if fi, err := os.Stat(path); err != nil || fi.Size() < m.Before+m.Length {
			return fmt.Errorf("%s is gone but %s does not hold its %d bytes: the output was changed by something else", m.Temp, path, m.Length)
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := dst.Truncate(m.Before); err != nil {
		dst.Close()
		return err
	}
	if _, err := dst.Seek(m.Before, io.SeekStart); err != nil {
		dst.Close()
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := os.Remove(m.Temp); err != nil {
		return err
	}
	return objstore.SyncDir(filepath.Dir(path))
}

// Recover commits the manifest of the checkpoint the run resumes from,
// cuts the output to what that checkpoint committed, and deletes every
// other file of earlier runs. Without a manifest the run starts afresh:
// the output is emptied.
func (w *commitWriter) Recover(ctx context.Context, manifest []byte) error {
	var m commitManifest
	if len(manifest) > 0 {
		var err error
		if m, err = w.decode(manifest); err != nil {
			return err
		}
		if err := commitTo(w.path, m); err != nil {
			return fmt.Errorf("sink \"file\": recovering epoch %d: %w", m.Epoch, err)
		}
	}
	w.committed = m.Before + m.Length
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("sink \"file\": %w", err)
	}
	err = f.Truncate(w.committed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sink \"file\": %w", err)
	}
	temps, err := filepath.Glob(tempPrefix(w.path) + "*")
	if err != nil {
		return err
	}
	for _, t := range temps {
		if t == w.pending.path || !strings.HasPrefix(t, tempPrefix(w.path)) {
			continue
		}
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sink \"file\": %w", err)
		}
	}
	return nil
}

// decode parses a manifest and checks it is this writer's: of its task,
// its temporary next to its output.
func (w *commitWriter) decode(manifest []byte) (commitManifest, error) {
	var m commitManifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return m, fmt.Errorf("sink \"file\": bad manifest: %w", err)
	}
	switch {
	case m.Task != w.task:
		return m, fmt.Errorf("sink \"file\": the manifest is for task %q, not task %q", m.Task, w.task)
	case m.Temp != "" && !strings.HasPrefix(m.Temp, tempPrefix(w.path)):
		return m, fmt.Errorf("sink \"file\": the manifest names %s, not a file of the output %s", m.Temp, w.path)
	}
	return m, nil
}

// Close closes the pending file; rows written since the last Prepare stay
// in it, to be deleted by the next run's Recover.
func (w *commitWriter) Close() error {
	if err := w.pending.close(); err != nil {
		return fmt.Errorf("sink \"file\": %w", err)
	}
	return nil
}
