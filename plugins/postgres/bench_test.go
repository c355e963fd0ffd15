package postgres

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-io/sluice/record"
)

// benchRows is the number of window results written per operation.
const benchRows = 10_000

// benchBatch returns benchRows window results with distinct keys.
func benchBatch() *record.Batch {
	actions := []string{"view", "click", "login", "logout", "buy"}
	rows := make([][]any, benchRows)
	for i := range rows {
		rows[i] = []any{minute(i / len(actions)), actions[i%len(actions)], i, float64(i) / 3, i%2 == 0}
	}
	return batchOf(windowRows, rows...)
}

// BenchmarkUpsert writes the same window results with the sink (without
// checkpoints: binary COPY into a temporary table, then INSERT … SELECT
// DISTINCT ON … ON CONFLICT DO UPDATE) and with pgx used directly
// (CopyFrom of the rows into a temporary table, then the same statement),
// in one run so that the two compare on the same machine and load.
// Every operation after the first updates every row.
func BenchmarkUpsert(b *testing.B) {
	batch := benchBatch()
	b.Run("sink", func(b *testing.B) {
		dsn, _ := newDatabase(b)
		w := openWriter(b, buildSink(b, sinkBlock(dsn, `table = "activity"`, `create_table = true`, `batch_size = 100000`), windowRows), false)
		ctx := context.Background()
		var streamBytes int
		b.ReportAllocs()
		b.ResetTimer()
		mallocs := mallocCount()
		for range b.N {
			if err := w.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
			streamBytes = len(w.enc.stream())
			if _, err := w.Prepare(ctx, 0); err != nil {
				b.Fatal(err)
			}
		}
		report(b, mallocs, streamBytes)
	})
	b.Run("pgx", func(b *testing.B) {
		dsn, conn := newDatabase(b)
		w := openWriter(b, buildSink(b, sinkBlock(dsn, `table = "activity"`, `create_table = true`), windowRows), false)
		merge := mergeSQL(w.tables, windowRows, w.sink.Key, ModeUpsert, false)
		execSQL(b, conn, createFlushSQL(windowRows))
		ctx := context.Background()
		cols := append([]string{colOrdinal}, windowRows.Names()...)
		b.ReportAllocs()
		b.ResetTimer()
		mallocs := mallocCount()
		for range b.N {
			rows := make([][]any, batch.Rows)
			for r := range rows {
				rows[r] = []any{int64(r), time.UnixMilli(batch.Columns[0].Ints[r]), batch.Columns[1].String(r), batch.Columns[2].Ints[r], batch.Columns[3].Floats[r], batch.Columns[4].Bools[r]}
			}
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{flushTable}, cols, pgx.CopyFromRows(rows)); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, merge)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		report(b, mallocs, 0)
	})
}

// report adds rows/s, allocations per row (of this process: the
// server's work is not counted) and, when known, the COPY bytes per row.
func report(b *testing.B, mallocsBefore uint64, streamBytes int) {
	rows := float64(b.N) * benchRows
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(mallocCount()-mallocsBefore)/rows, "allocs/row")
	if streamBytes > 0 {
		b.ReportMetric(float64(streamBytes)/benchRows, "bytes/row")
	}
}

func mallocCount() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}
