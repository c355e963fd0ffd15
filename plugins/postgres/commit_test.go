package postgres

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// eventRows returns n rows of window results, one per minute from
// minute(from), action "a".
func eventRows(from, n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{minute(from + i), "a", from + i, 0.5, nil}
	}
	return rows
}

// minutes lists the minutes of the rows of the log table (an append-only
// table: duplicates show), sorted.
func minutes(t testing.TB, conn *pgx.Conn) []int {
	t.Helper()
	rows, err := conn.Query(testCtx(t), "SELECT events FROM log ORDER BY events")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// stagedRows counts the rows in the staging table.
func stagedRows(t testing.TB, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(testCtx(t), "SELECT count(*) FROM log__sluice_stage").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCommitProtocol drives the Committer as the runner does around
// checkpoints and crashes, appending to a table without a key, where a
// row committed twice would show.
func TestCommitProtocol(t *testing.T) {
	type step struct {
		// write N rows; prepare epoch E (prepare-lost: its checkpoint is
		// never saved); commit the last manifest; crash (a new writer);
		// recover with the last manifest, or none; keep a manifest and
		// recover with it later.
		do    string
		n     int
		epoch int64
	}
	tests := []struct {
		name   string
		steps  []step
		want   []int // the minutes in the table at the end
		staged int   // rows left in the staging table
	}{
		{"prepare hides, commit shows", []step{{do: "recover-none"}, {do: "write", n: 3}, {do: "prepare", epoch: 1}, {do: "check-empty"}, {do: "commit"}}, seq(0, 3), 0},
		{"commit twice", []step{{do: "recover-none"}, {do: "write", n: 3}, {do: "prepare", epoch: 1}, {do: "commit"}, {do: "commit"}}, seq(0, 3), 0},
		{"empty epoch", []step{{do: "recover-none"}, {do: "prepare", epoch: 1}, {do: "commit"}}, nil, 0},
		{"crash between checkpoint and commit", []step{
			{do: "recover-none"}, {do: "write", n: 3}, {do: "prepare", epoch: 1}, {do: "crash"}, {do: "recover"}, {do: "recover"},
		}, seq(0, 3), 0},
		{"crash after commit", []step{
			{do: "recover-none"}, {do: "write", n: 3}, {do: "prepare", epoch: 1}, {do: "commit"}, {do: "crash"}, {do: "recover"},
		}, seq(0, 3), 0},
		{"rows after the checkpoint are discarded", []step{
			{do: "recover-none"}, {do: "write", n: 3}, {do: "prepare", epoch: 1}, {do: "commit"},
			{do: "write", n: 5}, {do: "prepare-lost", epoch: 2}, {do: "write", n: 7}, {do: "crash"}, {do: "recover"},
		}, seq(0, 3), 0},
		{"resumed run goes on", []step{
			{do: "recover-none"}, {do: "write", n: 3}, {do: "prepare", epoch: 1}, {do: "write", n: 4}, {do: "crash"}, {do: "recover"},
			{do: "write", n: 4}, {do: "prepare", epoch: 2}, {do: "commit"},
		}, seq(0, 7), 0},
		{"starting afresh discards everything staged", []step{
			{do: "recover-none"}, {do: "write", n: 3}, {do: "prepare", epoch: 1}, {do: "crash"}, {do: "recover-none"},
		}, nil, 0},
		{"an older epoch is not committed again", []step{
			{do: "recover-none"}, {do: "write", n: 2}, {do: "prepare", epoch: 5}, {do: "keep"}, {do: "commit"},
			{do: "write", n: 2}, {do: "prepare", epoch: 6}, {do: "commit"}, {do: "crash"}, {do: "recover-kept"},
		}, seq(0, 4), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn, conn := newDatabase(t)
			// batch_size 2: writes reach the staging table before Prepare.
			s := buildSink(t, sinkBlock(dsn, `table = "log"`, `mode = "insert"`, `key = []`, `create_table = true`, `batch_size = 2`), windowRows)
			w := openWriter(t, s, true)
			var manifest, kept []byte
			next := 0
			for _, st := range tt.steps {
				var err error
				switch st.do {
				case "write":
					write(t, w, batchOf(windowRows, eventRows(next, st.n)...))
					next += st.n
				case "prepare":
					manifest, err = w.Prepare(testCtx(t), st.epoch)
				case "prepare-lost":
					_, err = w.Prepare(testCtx(t), st.epoch)
				case "check-empty":
					if got := minutes(t, conn); len(got) > 0 {
						t.Errorf("rows of a prepared epoch are visible before its commit: %v", got)
					}
				case "keep":
					kept = manifest
				case "commit":
					err = w.Commit(testCtx(t), manifest)
				case "crash":
					w.Close()
					w = openWriter(t, s, true)
				case "recover":
					err = w.Recover(testCtx(t), manifest)
					next = int(lastMinute(t, manifest)) + 1
				case "recover-kept":
					err = w.Recover(testCtx(t), kept)
				case "recover-none":
					err = w.Recover(testCtx(t), nil)
					next = 0
				}
				if err != nil {
					t.Fatalf("%s: %v", st.do, err)
				}
			}
			if got := minutes(t, conn); !slices.Equal(got, tt.want) {
				t.Errorf("rows %v, want %v", got, tt.want)
			}
			if got := stagedRows(t, conn); got != tt.staged {
				t.Errorf("%d rows left staged, want %d", got, tt.staged)
			}
		})
	}
}

// lastMinute is the minute of the last row a manifest names: rows are
// written one per minute from 0, so it is the manifest's last ordinal.
func lastMinute(t testing.TB, manifest []byte) int64 {
	t.Helper()
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	return m.Last
}

// TestRecoverKeepsOtherSinks: a sink recovering deletes only its own
// staged rows, not those of another sink writing to the same table.
func TestRecoverKeepsOtherSinks(t *testing.T) {
	dsn, conn := newDatabase(t)
	args := []string{`table = "log"`, `mode = "insert"`, `key = []`, `create_table = true`}
	a := openWriter(t, buildSink(t, sinkBlock(dsn, args...), windowRows), true)
	b := openWriter(t, buildSink(t, strings.Replace(sinkBlock(dsn, args...), `"out"`, `"other"`, 1), windowRows), true)
	write(t, b, batchOf(windowRows, eventRows(10, 2)...))
	mb, err := b.Prepare(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	write(t, a, batchOf(windowRows, eventRows(0, 2)...))
	if _, err := a.Prepare(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := a.Recover(testCtx(t), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(testCtx(t), mb); err != nil {
		t.Fatal(err)
	}
	if got := minutes(t, conn); !slices.Equal(got, []int{10, 11}) {
		t.Errorf("rows %v, want sink other's", got)
	}
}

// TestCommitRefusals: manifests of another table, or whose staged rows are
// gone, fail the commit with a clear message.
func TestCommitRefusals(t *testing.T) {
	dsn, conn := newDatabase(t)
	s := buildSink(t, sinkBlock(dsn, `table = "log"`, `mode = "insert"`, `key = []`, `create_table = true`), windowRows)
	w := openWriter(t, s, true)
	write(t, w, batchOf(windowRows, eventRows(0, 2)...))
	m, err := w.Prepare(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	var other Manifest
	if err := json.Unmarshal(m, &other); err != nil {
		t.Fatal(err)
	}
	other.Table = "elsewhere"
	foreign, _ := json.Marshal(other)
	if err := w.Commit(testCtx(t), foreign); err == nil || !strings.Contains(err.Error(), "the checkpoint's manifest is for table elsewhere but the sink now writes to log") {
		t.Errorf("commit of another table's manifest: %v", err)
	}
	execSQL(t, conn, "DELETE FROM log__sluice_stage")
	err = w.Commit(testCtx(t), m)
	if err == nil || !strings.Contains(err.Error(), "holds 0 of the epoch's 2 rows") {
		t.Errorf("commit of lost rows: %v", err)
	}
	if got := minutes(t, conn); len(got) > 0 {
		t.Errorf("a failed commit left rows: %v", got)
	}
}
