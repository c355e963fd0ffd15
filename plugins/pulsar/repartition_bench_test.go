package pulsar

import (
	"context"
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/pulsartest"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// BenchmarkRepartition publishes batches of 1000 reference events (500
// users, keyed by user) through a 4-partition shuffle topic of the
// in-process broker and reads them back with one task reader per
// partition, all in this process: rows/s end to end, the encoded bytes of
// a row, and the allocations per row of the whole process (client,
// broker, publisher and readers).
func BenchmarkRepartition(b *testing.B) {
	broker, err := pulsartest.Start(pulsartest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	r := shuffleBlock(b, broker, "bench", 4, plugintest.Events, "user_id")
	ctx := context.Background()
	w, err := r.OpenPublisher(ctx, runtime(), plugins.Marks{EventTime: "ts", Tasks: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	pub := w.(*publisher)
	if err := pub.Recover(ctx, nil); err != nil {
		b.Fatal(err)
	}
	a, err := r.OpenTasks(ctx, runtime())
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	var readers []plugins.Reader
	for len(readers) < 4 {
		c, err := a.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rd, err := a.OpenTask(ctx, runtime(), c.Task)
		if err != nil {
			b.Fatal(err)
		}
		defer rd.Close()
		readers = append(readers, rd)
	}
	batch := benchBatch(1000)
	var encoded int
	for row := range batch.Rows {
		encoded = len(pub.codec.appendRow(nil, batch, row)) + encoded
	}

	var read atomic.Int64
	readCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, rd := range readers {
		wg.Go(func() {
			rb := record.NewBatch(plugintest.Events, 1000)
			for readCtx.Err() == nil {
				rb.Reset()
				if err := rd.Read(readCtx, rb, 1000); err != nil {
					return
				}
				if rb.Rows > 0 {
					read.Add(int64(rb.Rows))
					rd.(plugins.Acknowledger).Commit(0, rb.Origins[rb.Rows-1].Offset)
				}
			}
		})
	}
	defer func() { stop(); wg.Wait() }()

	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := w.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	rows := int64(b.N) * int64(batch.Rows)
	for read.Load() < rows {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	goruntime.ReadMemStats(&after)
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(encoded)/float64(batch.Rows), "B/row")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(rows), "allocs/row")
}

// benchBatch returns n reference events: 500 users, 7 actions, rising
// event times with some disorder.
func benchBatch(n int) *record.Batch {
	rng := rand.New(rand.NewPCG(1, 1))
	actions := []string{"view", "click", "scroll", "purchase", "login", "logout", "heartbeat"}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	b := record.NewBatch(plugintest.Events, n)
	for i := range n {
		plugintest.AppendRow(b, record.Origin{Partition: int32(i % 4), Offset: int64(i)},
			int64(1+rng.IntN(500)), actions[rng.IntN(len(actions))], base+int64(i)/2-rng.Int64N(5000), fmt.Sprintf("device-%d", rng.IntN(3)))
	}
	return b
}
