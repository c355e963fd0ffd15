package postgres

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/internal/pgtest"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// server is the test binary's PostgreSQL server (nil without one).
var server *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &server)) }

// testCtx is a context for one test's statements.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newDatabase creates an empty database and returns its DSN and a
// connection to it (in UTC), closed when the test ends.
func newDatabase(t testing.TB) (string, *pgx.Conn) {
	t.Helper()
	dsn := pgtest.Need(t, server).Database(t)
	conn, err := pgx.Connect(testCtx(t), dsn+"&timezone=UTC")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return dsn, conn
}

// buildSink builds a `sink "postgres"` block (src) for records of in,
// failing the test on any diagnostic.
func buildSink(t testing.TB, src string, in record.Schema) *Sink {
	t.Helper()
	c, diags := plugintest.Build(Plugin, src, in)
	if len(diags) > 0 {
		t.Fatalf("%s\n%s", src, diags.Error())
	}
	return c.(*Sink)
}

// sinkBlock is the HCL of a sink writing to dsn with the given arguments
// (one "name = value" per line).
func sinkBlock(dsn string, args ...string) string {
	return "sink \"postgres\" \"out\" {\n  dsn = " + quoteHCL(dsn) + "\n  " + strings.Join(args, "\n  ") + "\n}"
}

func quoteHCL(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// openWriter opens s as the runner does, with or without checkpoints; the
// writer is closed when the test ends.
func openWriter(t testing.TB, s *Sink, checkpoints bool) *Writer {
	t.Helper()
	w, err := s.Open(testCtx(t), &plugins.Runtime{Pipeline: "test", Logger: slog.New(slog.DiscardHandler), Checkpoints: checkpoints})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w.(*Writer)
}

// batchOf returns a batch of in holding rows (values as
// plugintest.AppendRow takes them).
func batchOf(in record.Schema, rows ...[]any) *record.Batch {
	b := record.NewBatch(in, len(rows))
	for i, r := range rows {
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, r...)
	}
	return b
}

// tableRows returns the rows of table as JSON objects (to_jsonb), sorted.
func tableRows(t testing.TB, conn *pgx.Conn, table string) []string {
	t.Helper()
	rows, err := conn.Query(testCtx(t), "SELECT to_jsonb(tbl_row)::text FROM "+table+" tbl_row ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// execSQL runs statements on conn, failing the test on error.
func execSQL(t testing.TB, conn *pgx.Conn, sql ...string) {
	t.Helper()
	for _, s := range sql {
		if _, err := conn.Exec(testCtx(t), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// windowRows is the schema of window results: keyed by window_start and
// action.
var windowRows = record.Schema{Columns: []record.Column{
	{Name: "window_start", Type: record.ColumnTimestamp},
	{Name: "action", Type: record.ColumnString},
	{Name: "events", Type: record.ColumnInt},
	{Name: "rate", Type: record.ColumnFloat},
	{Name: "mobile", Type: record.ColumnBool},
}, Key: []string{"window_start", "action"}}

// minute is 2026-11-25 12:00 UTC plus n minutes, in Unix ms.
func minute(n int) int64 {
	return time.Date(2026, 11, 25, 12, n, 0, 0, time.UTC).UnixMilli()
}
