package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkSink produces the same window rows through the sink's writer
// and through franz-go directly (the rows encoded as the sink does, keyed
// the same), in batches of 1,000, to one kfake cluster. It reports rows/s;
// B/op and allocs/op are per batch (divide by 1,000 for a row).
func BenchmarkSink(b *testing.B) {
	const rows = 1000
	c := startCluster(b, 4, "out")
	batch := windowBatch(0, rows)
	b.Run("sluice", func(b *testing.B) {
		s := testSink(b, fmt.Sprintf(`sink "kafka" "out" {
  brokers = %s
  topic   = "out"
}`, brokersHCL(c)), windowRows)
		w, err := s.Open(context.Background(), runtime(false))
		must(b, err)
		defer w.Close()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			must(b, w.Write(context.Background(), batch))
		}
		report(b, rows)
	})
	b.Run("franz-go", func(b *testing.B) {
		s := testSink(b, `sink "kafka" "out" {
  brokers = ["127.0.0.1:1"]
  topic   = "out"
}`, windowRows)
		enc := s.newRowEncoder(runtime(false))
		cl := testClient(b, c, s.producerOptions()...)
		// The raw client sends the same rows, serialized each time as an
		// application would (with sluice's own row encoder, the fastest at
		// hand): what is measured is the cost of the sink around the client.
		recs := make([]*kgo.Record, rows)
		for i := range recs {
			recs[i] = &kgo.Record{}
		}
		var buf []byte
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			buf = buf[:0]
			for row, r := range recs {
				*r = kgo.Record{}
				var err error
				buf, err = enc.appendRecord(buf, batch, row, r)
				must(b, err)
			}
			if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
		report(b, rows)
	})
}

// report adds rows/s; B/op and allocs/op are per batch of rows.
func report(b *testing.B, rows int) {
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
