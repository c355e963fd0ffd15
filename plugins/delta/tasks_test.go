package delta

import (
	"context"
	"log/slog"
	"path"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// openTask opens s as the writer of task of pipeline "test" in a run with
// checkpoints, closing it at the end of the test.
func openTask(t *testing.T, s *Sink, clk *clock, task string) *Writer {
	t.Helper()
	rt := &plugins.Runtime{Pipeline: "test", Logger: slog.New(slog.DiscardHandler), Now: clk.now, Checkpoints: true, Task: task}
	pw, err := s.Open(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	w := pw.(*Writer)
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// prepareEpoch writes b and prepares epoch, returning the manifest.
func prepareEpoch(t *testing.T, w *Writer, first, n int, epoch int64) []byte {
	t.Helper()
	ctx := context.Background()
	must(t, w.Write(ctx, windowBatch(first, n)))
	m, err := w.Prepare(ctx, epoch)
	must(t, err)
	return m
}

// TestTasksShareATable runs two tasks of one sink on one table, numbering
// the same epochs: each task has its own txn application id, so that its
// epoch 1 is not taken for the other's, and a task starting afresh
// deletes its own uncommitted files only.
func TestTasksShareATable(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			loc, clk := st.loc(t), newClock()
			sink := func() *Sink { return buildSink(t, loc, `partition_by = ["action"]`, windowRows) }
			w0, w1 := openTask(t, sink(), clk, "0"), openTask(t, sink(), clk, "1")
			m0 := prepareEpoch(t, w0, 0, 10, 1)
			m1 := prepareEpoch(t, w1, 100, 6, 1)
			must(t, w0.Commit(ctx, m0))
			must(t, w1.Commit(ctx, m1))
			must(t, w0.Commit(ctx, m0))        // again: a no-op
			m0 = prepareEpoch(t, w0, 10, 4, 2) // committed after task 1 restarts
			_ = prepareEpoch(t, w1, 106, 5, 2) // in no checkpoint

			// Task 1 restarts afresh; so does a writer without a task.
			must(t, openTask(t, sink(), clk, "1").Recover(ctx, nil))
			must(t, openTask(t, sink(), clk, "").Recover(ctx, nil))
			must(t, w0.Commit(ctx, m0))

			snap, err := openLog(t, loc).Snapshot(ctx)
			must(t, err)
			if rows, _ := liveRows(t, snap); rows != 10+6+4 {
				t.Errorf("%d rows in the table, want 20", rows)
			}
			if snap.Txns["test/lake/t0"] != 2 || snap.Txns["test/lake/t1"] != 1 || len(snap.Txns) != 2 {
				t.Errorf("txns %v, want test/lake/t0: 2 and test/lake/t1: 1", snap.Txns)
			}
			keys, err := openLog(t, loc).Store().List(ctx, "")
			must(t, err)
			referenced := referencedKeys(snap)
			for _, k := range keys {
				if strings.HasPrefix(k, deltalog.LogDir+"/") {
					continue
				}
				if !referenced[k] {
					t.Errorf("unreferenced data file %s left", k)
				}
				if base := path.Base(k); !strings.HasPrefix(base, "part-test-lake-t0-") && !strings.HasPrefix(base, "part-test-lake-t1-") {
					t.Errorf("data file %s: want part-test-lake-tTASK-…", k)
				}
			}
		})
	}
}

// TestManifestOfAnotherTask: a task refuses the manifest another task, or
// a writer without a task, prepared.
func TestManifestOfAnotherTask(t *testing.T) {
	ctx := context.Background()
	loc, clk := "file://"+t.TempDir(), newClock()
	sink := func() *Sink { return buildSink(t, loc, ``, windowRows) }
	w0, w1, single := openTask(t, sink(), clk, "0"), openTask(t, sink(), clk, "1"), openTask(t, sink(), clk, "")
	m0 := prepareEpoch(t, w0, 0, 3, 1)
	mSingle := prepareEpoch(t, single, 10, 3, 1)
	plugintest.ExpectRefused(ctx, t, plugintest.TaskRefusals(w1, single, m0, mSingle)...)
	must(t, w0.Commit(ctx, m0))
	must(t, single.Commit(ctx, mSingle))
	snap, err := openLog(t, loc).Snapshot(ctx)
	must(t, err)
	if rows, _ := liveRows(t, snap); rows != 6 || snap.Txns["test/lake"] != 1 || snap.Txns["test/lake/t0"] != 1 {
		t.Errorf("%d rows, txns %v; want 6 rows, test/lake: 1, test/lake/t0: 1", rows, snap.Txns)
	}
}
