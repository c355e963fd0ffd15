package runner

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/pipelines"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/generate"
	"github.com/sluice-io/sluice/runner/checkpoint"
)

const benchEvents = 1_000_000

var (
	benchOnce sync.Once
	benchFile string
	benchErr  error
)

// referenceFile writes benchEvents generated user events as NDJSON once
// per test binary: the reference workload's shape (500 users, 7 actions,
// 5 s disorder, 1% late).
func referenceFile(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-runner-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchFile = filepath.Join(dir, "events.ndjson")
		src := &generate.Source{Rate: 2000, Count: benchEvents, Seed: 1, Users: 500, Disorder: 5e9, LateFraction: 0.01, Format: generate.FormatJSON}
		f, err := os.Create(benchFile)
		if err != nil {
			benchErr = err
			return
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		// A clock far in the future lets the source hand out every event at once.
		rt := &plugins.Runtime{Now: farFuture()}
		r, err := src.Open(context.Background(), rt)
		if err != nil {
			benchErr = err
			return
		}
		batch := record.NewBatch(record.RawSchema(), 4096)
		for {
			batch.Reset()
			if err := r.Read(context.Background(), batch, 4096); err != nil {
				break
			}
			for i := range batch.Rows {
				w.Write(batch.Columns[0].StringBytes(i))
				w.WriteByte('\n')
			}
		}
		benchErr = w.Flush()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile
}

// BenchmarkReference runs the reference pipeline (file → json → filter →
// 1-minute tumbling window with count and count_distinct → NDJSON file)
// on 1,000,000 events; ns/op and B/op are per run, events/s is reported.
func BenchmarkReference(b *testing.B) {
	path := referenceFile(b)
	out := filepath.Join(b.TempDir(), "out.ndjson")
	p := load(b, pipelines.Reference(`source "file" { path = `+pipelines.Quote(path)+` }`, out))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		st, err := Run(context.Background(), p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if st.In != benchEvents {
			b.Fatalf("read %d events", st.In)
		}
	}
	b.ReportMetric(float64(benchEvents*b.N)/b.Elapsed().Seconds(), "events/s")
}

// farFuture is a clock that reads the epoch once, then a billion seconds
// later: a paced source sees every event as due.
func farFuture() func() time.Time {
	first := true
	return func() time.Time {
		if first {
			first = false
			return time.Unix(0, 0)
		}
		return time.Unix(1e9, 0)
	}
}

// BenchmarkReferenceCheckpoint runs BenchmarkReference's workload without
// checkpoints and with a checkpoint every 100 ms and every 10 ms (one run
// is about a quarter of a second, so an interval of 1 s would take only
// the final checkpoint; these bound its overhead from above). Checkpoints
// go to a local folder (each one synced to disk); the output goes through
// the file sink's commit protocol.
func BenchmarkReferenceCheckpoint(b *testing.B) {
	path := referenceFile(b)
	for _, bc := range []struct {
		name  string
		every time.Duration
	}{{"none", 0}, {"every_100ms", 100 * time.Millisecond}, {"every_10ms", 10 * time.Millisecond}} {
		b.Run(bc.name, func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "out.ndjson")
			p := load(b, pipelines.Reference(`source "file" { path = `+pipelines.Quote(path)+` }`, out))
			b.ReportAllocs()
			checkpoints := int64(0)
			for b.Loop() {
				opts := Options{Monitor: NewMonitor()}
				if bc.every > 0 {
					store, err := objstore.Open(context.Background(), objstore.Location{Scheme: "file", Dir: b.TempDir()})
					if err != nil {
						b.Fatal(err)
					}
					defer store.Close()
					opts.Checkpoints = checkpoint.NewStore(store)
					opts.CheckpointEvery = bc.every
				}
				st, err := Run(context.Background(), p, opts)
				if err != nil {
					b.Fatal(err)
				}
				if st.In != benchEvents {
					b.Fatalf("read %d events", st.In)
				}
				checkpoints += opts.Monitor.Snapshot(time.Now())[0].Checkpoints.Count
			}
			b.ReportMetric(float64(benchEvents*b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(checkpoints)/float64(b.N), "checkpoints/run")
		})
	}
}
