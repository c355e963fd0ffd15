package elasticsearch

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/sluice-io/sluice/internal/esfake"
	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// benchBatches returns n rows of window results in batches of 1024.
func benchBatches(n int) []*record.Batch {
	var out []*record.Batch
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).UnixMilli()
	for row := 0; row < n; {
		b := record.NewBatch(windows, 1024)
		for ; b.Rows < 1024 && row < n; row++ {
			ws := start + int64(row/8)*60_000
			plugintest.AppendRow(b, record.Origin{Offset: int64(row)}, ws, ws+60_000, fmt.Sprintf("action-%d", row%8), int64(row), 0.25)
		}
		out = append(out, b)
	}
	return out
}

// BenchmarkSink writes the same documents with the sink and with a raw
// esutil.BulkIndexer (the document bodies encoded beforehand, ids from the
// key) to the double, and reports rows/s, bytes/row and allocations/row.
func BenchmarkSink(b *testing.B) {
	const rows = 20_000
	batches := benchBatches(rows)
	es, err := esfake.Start(esfake.Options{RefreshInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer es.Close()
	b.Run("sink", func(b *testing.B) {
		c, diags := plugintest.Build(Plugin, fmt.Sprintf(`sink "elasticsearch" "b" {
  urls  = [%q]
  index = "bench-sink"
}`, es.URL()), windows)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		w, err := c.(*Sink).Open(context.Background(), &plugins.Runtime{Checkpoints: true})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		ctx := context.Background()
		measure(b, rows, func() {
			for _, batch := range batches {
				if err := w.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := w.(plugins.Committer).Prepare(ctx, 1); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("bulkindexer", func(b *testing.B) {
		s := &Sink{URLs: []string{es.URL()}}
		tr, _ := s.transport()
		client, err := s.newClient(tr)
		if err != nil {
			b.Fatal(err)
		}
		enc := ndjson.NewEncoder(windows)
		keys := windows.KeyColumns()
		type doc struct {
			id   string
			body []byte
		}
		var docs []doc
		for _, batch := range batches {
			for row := range batch.Rows {
				docs = append(docs, doc{string(appendKeyID(nil, keys, batch, row)), enc.AppendRow(nil, batch, row)})
			}
		}
		ctx := context.Background()
		measure(b, rows, func() {
			bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: client, Index: "bench-raw", NumWorkers: runtime.GOMAXPROCS(0)})
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range docs {
				if err := bi.Add(ctx, esutil.BulkIndexerItem{Action: "index", DocumentID: d.id, Body: bytes.NewReader(d.body)}); err != nil {
					b.Fatal(err)
				}
			}
			if err := bi.Close(ctx); err != nil {
				b.Fatal(err)
			}
			if st := bi.Stats(); st.NumFailed > 0 {
				b.Fatalf("%d documents failed", st.NumFailed)
			}
		})
	})
}

// measure runs write b.N times and reports per-row figures.
func measure(b *testing.B, rows int, write func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		write()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	total := float64(rows * b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/total, "B/row")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/row")
}
