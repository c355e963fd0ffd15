package observe

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/pipelines"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/generate"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

const benchEvents = 1_000_000

// writeReferenceEvents writes the reference workload's events (as the
// runner's BenchmarkReference does: 500 users, 5 s disorder, 1% late) to
// an NDJSON file.
func writeReferenceEvents(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "events.ndjson")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	src := &generate.Source{Rate: 2000, Count: benchEvents, Seed: 1, Users: 500, Disorder: 5e9, LateFraction: 0.01, Format: generate.FormatJSON}
	far := false // the first read of the clock is the epoch, every later one far ahead: every event is due
	r, err := src.Open(context.Background(), &plugins.Runtime{Now: func() time.Time {
		if !far {
			far = true
			return time.Unix(0, 0)
		}
		return time.Unix(1e9, 0)
	}})
	if err != nil {
		b.Fatal(err)
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
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkReferenceScraped runs the reference pipeline on 1,000,000
// events without a Monitor, and with one whose metrics are gathered every
// 100 ms (150 times Prometheus' usual 15 s): the difference is what
// serving metrics costs a pipeline. Compare events/s.
func BenchmarkReferenceScraped(b *testing.B) {
	path := writeReferenceEvents(b)
	for _, bc := range []struct {
		name   string
		scrape time.Duration
	}{{"no_monitor", 0}, {"scraped_every_100ms", 100 * time.Millisecond}} {
		b.Run(bc.name, func(b *testing.B) {
			src := pipelines.Reference(`source "file" { path = `+pipelines.Quote(path)+` }`, filepath.Join(b.TempDir(), "out.ndjson"))
			project, diags := config.LoadSources([]config.Source{{Name: "bench.hcl", Bytes: []byte(src)}}, nil)
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			b.ReportAllocs()
			for b.Loop() {
				opts := runner.Options{}
				stop := func() {}
				if bc.scrape > 0 {
					opts.Monitor = runner.NewMonitor()
					stop = gatherEvery(b, opts.Monitor, bc.scrape)
				}
				st, err := runner.Run(context.Background(), project.Pipelines[0], opts)
				stop()
				if err != nil {
					b.Fatal(err)
				}
				if st.In != benchEvents {
					b.Fatalf("read %d events", st.In)
				}
			}
			b.ReportMetric(float64(benchEvents*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// gatherEvery gathers the metrics of m every interval until the returned
// function is called.
func gatherEvery(b *testing.B, m *runner.Monitor, interval time.Duration) (stop func()) {
	reg, err := NewRegistry(m, BuildInfo{})
	if err != nil {
		b.Fatal(err)
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if _, err := reg.Gather(); err != nil {
					b.Error(err)
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// BenchmarkGather measures one scrape's conversion of a pipeline with two
// partitions, four stages, a sink and checkpoints (fullStatus), Go and
// process collectors included.
func BenchmarkGather(b *testing.B) {
	fixed := &fixedMonitor{}
	fixed.set(fullStatus(time.Now()))
	reg, err := NewRegistry(fixed, BuildInfo{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
