package postgres

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// openTaskWriter opens s with checkpoints as the writer of task; it is
// closed when the test ends.
func openTaskWriter(t testing.TB, s *Sink, task string) *Writer {
	t.Helper()
	w, err := s.Open(testCtx(t), &plugins.Runtime{Pipeline: "test", Logger: slog.New(slog.DiscardHandler), Checkpoints: true, Task: task})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w.(*Writer)
}

// prepareRows writes rows and prepares epoch, returning the manifest.
func prepareRows(t testing.TB, w *Writer, rows [][]any, epoch int64) []byte {
	t.Helper()
	write(t, w, batchOf(windowRows, rows...))
	m, err := w.Prepare(testCtx(t), epoch)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// progressRows returns sluice_progress as "pipeline/sink/task=epoch",
// sorted.
func progressRows(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(testCtx(t), "SELECT pipeline || '/' || sink || '/' || task || '=' || epoch FROM sluice_progress")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out) // in byte order, whatever the database's collation
	return out
}

// TestTasksShareATable runs two tasks of one sink on one table (append
// only: a row committed twice would show), numbering the same epochs and
// ordinals: each commits its own staged rows and records its own epoch,
// and a task starting afresh discards only its own staged rows.
func TestTasksShareATable(t *testing.T) {
	dsn, conn := newDatabase(t)
	// batch_size 2: writes reach the staging table before Prepare.
	s := buildSink(t, sinkBlock(dsn, `table = "log"`, `mode = "insert"`, `key = []`, `create_table = true`, `batch_size = 2`), windowRows)
	w0, w1 := openTaskWriter(t, s, "0"), openTaskWriter(t, s, "1")
	for _, w := range []*Writer{w0, w1} {
		if err := w.Recover(testCtx(t), nil); err != nil {
			t.Fatal(err)
		}
	}
	m0 := prepareRows(t, w0, eventRows(0, 3), 1)
	m1 := prepareRows(t, w1, eventRows(100, 5), 1)
	for _, m := range [][]byte{m0, m1, m0} { // task 0's twice: a no-op
		w := w0
		if strings.Contains(string(m), `"task":"1"`) {
			w = w1
		}
		if err := w.Commit(testCtx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	m0 = prepareRows(t, w0, eventRows(3, 4), 2)  // committed after task 1 restarts
	_ = prepareRows(t, w1, eventRows(105, 3), 2) // in no checkpoint
	w1.Close()
	// Task 1 restarts afresh; so does a writer without a task.
	for _, task := range []string{"1", ""} {
		if err := openTaskWriter(t, s, task).Recover(testCtx(t), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w0.Commit(testCtx(t), m0); err != nil {
		t.Fatal(err)
	}
	want := append(seq(0, 7), seq(100, 105)...)
	if got := minutes(t, conn); !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	if got := stagedRows(t, conn); got != 0 {
		t.Errorf("%d rows left staged", got)
	}
	if got := progressRows(t, conn); !slices.Equal(got, []string{"test/out/0=2", "test/out/1=1"}) {
		t.Errorf("sluice_progress %v", got)
	}
}

// TestManifestOfAnotherTask: a task refuses the manifest of another task,
// or of a writer without a task.
func TestManifestOfAnotherTask(t *testing.T) {
	dsn, conn := newDatabase(t)
	s := buildSink(t, sinkBlock(dsn, `table = "log"`, `mode = "insert"`, `key = []`, `create_table = true`), windowRows)
	w0, w1, single := openTaskWriter(t, s, "0"), openTaskWriter(t, s, "1"), openTaskWriter(t, s, "")
	m0 := prepareRows(t, w0, eventRows(0, 2), 1)
	mSingle := prepareRows(t, single, eventRows(10, 2), 1)
	if strings.Contains(string(mSingle), `"task"`) {
		t.Errorf("a manifest without a task names one: %s", mSingle)
	}
	plugintest.ExpectRefused(testCtx(t), t, plugintest.TaskRefusals(w1, single, m0, mSingle)...)
	if got := minutes(t, conn); len(got) > 0 {
		t.Errorf("refused manifests committed %v", got)
	}
	for _, c := range []struct {
		w *Writer
		m []byte
	}{{w0, m0}, {single, mSingle}} {
		if err := c.w.Commit(testCtx(t), c.m); err != nil {
			t.Fatal(err)
		}
	}
	if got := minutes(t, conn); !slices.Equal(got, []int{0, 1, 10, 11}) {
		t.Errorf("rows %v", got)
	}
}

// TestTablesOfAnEarlierVersion: the staging and progress tables an
// earlier version made (without the task column, progress keyed by
// pipeline and sink) get the column; the rows they hold, staged and
// recorded by a run without tasks, are committed and kept.
func TestTablesOfAnEarlierVersion(t *testing.T) {
	dsn, conn := newDatabase(t)
	execSQL(t, conn,
		`CREATE TABLE log (window_start timestamptz, action text, events bigint, rate double precision, mobile boolean)`,
		`CREATE TABLE log__sluice_stage (sluice_pipeline text NOT NULL, sluice_sink text NOT NULL, sluice_ordinal bigint NOT NULL,
			window_start timestamptz, action text, events bigint, rate double precision, mobile boolean)`,
		`CREATE TABLE sluice_progress (pipeline text NOT NULL, sink text NOT NULL, epoch bigint NOT NULL,
			table_name text NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, sink))`,
		`INSERT INTO sluice_progress (pipeline, sink, epoch, table_name) VALUES ('test', 'out', 4, 'log'), ('other', 'out', 9, 'log')`,
		`INSERT INTO log__sluice_stage VALUES ('test', 'out', 0, now(), 'a', 0, 0.5, NULL), ('test', 'out', 1, now(), 'a', 1, 0.5, NULL),
			('test', 'out', 2, now(), 'a', 2, 0.5, NULL)`,
	)
	// The checkpoint of epoch 5 named the first two staged rows; the
	// third was written after it.
	manifest, _ := json.Marshal(Manifest{Version: ManifestVersion, Table: "log", Pipeline: "test", Sink: "out", Epoch: 5, First: 0, Last: 1, Rows: 2})
	s := buildSink(t, sinkBlock(dsn, `table = "log"`, `mode = "insert"`, `key = []`), windowRows)
	w := openTaskWriter(t, s, "")
	if err := w.Recover(testCtx(t), manifest); err != nil {
		t.Fatal(err)
	}
	if got := minutes(t, conn); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("rows %v, want the checkpoint's 0 and 1", got)
	}
	if got := stagedRows(t, conn); got != 0 {
		t.Errorf("%d rows left staged", got)
	}
	// A task of the same sink now records its epochs beside them.
	w1 := openTaskWriter(t, s, "1")
	if err := w1.Commit(testCtx(t), prepareRows(t, w1, eventRows(50, 1), 1)); err != nil {
		t.Fatal(err)
	}
	if got := progressRows(t, conn); !slices.Equal(got, []string{"other/out/=9", "test/out/1=1", "test/out/=5"}) {
		t.Errorf("sluice_progress %v", got)
	}
}
