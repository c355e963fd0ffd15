package parquet

import (
	"context"
	"log/slog"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// openTask opens s as the writer of task (plugins.Runtime.Task) of
// pipeline "test", closing it at the end of the test.
func openTask(t *testing.T, s *Sink, task string) *Writer {
	t.Helper()
	rt := &plugins.Runtime{Pipeline: "test", Logger: slog.New(slog.DiscardHandler), Now: (&clock{}).now, Task: task}
	pw, err := s.Open(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	w := pw.(*Writer)
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// rowsB25 are rowsB and a row in the folder of rowsA; rowsC and rowsD are
// later windows.
var (
	rowsB25 = append([][]any{windowRow(t0.Add(time.Minute), "click", 2, 1)}, rowsB...)
	rowsC   = [][]any{windowRow(t0.Add(10*time.Minute), "login", 4, 4), windowRow(t0.Add(10*time.Minute), "click", 8, 2)}
	rowsD   = [][]any{windowRow(t0.Add(11*time.Minute), "login", 6, 1), windowRow(t0.Add(12*time.Minute), "click", 9, 9)}
)

// TestTasksShareADestination runs two tasks of one pipeline's sink on one
// path, numbering the same epochs, as tasks run by one or two processes
// do: neither touches the other's temporaries or committed files.
func TestTasksShareADestination(t *testing.T) {
	for _, st := range protocolStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			p := st.path(t)
			w0, w1 := openTask(t, protocolSink(t, p), "0"), openTask(t, protocolSink(t, p), "1")
			write(t, w0, rowsA)
			write(t, w1, rowsB25) // the same folders, the same epoch
			m0 := prepare(t, w0, 1)
			m1 := prepare(t, w1, 1)
			commit(t, w1, m1)
			commit(t, w0, m0)
			commit(t, w0, m0) // twice: the same names, nothing more
			write(t, w0, rowsC)
			write(t, w1, rowsD)
			m0 = prepare(t, w0, 2) // staged by task 0, committed after task 1 recovers
			_ = prepare(t, w1, 2)  // staged by task 1, never checkpointed

			// Task 1 restarts afresh, and a writer without a task starts
			// afresh too: each deletes its own temporaries only.
			recoverWith(t, openTask(t, protocolSink(t, p), "1"), nil)
			recoverWith(t, openTask(t, protocolSink(t, p), ""), nil)
			if ks := keysUnder(t, w1.store, "_sluice_tmp/test/lake/t1/"); len(ks) != 0 {
				t.Errorf("task 1's temporaries left: %q", ks)
			}
			if ks := keysUnder(t, w0.store, "_sluice_tmp/test/lake/t0/"); len(ks) == 0 {
				t.Fatal("task 0's prepared temporaries were deleted")
			}
			commit(t, w0, m0)
			checkRows(t, w0, want(rowsA, rowsB25, rowsC), 6)
			for _, k := range parquetKeys(t, w0.store) {
				base := path.Base(k)
				if !strings.HasPrefix(base, "part-test-lake-t0-") && !strings.HasPrefix(base, "part-test-lake-t1-") {
					t.Errorf("committed %s: want part-test-lake-tTASK-…", k)
				}
			}
			if ks := keysUnder(t, w0.store, "_sluice_tmp/"); len(ks) != 0 {
				t.Errorf("temporaries left: %q", ks)
			}
		})
	}
}

// TestManifestOfAnotherTask checks that a task refuses a manifest another
// task (or a writer without a task) prepared, and the other way round.
func TestManifestOfAnotherTask(t *testing.T) {
	p := "file://" + t.TempDir()
	w0, w1, single := openTask(t, protocolSink(t, p), "0"), openTask(t, protocolSink(t, p), "1"), openTask(t, protocolSink(t, p), "")
	write(t, w0, rowsA)
	write(t, single, rowsB)
	m0, mSingle := prepare(t, w0, 1), prepare(t, single, 1)
	if man := decodeManifest(t, m0); man.Task != "0" {
		t.Errorf("task 0's manifest records task %q", man.Task)
	}
	if strings.Contains(string(mSingle), `"task"`) {
		t.Errorf("a manifest without a task names one: %s", mSingle)
	}
	ctx := context.Background()
	plugintest.ExpectRefused(ctx, t, plugintest.TaskRefusals(w1, single, m0, mSingle)...)
	if ks := parquetKeys(t, w0.store); len(ks) != 0 {
		t.Errorf("a refused manifest committed %q", ks)
	}
	commit(t, w0, m0)
	commit(t, single, mSingle)
	checkRows(t, w0, want(rowsA, rowsB), 4)
}
