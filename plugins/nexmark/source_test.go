package nexmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

func TestBuild(t *testing.T) {
	def := Source{EventRate: 10_000, BaseTime: base2024, Partitions: 1}
	with := func(f func(s *Source)) *Source { s := def; f(&s); return &s }
	tests := []struct {
		name  string
		src   string
		want  *Source
		diags []string
	}{
		{"defaults", `source "nexmark" { stream = "bid" }`, with(func(s *Source) { s.Stream = StreamBid }), nil},
		{"everything", `source "nexmark" {
  stream     = "person"
  events     = 1000
  event_rate = 5
  base_time  = "2020-02-03T04:05:06.789Z"
  partitions = 3
  rate       = 10
}`, &Source{Stream: StreamPerson, Events: 1000, EventRate: 5, BaseTime: 1580702706789, Partitions: 3, Rate: 10}, nil},
		{"stream required", `source "nexmark" {}`, nil, []string{"1:1: Missing required argument"}},
		{"bad values", `source "nexmark" {
  stream     = "bid"
  events     = -1
  event_rate = 0
  base_time  = "yesterday"
  rate       = -2
}`, nil, []string{"3:16: Invalid value for argument \"events\"", "4:16: Invalid value for argument \"event_rate\"",
			"6:16: Invalid value for argument \"rate\"", "5:16: Invalid value for argument \"base_time\""}},
		{"partitions without persons", `source "nexmark" {
  stream     = "person"
  partitions = 2
}`, nil, []string{"3:16: Invalid value for argument \"partitions\""}},
		{"no partitions", `source "nexmark" {
  stream     = "bid"
  partitions = 0
}`, nil, []string{"3:16: Invalid value for argument \"partitions\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugintest.Expect(t, Plugin, tt.src, record.Schema{}, tt.diags, tt.want)
		})
	}
}

// readAll reads a source to its end in batches of batchSize and returns
// each record as an NDJSON line with its origin.
func readAll(t testing.TB, s Source, batchSize int, positions map[string][]byte) []string {
	t.Helper()
	rd, err := s.Open(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if positions != nil {
		if err := rd.(plugins.Resumer).Resume(positions); err != nil {
			t.Fatal(err)
		}
	}
	enc := ndjson.NewEncoder(s.Output())
	b := record.NewBatch(s.Output(), batchSize)
	var out []string
	for {
		b.Reset()
		err := rd.Read(context.Background(), b, batchSize)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Validate(); err != nil {
			t.Fatal(err)
		}
		for i := range b.Rows {
			o := b.Origins[i]
			if int64(o.Partition) != o.Offset%int64(s.Partitions) {
				t.Fatalf("event %d in partition %d of %d", o.Offset, o.Partition, s.Partitions)
			}
			out = append(out, fmt.Sprintf("%d/%d %s", o.Partition, o.Offset, enc.AppendRow(nil, b, i)))
		}
	}
}

// stripPartition drops the partition from readAll's lines.
func stripPartition(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		_, out[i], _ = strings.Cut(l, "/")
	}
	return out
}

func TestPartitionStride(t *testing.T) {
	for _, stream := range Streams {
		one := readAll(t, Source{Stream: stream, Events: 3000, EventRate: 10_000, BaseTime: base2024, Partitions: 1}, 100, nil)
		for _, parts := range []int{3, 7, 11} {
			s := Source{Stream: stream, Events: 3000, EventRate: 10_000, BaseTime: base2024, Partitions: parts}
			got := stripPartition(readAll(t, s, 64, nil))
			if fmt.Sprint(got) != fmt.Sprint(stripPartition(one)) {
				t.Fatalf("%s: the union of %d partitions differs from the single stream", stream, parts)
			}
		}
	}
}

