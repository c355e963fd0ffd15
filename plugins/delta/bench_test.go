package delta

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	pq "github.com/parquet-go/parquet-go"

	"github.com/sluice-io/sluice/record"
)

// benchEvent is a row of the benchmark, as a program using parquet-go
// directly writes it.
type benchEvent struct {
	UserID  int64   `parquet:"user_id,optional"`
	Action  *string `parquet:"action,optional,dict"`
	TS      int64   `parquet:"ts,optional,timestamp(microsecond)"`
	Country *string `parquet:"country,optional,dict"`
	URL     *string `parquet:"url,optional,dict"`
	Price   float64 `parquet:"price,optional"`
	Mobile  bool    `parquet:"mobile,optional"`
}

var benchRows = record.Schema{Columns: []record.Column{
	{Name: "user_id", Type: record.ColumnInt},
	{Name: "action", Type: record.ColumnString},
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "country", Type: record.ColumnString},
	{Name: "url", Type: record.ColumnString},
	{Name: "price", Type: record.ColumnFloat},
	{Name: "mobile", Type: record.ColumnBool},
}}

// benchData returns the same 1024 rows as a batch and as structs.
func benchData() (*record.Batch, []benchEvent) {
	const n = 1024
	b := record.NewBatch(benchRows, n)
	evs := make([]benchEvent, n)
	actions := []string{"view", "click", "login", "buy"}
	countries := []string{"FR", "DE", "US", "JP", "BR"}
	for i := range n {
		action, country, url := actions[i%4], countries[i%5], fmt.Sprintf("https://shop.example.com/p/%d", i*7919%5000)
		e := benchEvent{UserID: int64(i * 31 % 1000), Action: &action, TS: int64(1_764_000_000_000+i*7) * 1000, Country: &country, URL: &url, Price: float64(i%10000) / 100, Mobile: i%2 == 0}
		evs[i] = e
		c := b.Columns
		c[0].AppendInt(e.UserID)
		c[1].AppendText(action)
		c[2].AppendInt(e.TS / 1000)
		c[3].AppendText(country)
		c[4].AppendText(url)
		c[5].AppendFloat(e.Price)
		c[6].AppendBool(e.Mobile)
		b.Rows++
	}
	return b, evs
}

// reportPerRow reports rows/s, B/row and allocs/row since before.
func reportPerRow(b *testing.B, rows int64, before *runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(rows), "B/row")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(rows), "allocs/row")
}

// BenchmarkSinkVsParquetGo writes the same rows to a local folder with
// the sink (files, statistics, a table version every 200 batches) and
// with parquet-go directly (a GenericWriter of structs, zstd, a file
// every 200 batches, no log), in the same run.
func BenchmarkSinkVsParquetGo(b *testing.B) {
	batch, evs := benchData()
	ctx := context.Background()
	const perCommit = 200
	b.Run("sink", func(b *testing.B) {
		s := buildSink(b, "file://"+b.TempDir(), ``, benchRows)
		w := open(b, s, newClock(), true)
		var total, epoch int64
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.ResetTimer()
		for b.Loop() {
			if err := w.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
			total += int64(batch.Rows)
			if total%(perCommit*1024) == 0 {
				epoch++
				m, err := w.Prepare(ctx, epoch)
				if err == nil {
					err = w.Commit(ctx, m)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerRow(b, total, &before)
	})
	b.Run("parquet-go", func(b *testing.B) {
		dir := b.TempDir()
		var (
			f     *os.File
			w     *pq.GenericWriter[benchEvent]
			total int64
			files int
		)
		finish := func() {
			if w == nil {
				return
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			w = nil
		}
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.ResetTimer()
		for b.Loop() {
			if w == nil {
				files++
				var err error
				if f, err = os.Create(filepath.Join(dir, fmt.Sprintf("%05d.parquet", files))); err != nil {
					b.Fatal(err)
				}
				w = pq.NewGenericWriter[benchEvent](f, pq.Compression(&pq.Zstd), pq.DataPageVersion(1))
			}
			if _, err := w.Write(evs); err != nil {
				b.Fatal(err)
			}
			total += int64(len(evs))
			if total%(perCommit*1024) == 0 {
				finish()
			}
		}
		finish()
		reportPerRow(b, total, &before)
	})
}
