package delta

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/deltalog"
)

// TestCommitsAndCheckpoints commits 25 epochs (each twice: the second is
// a no-op), then checks: one version per epoch with its txn, a checkpoint
// at versions 10 and 20 with _last_checkpoint naming 20, and the state
// replayed from the checkpoint equal to the state replayed from every
// JSON commit.
func TestCommitsAndCheckpoints(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			loc := st.loc(t)
			clk := newClock()
			w := open(t, buildSink(t, loc, `partition_by = ["window_start:date", "action"]`, windowRows), clk, true)
			for e := int64(1); e <= 25; e++ {
				m := commitEpoch(t, w, windowBatch(int(e)*4, 4), 1000+e)
				must(t, w.Commit(ctx, m)) // again: a no-op
				clk.advance(time.Second)
			}
			log := openLog(t, loc)
			versions, err := log.Versions(ctx)
			must(t, err)
			if len(versions) != 25 || versions[24] != 24 {
				t.Fatalf("versions %v, want 0…24", versions)
			}
			for v := int64(0); v < 25; v++ {
				actions, err := log.ReadCommit(ctx, v)
				must(t, err)
				var txns []int64
				for _, a := range actions {
					if a.Txn != nil {
						txns = append(txns, a.Txn.Version)
					}
				}
				if !reflect.DeepEqual(txns, []int64{1001 + v}) {
					t.Errorf("version %d: txn versions %v, want [%d]", v, txns, 1001+v)
				}
			}
			for _, v := range []int64{10, 20} {
				if _, ok, err := log.Store().Size(ctx, deltalog.CheckpointKey(v)); err != nil || !ok {
					t.Errorf("no checkpoint of version %d (%v)", v, err)
				}
			}
			last, err := log.Store().Get(ctx, deltalog.LastCheckpointKey)
			must(t, err)
			if !strings.HasPrefix(string(last), `{"version":20,`) {
				t.Errorf("_last_checkpoint = %s, want version 20", last)
			}
			fromCheckpoint, err := log.Snapshot(ctx)
			must(t, err)
			replayed, err := log.ReplayAll(ctx)
			must(t, err)
			if !reflect.DeepEqual(fromCheckpoint, replayed) {
				t.Errorf("the state from the checkpoint differs from replaying every commit:\n%+v\n%+v", fromCheckpoint, replayed)
			}
			if rows, paths := liveRows(t, replayed); rows != 100 || len(paths) != 50 {
				t.Errorf("%d rows in %d files, want 100 in 50", rows, len(paths))
			}
			if replayed.Txns["test/lake"] != 1025 {
				t.Errorf("txn of test/lake = %d, want 1025", replayed.Txns["test/lake"])
			}
		})
	}
}

// TestRecover: a manifest prepared but not committed is committed by
// Recover, once; files written after it are deleted; another sink's
// uncommitted files stay.
func TestRecover(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			loc := st.loc(t)
			clk := newClock()
			w := open(t, buildSink(t, loc, ``, windowRows), clk, true)
			commitEpoch(t, w, windowBatch(0, 10), 1)
			must(t, w.Write(ctx, windowBatch(10, 10)))
			m, err := w.Prepare(ctx, 2)
			must(t, err)
			must(t, w.Write(ctx, windowBatch(20, 10)))
			_, err = w.Prepare(ctx, 3) // staged, in no checkpoint
			must(t, err)
			must(t, w.Close())

			other := buildSink(t, loc, ``, windowRows)
			other.Name = "lake-x" // its names start like "lake"'s
			ow := open(t, other, clk, true)
			must(t, ow.Write(ctx, windowBatch(40, 3)))
			om, err := ow.Prepare(ctx, 7)
			must(t, err)

			for range 2 { // recovering twice changes nothing more
				w2 := open(t, buildSink(t, loc, ``, windowRows), clk, true)
				must(t, w2.Recover(ctx, m))
				must(t, w2.Close())
			}
			must(t, ow.Commit(ctx, om))
			snap, err := openLog(t, loc).Snapshot(ctx)
			must(t, err)
			if rows, paths := liveRows(t, snap); rows != 23 || len(paths) != 3 {
				t.Errorf("%d rows in %d files, want 23 in 3", rows, len(paths))
			}
			if snap.Version != 2 {
				t.Errorf("version %d, want 2", snap.Version)
			}
			keys, err := openLog(t, loc).Store().List(ctx, "")
			must(t, err)
			data := 0
			for _, k := range keys {
				if !strings.HasPrefix(k, "_delta_log/") {
					data++
				}
			}
			if data != 3 {
				t.Errorf("%d data files, want the 3 committed: %v", data, keys)
			}
		})
	}
}

