package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/pipelines"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/runner/config"
)

// memorySource hands out the lines of a file held in memory as raw
// records, dealing them round-robin over its partitions: the same events
// whatever the partition count, so that runs differ only in how many
// event-time partitions the window's watermark is the minimum of.
type memorySource struct {
	lines      [][]byte
	partitions int
}

func (s *memorySource) Output() record.Schema { return record.RawSchema() }

func (s *memorySource) Open(context.Context, *plugins.Runtime) (plugins.Reader, error) {
	return &memoryReader{s: s, offsets: make([]int64, s.partitions)}, nil
}

type memoryReader struct {
	s       *memorySource
	next    int
	offsets []int64
}

func (r *memoryReader) Partitions() int { return r.s.partitions }
func (r *memoryReader) Close() error    { return nil }

func (r *memoryReader) Read(_ context.Context, b *record.Batch, max int) error {
	if r.next == len(r.s.lines) {
		return io.EOF
	}
	col := &b.Columns[0]
	for n := 0; n < max && r.next < len(r.s.lines); n++ {
		p := r.next % r.s.partitions
		col.AppendString(r.s.lines[r.next])
		b.Origins = append(b.Origins, record.Origin{Partition: int32(p), Offset: r.offsets[p]})
		r.offsets[p]++
		b.Rows++
		r.next++
	}
	return nil
}

// BenchmarkReferencePartitions runs the reference pipeline on the
// reference events dealt over 1, 4 and 64 source partitions. The window's
// watermark is the minimum over the partitions; its per-record cost must
// not grow with their number (compare events/s across the sub-benchmarks).
func BenchmarkReferencePartitions(b *testing.B) {
	data, err := os.ReadFile(referenceFile(b))
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for _, parts := range []int{1, 4, 64} {
		b.Run(fmt.Sprintf("partitions_%d", parts), func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "out.ndjson")
			p := load(b, pipelines.Reference(`source "file" { path = "unused" }`, out))
			src := &memorySource{lines: lines, partitions: parts}
			b.ReportAllocs()
			for b.Loop() {
				st, err := Run(context.Background(), p, Options{Source: func(*config.Stage) plugins.Opener { return src }})
				if err != nil {
					b.Fatal(err)
				}
				if st.In != int64(len(lines)) {
					b.Fatalf("read %d events, want %d", st.In, len(lines))
				}
			}
			b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