// FuzzSplit: any split of a stream, by partitions, batch size and a
// checkpoint after any record, yields the same records.
func FuzzSplit(f *testing.F) {
	f.Add(uint16(500), uint8(3), uint8(10), uint16(100))
	f.Add(uint16(51), uint8(1), uint8(1), uint16(0))
	f.Fuzz(func(t *testing.T, events uint16, parts, batch uint8, cut uint16) {
		s := Source{Stream: StreamBid, Events: int64(events%3000) + 1, EventRate: 10_000, BaseTime: base2024, Partitions: int(parts%13) + 1}
		if len(EmptyPartitions(s.Stream, s.Partitions)) > 0 {
			return
		}
		whole := readAll(t, s, 1000, nil)
		if again := readAll(t, s, int(batch%50)+1, nil); fmt.Sprint(again) != fmt.Sprint(whole) {
			t.Fatalf("reading again in batches of %d differs", batch%50+1)
		}
		if len(whole) == 0 {
			return
		}
		// A checkpoint after record k holds, per partition, the position of
		// the last record of that partition at or before k.
		k := int(cut) % len(whole)
		rd, _ := s.Open(context.Background(), nil)
		res := rd.(plugins.Resumer)
		positions := map[string][]byte{}
		var p int
		var off int64
		for _, line := range whole[:k+1] {
			fmt.Sscanf(line, "%d/%d", &p, &off)
			pos, _ := res.Position(p, off)
			positions[res.PartitionKey(p)] = pos
		}
		rest := readAll(t, s, int(batch%50)+1, positions)
		if fmt.Sprint(rest) != fmt.Sprint(whole[k+1:]) {
			t.Fatalf("resuming after record %d of %d differs", k, len(whole))
		}
	})
}

func TestResumeRefusesAnotherConfiguration(t *testing.T) {
	s := Source{Stream: StreamBid, Events: 100, EventRate: 10_000, BaseTime: base2024, Partitions: 3}
	rd, _ := s.Open(context.Background(), nil)
	other := s
	other.Partitions = 4
	ord, _ := other.Open(context.Background(), nil)
	pos, _ := ord.(plugins.Resumer).Position(1, 9)
	err := rd.(plugins.Resumer).Resume(map[string][]byte{ord.(plugins.Resumer).PartitionKey(1): pos})
	if err == nil {
		t.Fatal("resumed from a checkpoint of 4 partitions with 3")
	}
}

func TestReadAllocatesNothing(t *testing.T) {
	for _, stream := range Streams {
		s := Source{Stream: stream, EventRate: 10_000, BaseTime: base2024, Partitions: 4}
		if stream == StreamPerson {
			s.Partitions = 3
		}
		rd, _ := s.Open(context.Background(), nil)
		b := record.NewBatch(s.Output(), 1024)
		read := func() {
			b.Reset()
			if err := rd.Read(context.Background(), b, 1024); err != nil {
				t.Fatal(err)
			}
		}
		for range 50 { // grow the batch's buffers
			read()
		}
		if n := testing.AllocsPerRun(20, read); n != 0 {
			t.Errorf("%s: %v allocations per batch of 1024, want 0", stream, n)
		}
	}
}

// TestPace: with rate, records are handed out as processing time allows,
// read through the runtime's clock.
func TestPace(t *testing.T) {
	now := time.Unix(0, 0)
	s := Source{Stream: StreamBid, EventRate: 10_000, BaseTime: base2024, Partitions: 1, Rate: 100}
	rd, _ := s.Open(context.Background(), &plugins.Runtime{Now: func() time.Time { return now }})
	var waited []time.Duration
	rd.(*reader).wait = func(_ context.Context, d time.Duration) error {
		waited = append(waited, d)
		now = now.Add(d)
		return nil
	}
	b := record.NewBatch(s.Output(), 100)
	steps := []struct {
		advance  time.Duration
		wantRows int
	}{{0, 1}, {95 * time.Millisecond, 9}, {0, 1}, {time.Second, 50}}
	for i, st := range steps {
		now = now.Add(st.advance)
		b.Reset()
		if err := rd.Read(context.Background(), b, 50); err != nil {
			t.Fatal(err)
		}
		if b.Rows != st.wantRows {
			t.Fatalf("step %d: %d rows, want %d", i, b.Rows, st.wantRows)
		}
	}
	if fmt.Sprint(waited) != "[5ms]" {
		t.Fatalf("waited %v, want [5ms]", waited)
	}
}

func BenchmarkSource(b *testing.B) {
	for _, stream := range Streams {
		b.Run(string(stream), func(b *testing.B) {
			s := Source{Stream: stream, EventRate: 10_000, BaseTime: base2024, Partitions: 1}
			rd, _ := s.Open(context.Background(), nil)
			batch := record.NewBatch(s.Output(), 1024)
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				batch.Reset()
				if err := rd.Read(context.Background(), batch, 1024); err != nil {
					b.Fatal(err)
				}
				rows += batch.Rows
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