// TestConflicts: another writer's commit taking the next version makes
// the sink retry at the one after; a commit changing a column's type
// makes it stop with an error naming the sink's position.
func TestConflicts(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			loc := st.loc(t)
			clk := newClock()
			w := open(t, buildSink(t, loc, ``, windowRows), clk, true)
			commitEpoch(t, w, windowBatch(0, 2), 1)
			foreign := openLog(t, loc)
			info := deltalog.Action{CommitInfo: &deltalog.CommitInfo{Timestamp: 1, Operation: "WRITE"}}
			must(t, foreign.Commit(ctx, 1, []deltalog.Action{info, {Txn: &deltalog.Txn{AppID: "other", Version: 1}}}))
			must(t, foreign.Commit(ctx, 2, []deltalog.Action{info}))
			commitEpoch(t, w, windowBatch(2, 2), 2)
			if w.Retries() != 1 {
				t.Errorf("Retries() = %d, want 1", w.Retries())
			}
			snap, err := foreign.Snapshot(ctx)
			must(t, err)
			if snap.Version != 3 || snap.Txns["test/lake"] != 2 || snap.Txns["other"] != 1 {
				t.Errorf("version %d, txns %v; want version 3 with both txns", snap.Version, snap.Txns)
			}
			if err := foreign.Commit(ctx, 1, []deltalog.Action{info}); !errors.Is(err, deltalog.ErrConflict) {
				t.Errorf("committing an existing version: %v, want ErrConflict", err)
			}

			meta := *snap.Metadata
			fields, err := deltalog.ParseSchema(meta.SchemaString)
			must(t, err)
			fields[3] = deltalog.Field{Name: "events", Type: "string", Nullable: true}
			meta.SchemaString = deltalog.SchemaString(fields)
			must(t, foreign.Commit(ctx, 4, []deltalog.Action{info, {MetaData: &meta}}))
			must(t, w.Write(ctx, windowBatch(4, 2)))
			m, err := w.Prepare(ctx, 3)
			must(t, err)
			err = w.Commit(ctx, m)
			if err == nil || !strings.Contains(err.Error(), `another writer changed the table`) || !strings.Contains(err.Error(), "test.hcl:1,1") ||
				!strings.Contains(err.Error(), `column "events" is string and the records' is long`) {
				t.Errorf("commit after an incompatible schema change: %v", err)
			}
			// A new writer is refused at Open, with the position.
			_, err = buildSink(t, loc, ``, windowRows).Open(ctx, nil)
			if err == nil || !strings.Contains(err.Error(), "does not fit the records of the sink at test.hcl:1,1") {
				t.Errorf("Open on an incompatible table: %v", err)
			}
		})
	}
}

// TestSchemaEvolution: records with one more column add it to the table
// as a nullable column with the next commit; a table partitioned
// otherwise is refused.
func TestSchemaEvolution(t *testing.T) {
	ctx := context.Background()
	loc := testStores[0].loc(t)
	clk := newClock()
	w := open(t, buildSink(t, loc, ``, windowRows), clk, true)
	commitEpoch(t, w, windowBatch(0, 2), 1)
	must(t, w.Close())
	wider := windowRows
	wider.Columns = append(append(wider.Columns[:0:0], windowRows.Columns...), windowRows.Columns[3])
	wider.Columns[5].Name = "sessions"
	w2 := open(t, buildSink(t, loc, ``, wider), clk, true)
	b := windowBatch(2, 1)
	b.Schema = wider
	b.Columns = append(b.Columns, b.Columns[3])
	commitEpoch(t, w2, b, 2)
	snap, err := openLog(t, loc).Snapshot(ctx)
	must(t, err)
	fields, err := deltalog.ParseSchema(snap.Metadata.SchemaString)
	must(t, err)
	if len(fields) != 6 || fields[5].Name != "sessions" || fields[5].Type != "long" || !fields[5].Nullable {
		t.Errorf("fields after the wider records: %+v", fields)
	}
	_, err = buildSink(t, loc, `partition_by = ["action"]`, windowRows).Open(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "it is partitioned by [] and partition_by makes [action]") {
		t.Errorf("Open with other partitions: %v", err)
	}
}
