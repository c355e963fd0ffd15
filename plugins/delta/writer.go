package delta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pq "github.com/parquet-go/parquet-go"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/parquet"
	"github.com/sluice-io/sluice/record"
)

// contentType is the media type of Parquet files.
const contentType = "application/vnd.apache.parquet"

var (
	_ plugins.SinkOpener   = (*Sink)(nil)
	_ plugins.Committer    = (*Writer)(nil)
	_ plugins.CommitPacer  = (*Writer)(nil)
	_ plugins.RetryCounter = (*Writer)(nil)
)

// Writer is a running Delta sink. It implements plugins.Writer,
// plugins.Committer and plugins.CommitPacer; its methods may be called
// from any goroutine, one at a time (Retries at any time).
type Writer struct {
	mu      sync.Mutex
	sink    *Sink
	store   *objstore.Store
	log     *deltalog.Log
	snap    *deltalog.Snapshot // the table as of the last commit seen
	logger  *slog.Logger
	now     func() time.Time
	options []pq.WriterOption
	task    string // plugins.Runtime.Task
	appID   string // the txn application id: sink.AppID(task)
	names   fileNames
	seq     int
	closed  bool
	commits int64 // commits made since Open, for optimize_every
	retries atomic.Int64

	folders map[string]*folder // the partitions written since the last Prepare
	touched []*folder          // the partitions of the batch being written
	done    []doneFile         // files completed since the last Prepare
	keyBuf  []byte
	values  []pq.Value
	view    record.Batch // the rows with their op column (changelog = true)
}

// folder is one partition's state.
type folder struct {
	path   string            // "k=v/k2=v2/", "" without partitions
	values map[string]string // the partition values
	file   *dataFile
	rows   []int32
}

// dataFile is a data file being written under its final name.
type dataFile struct {
	obj       *objstore.Object
	w         *pq.GenericWriter[any]
	rows      int64
	groupRows int64
	opened    time.Time
	stats     fileStats
}

// doneFile is a complete data file, durable, not yet in the log.
type doneFile struct {
	key     string
	values  map[string]string
	rows    int64
	bytes   int64
	created int64 // Unix ms
	stats   *deltalog.Stats
}

// Open opens the table's folder or bucket, reads its log and checks that
// the table, if it exists, fits the records.
func (s *Sink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	st, err := objstore.Open(ctx, s.Location)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.Location, err)
	}
	w := newWriter(s, st, rt)
	if err := w.load(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	w.logger.Info("writing a Delta table", "path", s.Location.String(), "version", w.snap.Version, "app_id", w.appID)
	if rt == nil || !rt.Checkpoints {
		w.logger.Info("delivery is at least once without a checkpoint block: a version is committed every roll_interval and when the input ends; after a crash the rows since the last commit are written again",
			"roll_interval", s.RollInterval.String())
	}
	return w, nil
}

// load reads the table's log and checks the table fits.
func (w *Writer) load(ctx context.Context) error {
	snap, err := w.log.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("read the log of %s: %w", w.sink.Location.Root(), err)
	}
	w.snap = snap
	if !snap.Exists() {
		return nil
	}
	if err := snap.Protocol.Check(); err != nil {
		return fmt.Errorf("table %s (sink at %s): %w", w.sink.Location.Root(), w.sink.At, err)
	}
	if _, err := w.sink.fit(snap.Metadata); err != nil {
		return fmt.Errorf("table %s does not fit the records of the sink at %s: %w", w.sink.Location.Root(), w.sink.At, err)
	}
	return nil
}

// newWriter returns a writer of s's table in st.
func newWriter(s *Sink, st *objstore.Store, rt *plugins.Runtime) *Writer {
	codec, suffix, _ := parquet.Codec(s.Compression)
	w := &Writer{
		sink:    s,
		store:   st,
		log:     deltalog.New(st),
		logger:  slog.New(slog.DiscardHandler),
		now:     time.Now,
		folders: map[string]*folder{},
	}
	if rt != nil && rt.Logger != nil {
		w.logger = rt.Logger
	}
	if rt != nil && rt.Now != nil {
		w.now = rt.Now
	}
	if rt != nil {
		w.task = rt.Task
	}
	w.appID = s.AppID(w.task)
	// A writer without a task does not own the files of the tasks: its
	// RUN, hex digits, follows the sink's name where theirs have "-t".
	w.names = newFileNames(parquet.FileOwner(s.Pipeline, s.Name, w.task), suffix, w.now())
	w.options = []pq.WriterOption{
		parquet.FileSchema(s.Columns, pq.Microsecond),
		pq.Compression(codec),
		pq.DataPageVersion(1),
		pq.DictionaryMaxBytes(1 << 20),
	}
	return w
}

// Retries returns how many times a commit found its version taken by
// another writer and tried the next one.
func (w *Writer) Retries() int64 { return w.retries.Load() }

// CommitEvery is the sink's roll_interval: without checkpoints the runner
// commits that often (and when the input ends).
func (w *Writer) CommitEvery() time.Duration { return w.sink.RollInterval }

