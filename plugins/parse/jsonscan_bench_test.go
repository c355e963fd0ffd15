package parse

import (
	"fmt"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// benchBatch returns a raw batch of n messages made by line and their total
// size in bytes.
func benchBatch(n int, line func(i int) string) (*record.Batch, int64) {
	in := record.NewBatch(record.RawSchema(), n)
	var size int64
	for i := 0; i < n; i++ {
		m := line(i)
		in.Columns[0].AppendString([]byte(m))
		in.Origins = append(in.Origins, record.Origin{Offset: size})
		in.Rows++
		size += int64(len(m)) + 1
	}
	return in, size
}

var benchActions = []string{"click", "view", "purchase", "heartbeat", "scroll"}
var benchDevices = []string{"ios", "android", "web"}

// referenceEvent is the event shape of the reference benchmark.
func referenceEvent(i int) string {
	return fmt.Sprintf(`{"user_id":%d,"action":%q,"ts":%d,"device":%q}`,
		100000+i*7919%900000, benchActions[i%len(benchActions)], 1700000000+i/10, benchDevices[i%len(benchDevices)])
}

// runBench parses in repeatedly, reporting ns/record, MB/s and
// allocs/record.
func runBench(b *testing.B, output record.Schema, parse func(in, out *record.Batch, bad func(int, string)), in *record.Batch, size int64) {
	out := record.NewBatch(output, in.Rows)
	bad := func(row int, reason string) { b.Fatalf("row %d: %s", row, reason) }
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out.Reset()
		parse(in, out, bad)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(in.Rows), "ns/record")
}

// BenchmarkJSONParse measures the reference event shape in batches of 1024.
func BenchmarkJSONParse(b *testing.B) {
	j := &JSON{Fields: eventFields}
	in, size := benchBatch(1024, referenceEvent)
	runBench(b, j.Output(), j.Parse, in, size)
}

// BenchmarkJSONParseMixed has escapes, nested paths and skipped values.
func BenchmarkJSONParseMixed(b *testing.B) {
	j := &JSON{Fields: []Field{
		fld("user_id", tInt, true, "payload.user.id"),
		fld("action", tStr, true, "payload.action"),
		fld("ts", tTS, true, "meta.time", "rfc3339"),
		fld("score", tFlt, false),
	}}
	in, size := benchBatch(1024, func(i int) string {
		return fmt.Sprintf(`{"meta":{"time":"2023-11-14T22:13:%02d.%03dZ","source":"app \"v2\""},"tags":["a","b",{"c":[1,2,3]}],"payload":{"action":"cl\u0069ck","user":{"name":"n%d","id":%d}},"score":%d.5}`,
			i%60, i%1000, i, i, i)
	})
	runBench(b, j.Output(), j.Parse, in, size)
}
