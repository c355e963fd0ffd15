package parquet

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	pq "github.com/parquet-go/parquet-go"
)

// rawRows is a wide-ish schema of raw events, for benchmarks.
var rawRows = record.Schema{Columns: []record.Column{
	{Name: "user_id", Type: record.ColumnInt},
	{Name: "action", Type: record.ColumnString},
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "device", Type: record.ColumnString},
	{Name: "session", Type: record.ColumnString},
	{Name: "country", Type: record.ColumnString},
	{Name: "url", Type: record.ColumnString},
	{Name: "referrer", Type: record.ColumnString},
	{Name: "duration_ms", Type: record.ColumnInt},
	{Name: "price", Type: record.ColumnFloat},
	{Name: "score", Type: record.ColumnFloat},
	{Name: "mobile", Type: record.ColumnBool},
}}

var (
	benchActions   = []string{"login", "logout", "click", "view", "purchase", "search", "share", "comment"}
	benchDevices   = []string{"ios", "android", "web", "desktop"}
	benchCountries = []string{"FR", "DE", "US", "JP", "BR", "IN", "GB", "ES", "IT", "CA"}
)

// benchBatch returns a batch of n rows of rec: window results (one minute,
// every action of each window) or raw events, with some nulls.
func benchBatch(rec record.Schema, n int, start time.Time) *record.Batch {
	r := rand.New(rand.NewPCG(1, 2))
	b := record.NewBatch(rec, n)
	for i := range n {
		switch len(rec.Columns) {
		case len(windowRows.Columns):
			ws := start.Add(time.Duration(i/len(benchActions)) * time.Minute)
			b.Columns[0].AppendInt(ws.UnixMilli())
			b.Columns[1].AppendInt(ws.Add(time.Minute).UnixMilli())
			b.Columns[2].AppendString([]byte(benchActions[i%len(benchActions)]))
			b.Columns[3].AppendInt(r.Int64N(100000))
			b.Columns[4].AppendInt(r.Int64N(10000))
		default:
			c := b.Columns
			c[0].AppendInt(r.Int64N(1_000_000))
			c[1].AppendString([]byte(benchActions[r.IntN(len(benchActions))]))
			c[2].AppendInt(start.UnixMilli() + int64(i)*7)
			c[3].AppendString([]byte(benchDevices[r.IntN(len(benchDevices))]))
			c[4].AppendString(fmt.Appendf(nil, "%016x", r.Uint64()))
			c[5].AppendString([]byte(benchCountries[r.IntN(len(benchCountries))]))
			c[6].AppendString(fmt.Appendf(nil, "https://shop.example.com/p/%d?ref=home", r.IntN(50000)))
			if r.IntN(3) == 0 {
				c[7].AppendNull()
			} else {
				c[7].AppendString(fmt.Appendf(nil, "https://search.example.org/?q=%d", r.IntN(1000)))
			}
			c[8].AppendInt(r.Int64N(60000))
			c[9].AppendFloat(float64(r.IntN(100000)) / 100)
			if r.IntN(5) == 0 {
				c[10].AppendNull()
			} else {
				c[10].AppendFloat(r.Float64())
			}
			c[11].AppendBool(r.IntN(2) == 0)
		}
		b.Rows++
	}
	return b
}

// reportPerRow reports rows/s, B/row and allocs/row for rows written
// since before.
func reportPerRow(b *testing.B, rows int64, before *runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(rows), "B/row")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(rows), "allocs/row")
}

// BenchmarkEncode measures turning column vectors into Parquet (zstd, to
// io.Discard, a file per million rows): the sink's own cost without
// storage.
func BenchmarkEncode(b *testing.B) {
	for _, bc := range []struct {
		name string
		rec  record.Schema
	}{{"window", windowRows}, {"raw", rawRows}} {
		b.Run(bc.name, func(b *testing.B) {
			s := buildSink(b, `sink "parquet" "lake" { path = "out" }`, bc.rec)
			w := newWriter(s, nil, nil)
			batch := benchBatch(bc.rec, 1024, t0)
			rows := make([]int32, batch.Rows)
			for i := range rows {
				rows[i] = int32(i)
			}
			pf := &partFile{w: pq.NewGenericWriter[any](io.Discard, w.options...)}
			var total int64
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				if err := w.writeChunk(pf, batch, rows); err != nil {
					b.Fatal(err)
				}
				total += int64(len(rows))
				if pf.groupRows >= s.RowGroupSize {
					if err := pf.w.Flush(); err != nil {
						b.Fatal(err)
					}
					pf.groupRows = 0
				}
				if pf.rows >= 1_000_000 {
					if err := pf.w.Close(); err != nil {
						b.Fatal(err)
					}
					pf.w.Reset(io.Discard)
					pf.rows, pf.groupRows = 0, 0
				}
			}
			reportPerRow(b, total, &before)
		})
	}
}

// BenchmarkWrite measures the whole sink on a local folder: routing to
// partitions, encoding, files, and a commit every 200 batches.
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		rec  record.Schema
		args string
	}{
		{"window", windowRows, ``},
		{"window_by_hour_and_action", windowRows, `partition_by = ["window_start:hour", "action"]`},
		{"raw", rawRows, ``},
		{"raw_by_country", rawRows, `partition_by = ["country"]`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := buildSink(b, fmt.Sprintf("sink \"parquet\" \"lake\" {\npath = %q\n%s\n}", "file://"+b.TempDir(), bc.args), bc.rec)
			w := open(b, s, &clock{t: t0})
			batch := benchBatch(bc.rec, 1024, t0)
			ctx := context.Background()
			var total, epoch int64
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				if err := w.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				total += int64(batch.Rows)
				if total%(200*1024) == 0 {
					epoch++
					m, err := w.Prepare(ctx, epoch)
					if err != nil {
						b.Fatal(err)
					}
					if err := w.Commit(ctx, m); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportPerRow(b, total, &before)
		})
	}
}