// Write stages the rows of b in the data file of their partition. They
// are not in the table until a Prepare and Commit.
func (w *Writer) Write(ctx context.Context, b *record.Batch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("write after close")
	}
	if err := w.rollOld(); err != nil {
		return err
	}
	b = w.sink.opRows(b, &w.view)
	w.route(b)
	for _, f := range w.touched {
		if err := w.writeRows(f, b); err != nil {
			return err
		}
		f.rows = f.rows[:0]
	}
	return nil
}

// route lists the rows of b in the folder each goes to, and the folders in
// w.touched, in the order their first row comes.
func (w *Writer) route(b *record.Batch) {
	for _, f := range w.touched { // rows left over by a failed Write
		f.rows = f.rows[:0]
	}
	w.touched = w.touched[:0]
	var cur *folder
	for r := range b.Rows {
		key := w.keyBuf[:0]
		for i := range w.sink.Partitions {
			k := &w.sink.Partitions[i]
			key = k.AppendFolder(key, &b.Columns[k.Index], r)
		}
		w.keyBuf = key
		if cur == nil || cur.path != string(key) {
			cur = w.folder(key, b, r)
		}
		if len(cur.rows) == 0 {
			w.touched = append(w.touched, cur)
		}
		cur.rows = append(cur.rows, int32(r))
	}
}

// folder returns the state of the partition folder path, creating it
// with the partition values of row of b.
func (w *Writer) folder(path []byte, b *record.Batch, row int) *folder {
	if f, ok := w.folders[string(path)]; ok {
		return f
	}
	f := &folder{path: string(path), values: map[string]string{}}
	for i := range w.sink.Partitions {
		k := &w.sink.Partitions[i]
		f.values[k.Key] = partitionValue(k, &b.Columns[k.Index], row)
	}
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
			df, err := w.create(f.path)
			if err != nil {
				return err
			}
			f.file = df
		}
		df := f.file
		n := min(int64(len(rows)), s.RowGroupSize-df.groupRows, s.RollRows-df.rows)
		if err := w.writeChunk(df, b, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
		if df.groupRows >= s.RowGroupSize {
			if err := df.w.Flush(); err != nil {
				return err
			}
			df.groupRows = 0
		}
		if df.rows >= s.RollRows || df.w.Size() >= s.RollBytes {
			f.file = nil
			if err := w.finish(f, df); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeChunk writes the rows of b listed in rows to df, column by column.
func (w *Writer) writeChunk(df *dataFile, b *record.Batch, rows []int32) error {
	cols := df.w.ColumnWriters()
	for i, c := range w.sink.Columns {
		w.values = parquet.AppendValues(w.values[:0], b, c, i, rows, 1000)
		n, err := cols[i].WriteRowValues(w.values)
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
		if n != len(rows) {
			return fmt.Errorf("column %q: wrote %d of %d rows", c.Name, n, len(rows))
		}
	}
	clear(w.values) // keep no reference to b's strings
	df.stats.add(b, w.sink.Columns, rows)
	df.rows += int64(len(rows))
	df.groupRows += int64(len(rows))
	return nil
}

// create starts a new data file in folder.
func (w *Writer) create(folder string) (*dataFile, error) {
	w.seq++
	key := folder + w.names.name(w.seq)
	// The file outlives the Write that creates it: its context is its own.
	obj, err := w.store.Create(context.Background(), key, contentType)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return &dataFile{obj: obj, w: pq.NewGenericWriter[any](obj, w.options...), opened: w.now()}, nil
}

// finish completes df (footer, sync, close) and records it as done.
func (w *Writer) finish(f *folder, df *dataFile) error {
	if err := df.w.Close(); err != nil {
		df.obj.Abort()
		return fmt.Errorf("finish %s: %w", df.obj.Key(), err)
	}
	if err := df.obj.Finish(); err != nil {
		return fmt.Errorf("finish %s: %w", df.obj.Key(), err)
	}
	w.done = append(w.done, doneFile{
		key: df.obj.Key(), values: f.values, rows: df.rows, bytes: df.obj.Written(),
		created: w.now().UnixMilli(), stats: df.stats.stats(w.sink.Columns),
	})
	return nil
}

// rollOld finishes the files open for roll_interval or longer.
func (w *Writer) rollOld() error {
	now := w.now()
	for _, f := range w.folders {
		if f.file != nil && now.Sub(f.file.opened) >= w.sink.RollInterval {
			df := f.file
			f.file = nil
			if err := w.finish(f, df); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishAll finishes every open file and forgets the partitions.
func (w *Writer) finishAll() error {
	for _, f := range w.folders {
		if df := f.file; df != nil {
			f.file = nil
			if err := w.finish(f, df); err != nil {
				return err
			}
		}
	}
	clear(w.folders)
	return nil
}

// Close discards the files still open: rows written since the last Prepare
// are not committed. Files completed since then stay unreferenced until
// a Recover or vacuum deletes them. Calling Close again does nothing.
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
		w.logger.Warn("uncommitted Delta data files left unreferenced", "files", len(w.done))
	}
	return w.store.Close()
}
