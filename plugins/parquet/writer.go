package parquet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sluice-io/sluice/record"

	pq "github.com/parquet-go/parquet-go"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
)

// contentType is the media type of Parquet files.
const contentType = "application/vnd.apache.parquet"

var (
	_ plugins.SinkOpener = (*Sink)(nil)
	_ plugins.Committer  = (*Writer)(nil)
)

// Open opens the sink's folder or bucket (creating a missing local folder)
// and returns a *Writer.
func (s *Sink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	st, err := objstore.Open(ctx, s.Location)
	if err != nil {
		return nil, fmt.Errorf("sink \"parquet\" %q: open %s: %w", s.Name, s.Location, err)
	}
	w := newWriter(s, st, rt)
	w.log.Info("writing Parquet files", "path", s.Location.String(), "temporaries", w.tmpPrefix)
	return w, nil
}

// Writer is a running Parquet sink. It implements plugins.Writer and
// plugins.Committer; its methods may be called from any goroutine, one at
// a time.
type Writer struct {
	mu        sync.Mutex
	sink      *Sink
	store     *objstore.Store
	log       *slog.Logger
	now       func() time.Time
	pipeline  string
	task      string // plugins.Runtime.Task: "" when one process owns every partition
	options   []pq.WriterOption
	suffix    string // the final names' ending, e.g. ".zstd.parquet"
	tmpPrefix string // _sluice_tmp/PIPELINE/SINK/, or _sluice_tmp/PIPELINE/SINK/tTASK/ for a task
	run       string // tmpPrefix + this writer's random id + "-"
	seq       int    // temporaries created so far
	closed    bool

	folders map[string]*folder // the partitions written since the last Prepare
	touched []*folder          // the partitions of the batch being written
	done    []doneFile         // files completed since the last Prepare
	keyBuf  []byte
	values  []pq.Value
	view    record.Batch // the rows with their op column (changelog = true)
}

// folder is one partition's state: its open file and, during Write, the
// rows of the batch that go to it.
type folder struct {
	path string // "k=v/k2=v2/", "" without partitions
	file *partFile
	rows []int32
}

// partFile is a temporary Parquet file being written.
type partFile struct {
	obj       *objstore.Object
	w         *pq.GenericWriter[any]
	seq       int
	rows      int64 // rows in the file
	groupRows int64 // rows in the current row group
	opened    time.Time
}

// doneFile is a complete temporary file, durable under its key.
type doneFile struct {
	temp      string
	partition string
	seq       int
	rows      int64
	bytes     int64
}

