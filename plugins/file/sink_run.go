package file

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
)

var _ plugins.SinkOpener = (*Sink)(nil)

// writeBuffer is the size of the buffer of the file sink and dead letter.
const writeBuffer = 256 << 10

// Open creates the file, and its missing parent folders, or truncates it:
// the file holds the output of this run only. In a run that takes
// checkpoints, rows reach the file when a checkpoint commits them, exactly
// once across restarts (see sink_commit.go). A task of a pipeline run as
// tasks writes a file of its own (taskPath).
func (s *Sink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	path := s.Path
	if rt != nil {
		path = taskPath(s.Path, rt.Task)
	}
	if rt != nil && rt.Checkpoints {
		return s.openCommitting(path, rt.Task)
	}
	f, err := createFile(path, os.O_TRUNC)
	if err != nil {
		return nil, fmt.Errorf("sink \"file\": %w", err)
	}
	return &sinkWriter{
		file: newBufferedFile(path, f),
		enc:  ndjson.NewEncoder(s.written()),
		line: make([]byte, 0, 1024),
		sink: s,
	}, nil
}

// taskPath is the file the sink writes at path for task
// (plugins.Runtime.Task): path itself without a task, else path with
// "-tTASK" before its extension, "out/counts-t3.ndjson" for
// "out/counts.ndjson". The tasks of a pipeline, each committing its own
// epochs, never write to one file.
func taskPath(path, task string) string {
	if task == "" {
		return path
	}
	ext := filepath.Ext(path)
	if ext == filepath.Base(path) { // ".ndjson": a hidden file without extension
		ext = ""
	}
	return strings.TrimSuffix(path, ext) + "-t" + task + ext
}

// createFile opens path for writing with the extra flag (O_TRUNC or
// O_APPEND), creating it and its parent folders when missing.
func createFile(path string, flag int) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, 0o644)
}

// sinkWriter writes each row as one NDJSON line.
type sinkWriter struct {
	file bufferedFile
	enc  *ndjson.Encoder
	line []byte // reused for every row
	sink *Sink
	view record.Batch // the rows with their op column (changelog = true)
}

// Write appends every row of b to the file as one JSON object per line. The
// rows reach the file (not yet the disk) before Write returns, so a reader
// following the file sees each window as soon as it is emitted.
func (w *sinkWriter) Write(ctx context.Context, b *record.Batch) error {
	b = w.sink.opRows(b, &w.view)
	for row := range b.Rows {
		w.line = w.enc.AppendRow(w.line[:0], b, row)
		w.line = append(w.line, '\n')
		if _, err := w.file.w.Write(w.line); err != nil {
			return fmt.Errorf("sink \"file\": %w", w.file.named(err))
		}
	}
	if err := w.file.w.Flush(); err != nil {
		return fmt.Errorf("sink \"file\": %w", w.file.named(err))
	}
	return nil
}

// Close flushes the buffer, syncs the file to disk and closes it.
func (w *sinkWriter) Close() error {
	if err := w.file.close(); err != nil {
		return fmt.Errorf("sink \"file\": %w", err)
	}
	return nil
}

// bufferedFile is a file written through a buffer.
type bufferedFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
}

func newBufferedFile(path string, f *os.File) bufferedFile {
	return bufferedFile{path: path, f: f, w: bufio.NewWriterSize(f, writeBuffer)}
}

// named makes sure err names the file: the errors of the os package do.
func (b *bufferedFile) named(err error) error {
	if err == nil || errors.As(err, new(*os.PathError)) {
		return err
	}
	return fmt.Errorf("%s: %w", b.path, err)
}

// close flushes, syncs and closes the file, returning the first error. Later
// calls do nothing.
func (b *bufferedFile) close() error {
	if b.f == nil {
		return nil
	}
	err := b.w.Flush()
	if serr := b.f.Sync(); err == nil {
		err = serr
	}
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	b.f = nil
	return b.named(err)
}
