package postgres

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// change is one row of a changelog: its kind, minute, action and events.
type change struct {
	kind   record.RowKind
	minute int
	action string
	events int64
}

// changeBatch returns a batch of window rows holding changes, with their
// kinds.
func changeBatch(changes ...change) *record.Batch {
	rows := make([][]any, len(changes))
	kinds := make([]record.RowKind, len(changes))
	for i, c := range changes {
		rows[i] = []any{minute(c.minute), c.action, c.events, 0.5, nil}
		kinds[i] = c.kind
	}
	b := batchOf(windowRows, rows...)
	b.Kinds = kinds
	return b
}

var (
	ins = func(m int, a string, n int64) change { return change{record.Insert, m, a, n} }
	upd = func(m int, a string, n int64) change { return change{record.Update, m, a, n} }
	del = func(m int, a string, n int64) change { return change{record.Delete, m, a, n} }
)

// TestChangelog applies changelogs in upsert mode: a delete removes its
// key in the order of the rows around it (an insert after a delete of
// its key wins, a delete after an insert removes it), in one batch, across
// batches of one epoch (batch_size 2 makes several COPYs) and across
// epochs, with and without checkpoints. Each epoch is a list of batches.
func TestChangelog(t *testing.T) {
	tests := []struct {
		name   string
		epochs [][][]change
		want   []string // action@minute=events
	}{
		{"delete after insert in one batch", [][][]change{{{ins(0, "a", 1), ins(0, "b", 2), del(0, "a", 1)}}},
			[]string{"b@0=2"}},
		{"insert after delete in one batch wins", [][][]change{{{ins(0, "a", 1), del(0, "a", 1), ins(0, "a", 3)}}},
			[]string{"a@0=3"}},
		{"update, delete, insert across batches of an epoch", [][][]change{{{ins(0, "a", 1), upd(0, "a", 2)}, {del(0, "a", 2)}, {ins(0, "a", 5), ins(1, "a", 6)}}},
			[]string{"a@0=5", "a@1=6"}},
		{"delete in a later epoch", [][][]change{{{ins(0, "a", 1), ins(1, "a", 2)}}, {{upd(1, "a", 3), del(0, "a", 1)}}},
			[]string{"a@1=3"}},
		{"delete then insert in later epochs", [][][]change{{{ins(0, "a", 1)}}, {{del(0, "a", 1)}}, {{ins(0, "a", 7)}}},
			[]string{"a@0=7"}},
		{"delete of a missing key", [][][]change{{{del(3, "z", 1), ins(0, "a", 1)}}},
			[]string{"a@0=1"}},
		{"a session merge: delete one start, update the other", [][][]change{{{ins(0, "u", 1), ins(5, "u", 1)}}, {{del(5, "u", 1), upd(0, "u", 3)}}},
			[]string{"u@0=3"}},
	}
	dsn, conn := newDatabase(t)
	n := 0
	for _, tt := range tests {
		for _, checkpoints := range []bool{false, true} {
			for _, batchSize := range []int{2, 1000} {
				n++
				table := fmt.Sprintf("activity_%d", n) // one database for every case: each its own table
				t.Run(fmt.Sprintf("%s/checkpoints=%v/batch_size=%d", tt.name, checkpoints, batchSize), func(t *testing.T) {
					// A sink of its own: sluice_progress records epochs per sink.
					block := strings.Replace(sinkBlock(dsn, `table = "`+table+`"`, `create_table = true`, fmt.Sprintf("batch_size = %d", batchSize)), `"out"`, `"`+table+`"`, 1)
					s := buildSink(t, block, windowRows)
					w := openWriter(t, s, checkpoints)
					for e, batches := range tt.epochs {
						for _, b := range batches {
							write(t, w, changeBatch(b...))
						}
						commitEpoch(t, w, int64(e+1))
					}
					if got := tableActivity(t, conn, table); !slices.Equal(got, tt.want) {
						t.Errorf("rows %q, want %q", got, tt.want)
					}
				})
			}
		}
	}
}

// tableActivity lists the rows of a table of window rows as
// action@minute=events, sorted.
func tableActivity(t testing.TB, conn *pgx.Conn, table string) []string {
	t.Helper()
	rows, err := conn.Query(testCtx(t), `SELECT action || '@' || extract(minute FROM window_start)::int || '=' || events FROM `+table+` ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestChangelogCommitRepeated: a manifest committed again after a crash
// (Recover of the checkpoint's manifest) changes nothing, though later
// epochs re-inserted the key it deletes; rows staged after the
// checkpoint, a delete among them, are discarded.
func TestChangelogCommitRepeated(t *testing.T) {
	dsn, conn := newDatabase(t)
	s := buildSink(t, sinkBlock(dsn, `table = "activity"`, `create_table = true`), windowRows)
	w := openWriter(t, s, true)
	write(t, w, changeBatch(ins(0, "a", 1), ins(0, "b", 1)))
	commitEpoch(t, w, 1)
	write(t, w, changeBatch(del(0, "a", 1)))
	m2, err := w.Prepare(testCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(testCtx(t), m2); err != nil {
		t.Fatal(err)
	}
	write(t, w, changeBatch(ins(0, "a", 9)))
	commitEpoch(t, w, 3)
	write(t, w, changeBatch(del(0, "b", 1))) // staged, never prepared
	if _, err := w.Prepare(testCtx(t), 4); err != nil {
		t.Fatal(err)
	}
	w.Close()

	again := openWriter(t, s, true)
	if err := again.Recover(testCtx(t), m2); err != nil {
		t.Fatal(err)
	}
	if got, want := activity(t, conn), []string{"a@0=9", "b@0=1"}; !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	var staged int
	if err := conn.QueryRow(testCtx(t), "SELECT count(*) FROM activity__sluice_stage").Scan(&staged); err != nil || staged != 0 {
		t.Errorf("%d rows left staged (%v)", staged, err)
	}
}

// TestAppliesChanges: upsert with a key applies a changelog, insert mode
// (with or without a key) appends.
func TestAppliesChanges(t *testing.T) {
	const dsn = `postgres://sluice@localhost:5432/analytics`
	tests := []struct {
		args []string
		want plugins.ChangeMode
	}{
		{[]string{`table = "t"`}, plugins.ChangesUpsert},
		{[]string{`table = "t"`, `key = ["window_start", "action"]`}, plugins.ChangesUpsert},
		{[]string{`table = "t"`, `mode = "insert"`}, plugins.ChangesAppend},
		{[]string{`table = "t"`, `mode = "insert"`, `key = []`}, plugins.ChangesAppend},
	}
	for _, tt := range tests {
		if got, _ := buildSink(t, sinkBlock(dsn, tt.args...), windowRows).AppliesChanges(); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.args, got, tt.want)
		}
	}
}