// newWriter returns a writer of s's files to st.
func newWriter(s *Sink, st *objstore.Store, rt *plugins.Runtime) *Writer {
	pipeline := s.Pipeline
	if pipeline == "" && rt != nil {
		pipeline = rt.Pipeline
	}
	w := &Writer{
		sink:     s,
		store:    st,
		log:      slog.New(slog.DiscardHandler),
		now:      time.Now,
		pipeline: pipeline,
		suffix:   codecs[s.Compression].suffix,
		folders:  map[string]*folder{},
	}
	if rt != nil && rt.Logger != nil {
		w.log = rt.Logger
	}
	if rt != nil && rt.Now != nil {
		w.now = rt.Now
	}
	if rt != nil {
		w.task = rt.Task
	}
	w.options = []pq.WriterOption{
		fileSchema(s.Columns, pq.Millisecond),
		pq.Compression(codecs[s.Compression].codec),
		// Version 1 data pages are what Spark, Hive and older readers expect.
		pq.DataPageVersion(1),
		pq.DictionaryMaxBytes(1 << 20),
	}
	w.tmpPrefix = tempRoot + "/" + segment(pipeline) + "/" + segment(s.Name) + "/"
	if w.task != "" {
		w.tmpPrefix += "t" + segment(w.task) + "/"
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	w.run = w.tmpPrefix + hex.EncodeToString(id[:]) + "-"
	return w
}

// finalPrefix starts every committed file's name: part-PIPELINE-SINK-,
// or part-PIPELINE-SINK-tTASK- for a task, so that the tasks of one
// pipeline, each numbering its own epochs, never write the same name.
func (w *Writer) finalPrefix() string {
	return "part-" + FileOwner(w.pipeline, w.sink.Name, w.task) + "-"
}

// ownsTemp reports whether key is a temporary of this writer's pipeline,
// sink and task: directly under tmpPrefix. The temporaries of the tasks
// of a pipeline (in folders below the single-instance one) are not those
// of a writer without a task, nor of another task.
func (w *Writer) ownsTemp(key string) bool {
	rest, ok := strings.CutPrefix(key, w.tmpPrefix)
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// Write stages the rows of b in the temporary file of their partition,
// starting a new file when one reaches a roll limit. The rows are not
// visible to readers until a Prepare and Commit.
func (w *Writer) Write(ctx context.Context, b *record.Batch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("sink \"parquet\": write after close")
	}
	if err := w.rollOld(); err != nil {
		return w.fail(err)
	}
	b = w.sink.OpRows(b, &w.view)
	w.route(b)
	for _, f := range w.touched {
		if err := w.writeRows(f, b); err != nil {
			return w.fail(err)
		}
		f.rows = f.rows[:0]
	}
	return nil
}

// fail wraps an error of Write or Prepare.
func (w *Writer) fail(err error) error {
	return fmt.Errorf("sink \"parquet\" %q: %w", w.sink.Name, err)
}

// route lists the rows of b in the folder each goes to, and the folders in
// w.touched, in the order their first row comes.
func (w *Writer) route(b *record.Batch) {
	for _, f := range w.touched { // rows left over by a failed Write
		f.rows = f.rows[:0]
	}
	w.touched = w.touched[:0]
	if len(w.sink.Partitions) == 0 {
		f := w.folder(nil)
		for r := range b.Rows {
			f.rows = append(f.rows, int32(r))
		}
		if b.Rows > 0 {
			w.touched = append(w.touched, f)
		}
		return
	}
	var cur *folder
	for r := range b.Rows {
		key := w.keyBuf[:0]
		for i := range w.sink.Partitions {
			k := &w.sink.Partitions[i]
			key = k.appendFolder(key, &b.Columns[k.Index], r)
		}
		w.keyBuf = key
		if cur == nil || cur.path != string(key) {
			cur = w.folder(key)
		}
		if len(cur.rows) == 0 {
			w.touched = append(w.touched, cur)
		}
		cur.rows = append(cur.rows, int32(r))
	}
}

// folder returns the state of the partition folder path, creating it.
func (w *Writer) folder(path []byte) *folder {
	if f, ok := w.folders[string(path)]; ok {
		return f
	}
	f := &folder{path: string(path)}
	w.folders[f.path] = f
	return f
}

// writeRows writes f.rows of b to f's files, in chunks that end at row
// group and roll limits.
func (w *Writer) writeRows(f *folder, b *record.Batch) error {
	s := w.sink
	rows := f.rows
	for len(rows) > 0 {
		if f.file == nil {
			pf, err := w.create()
			if err != nil {
				return err
			}
			f.file = pf
		}
		pf := f.file
		n := int64(len(rows))
		n = min(n, s.RowGroupSize-pf.groupRows, s.RollRows-pf.rows)
		if err := w.writeChunk(pf, b, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
		if pf.groupRows >= s.RowGroupSize {
			if err := pf.w.Flush(); err != nil {
				return err
			}
			pf.groupRows = 0
		}
		if pf.rows >= s.RollRows || pf.w.Size() >= s.RollBytes {
			f.file = nil
			if err := w.finish(f.path, pf); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeChunk writes the rows of b listed in rows to pf, column by column.
func (w *Writer) writeChunk(pf *partFile, b *record.Batch, rows []int32) error {
	cols := pf.w.ColumnWriters()
	for i, c := range w.sink.Columns {
		w.values = appendValues(w.values[:0], b, c, i, rows, 1)
		n, err := cols[i].WriteRowValues(w.values)
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
		if n != len(rows) {
			return fmt.Errorf("column %q: wrote %d of %d rows", c.Name, n, len(rows))
		}
	}
	clear(w.values) // keep no reference to b's strings
	pf.rows += int64(len(rows))
	pf.groupRows += int64(len(rows))
	return nil
}

// create starts a new temporary file.
func (w *Writer) create() (*partFile, error) {
	w.seq++
	key := fmt.Sprintf("%s%06d.parquet.tmp", w.run, w.seq)
	// The file outlives the Write that creates it: its context is its own.
	obj, err := w.store.Create(context.Background(), key, contentType)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return &partFile{
		obj:    obj,
		w:      pq.NewGenericWriter[any](obj, w.options...),
		seq:    w.seq,
		opened: w.now(),
	}, nil
}

// finish completes pf (footer, sync, close) and records it as done.
func (w *Writer) finish(partition string, pf *partFile) error {
	if err := pf.w.Close(); err != nil {
		pf.obj.Abort()
		return fmt.Errorf("finish %s: %w", pf.obj.Key(), err)
	}
	if err := pf.obj.Finish(); err != nil {
		return fmt.Errorf("finish %s: %w", pf.obj.Key(), err)
	}
	w.done = append(w.done, doneFile{temp: pf.obj.Key(), partition: partition, seq: pf.seq, rows: pf.rows, bytes: pf.obj.Written()})
	return nil
}

// CommitEvery is the sink's roll_interval: without checkpoints the runner
// commits the files that often (and when the input ends).
func (w *Writer) CommitEvery() time.Duration { return w.sink.RollInterval }

var _ plugins.CommitPacer = (*Writer)(nil)

// rollOld finishes the files open for roll_interval or longer.
func (w *Writer) rollOld() error {
	now := w.now()
	for _, f := range w.folders { // the order of w.done does not matter
		if f.file != nil && now.Sub(f.file.opened) >= w.sink.RollInterval {
			pf := f.file
			f.file = nil
			if err := w.finish(f.path, pf); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishAll finishes every open file and forgets the partitions.
func (w *Writer) finishAll() error {
	for _, f := range w.folders { // Prepare sorts w.done
		if pf := f.file; pf != nil {
			f.file = nil
			if err := w.finish(f.path, pf); err != nil {
				return err
			}
		}
	}
	clear(w.folders)
	return nil
}

// Close discards the files still open: rows written since the last Prepare
// are not committed (the runner calls Prepare and Commit before Close when
// the input ends). Files completed since then stay temporary until a
// Recover deletes them. Calling Close again does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	for _, f := range w.folders {
		if f.file != nil {
			f.file.obj.Abort()
			f.file = nil
		}
	}
	clear(w.folders)
	if len(w.done) > 0 {
		w.log.Warn("uncommitted Parquet files left as temporaries", "files", len(w.done), "under", w.tmpPrefix)
	}
	return w.store.Close()
}
