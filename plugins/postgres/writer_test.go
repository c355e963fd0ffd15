package postgres

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// commitEpoch does what the runner does at a checkpoint (or, without
// checkpoints, at a commit): Prepare, then Commit.
func commitEpoch(t testing.TB, w *Writer, epoch int64) {
	t.Helper()
	m, err := w.Prepare(testCtx(t), epoch)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(testCtx(t), m); err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, w plugins.Writer, b *record.Batch) {
	t.Helper()
	if err := w.Write(testCtx(t), b); err != nil {
		t.Fatal(err)
	}
}

// TestTypesAndNulls writes every type, and nulls of each, with and
// without checkpoints, into a table the sink creates.
func TestTypesAndNulls(t *testing.T) {
	in := record.Schema{Columns: []record.Column{
		{Name: "ts", Type: record.ColumnTimestamp},
		{Name: "n", Type: record.ColumnInt},
		{Name: "x", Type: record.ColumnFloat},
		{Name: "s", Type: record.ColumnString},
		{Name: "ok", Type: record.ColumnBool},
	}}
	rows := [][]any{
		{minute(0) + 123, int64(math.MaxInt64), 1.5, "héllo \"quoted\"\ttab", true},
		{int64(-86_400_000), int64(math.MinInt64), math.Inf(-1), "", false},
		{nil, nil, nil, nil, nil},
		{int64(0), 0, -0.25, "x", nil},
	}
	want := []string{
		`{"n": -9223372036854775808, "s": "", "x": "-Infinity", "ok": false, "ts": "1969-12-31T00:00:00+00:00"}`,
		`{"n": 0, "s": "x", "x": -0.25, "ok": null, "ts": "1970-01-01T00:00:00+00:00"}`,
		`{"n": 9223372036854775807, "s": "héllo \"quoted\"\ttab", "x": 1.5, "ok": true, "ts": "2026-11-25T12:00:00.123+00:00"}`,
		`{"n": null, "s": null, "x": null, "ok": null, "ts": null}`,
	}
	for _, checkpoints := range []bool{false, true} {
		t.Run(fmt.Sprintf("checkpoints=%v", checkpoints), func(t *testing.T) {
			dsn, conn := newDatabase(t)
			w := openWriter(t, buildSink(t, sinkBlock(dsn, `table = "typed"`, `mode = "insert"`, `create_table = true`), in), checkpoints)
			write(t, w, batchOf(in, rows...))
			commitEpoch(t, w, 1)
			if got := tableRows(t, conn, "typed"); !slices.Equal(got, want) {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var types string
			err := conn.QueryRow(testCtx(t), `SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
				FROM pg_attribute WHERE attrelid = 'typed'::regclass AND attnum > 0`).Scan(&types)
			if err != nil {
				t.Fatal(err)
			}
			if want := "ts timestamp with time zone, n bigint, x double precision, s text, ok boolean"; types != want {
				t.Errorf("columns %s, want %s", types, want)
			}
		})
	}
}

// TestModes writes versions of the same keys, in one batch and across
// commits: upsert keeps the last, insert by key the first, insert without
// a key every row. batch_size 2 splits an epoch into several COPYs.
func TestModes(t *testing.T) {
	first := [][]any{
		{minute(0), "click", 1, 0.5, nil},
		{minute(0), "view", 2, 0.5, true},
		{minute(0), "click", 3, 0.5, false},
		{minute(1), "click", 4, 0.5, nil},
		{minute(0), "click", 5, 1.5, true},
	}
	second := [][]any{
		{minute(0), "view", 6, 2.5, false},
		{minute(0), "view", 7, 3.5, false},
	}
	tests := []struct {
		name string
		args []string
		want []string // action@minute=events
	}{
		{"upsert", nil, []string{"click@0=5", "click@1=4", "view@0=7"}},
		{"insert by key", []string{`mode = "insert"`}, []string{"click@0=1", "click@1=4", "view@0=2"}},
		{"insert without key", []string{`mode = "insert"`, `key = []`}, []string{"click@0=1", "click@0=3", "click@0=5", "click@1=4", "view@0=2", "view@0=6", "view@0=7"}},
	}
	for _, tt := range tests {
		for _, checkpoints := range []bool{false, true} {
			for _, batchSize := range []int{2, 1000} {
				t.Run(fmt.Sprintf("%s/checkpoints=%v/batch_size=%d", tt.name, checkpoints, batchSize), func(t *testing.T) {
					dsn, conn := newDatabase(t)
					args := append([]string{`table = "public.activity"`, `create_table = true`, fmt.Sprintf("batch_size = %d", batchSize)}, tt.args...)
					w := openWriter(t, buildSink(t, sinkBlock(dsn, args...), windowRows), checkpoints)
					write(t, w, batchOf(windowRows, first...))
					commitEpoch(t, w, 10)
					write(t, w, batchOf(windowRows, second[:1]...))
					write(t, w, batchOf(windowRows, second[1:]...))
					commitEpoch(t, w, 11)
					if got := activity(t, conn); !slices.Equal(got, tt.want) {
						t.Errorf("rows %q, want %q", got, tt.want)
					}
				})
			}
		}
	}
}

// activity lists the rows of the activity table as action@minute=events,
// sorted.
func activity(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(testCtx(t), `SELECT action || '@' || extract(minute FROM window_start)::int || '=' || events
		FROM public.activity ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}
