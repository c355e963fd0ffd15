package expression

import (
	"testing"

	"github.com/sluice-io/sluice/schema"
)

// BenchmarkEval measures evaluation alone over a batch of 1024 rows, by the
// closures and by expr's VM.
func BenchmarkEval(b *testing.B) {
	actions := []string{"Click", "view", "heartbeat"}
	var rows []row
	for i := range 1024 {
		rows = append(rows, row{i, actions[i%3], int64(i) * 1000, float64(i) / 3, i%2 == 0})
	}
	batch := batchOf(rows...)
	for _, src := range []string{"action != 'heartbeat'", "lower(action)", "user_id % 7 == 0 && price > 10.5", "ok ? price * 2 : price / user_id"} {
		p, diags := Compile(schema.Text{Value: src}, events, "the benchmark expression")
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		for _, path := range []string{"closures", "vm"} {
			b.Run(src+"/"+path, func(b *testing.B) {
				e := p.Evaluator(events)
				if path == "vm" {
					e = p.VMEvaluator(events)
				}
				e.Bind(batch)
				b.ReportAllocs()
				for b.Loop() {
					for row := range batch.Rows {
						if _, err := e.Eval(row); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.Rows), "ns/row")
			})
		}
	}
}
