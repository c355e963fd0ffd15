package mapping

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// event is one row over plugintest.Events: user_id, action, ts, device; nil
// is null.
type event [4]any

func batchOf(rows ...event) *record.Batch {
	b := record.NewBatch(events, len(rows))
	for i, r := range rows {
		plugintest.AppendRow(b, record.Origin{Partition: 2, Offset: int64(100 + i)}, r[:]...)
	}
	return b
}

// dump renders the rows of b as "origin: name=value ...".
func dump(b *record.Batch) []string {
	var out []string
	for row := range b.Rows {
		var s []string
		for c, col := range b.Schema.Columns {
			v := &b.Columns[c]
			var x string
			switch {
			case v.IsNull(row):
				x = "null"
			case v.Type == record.ColumnString:
				x = v.String(row)
			case v.Type == record.ColumnFloat:
				x = fmt.Sprint(v.Floats[row])
			case v.Type == record.ColumnBool:
				x = fmt.Sprint(v.Bools[row])
			default:
				x = fmt.Sprint(v.Ints[row])
			}
			s = append(s, col.Name+"="+x)
		}
		origin := "-"
		if len(b.Origins) > 0 {
			origin = fmt.Sprint(b.Origins[row].Offset)
		}
		out = append(out, origin+": "+strings.Join(s, " "))
	}
	return out
}

func buildMap(t testing.TB, src string) *Map {
	t.Helper()
	c, diags := plugintest.Build(Plugin, src, events)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return c.(*Map)
}

func TestProcess(t *testing.T) {
	rows := []event{
		{1, "Click", 1000, "ios"},
		{0, "VIEW", -1000, nil},
		{3, nil, 3000, "web"},
	}
	tests := []struct {
		name string
		src  string
		out  []string
		dead []string
	}{
		{
			name: "replace in place",
			src:  `map { set = { action = "lower(action ?? 'none')" } }`,
			out: []string{
				"100: user_id=1 action=click ts=1000 device=ios",
				"101: user_id=0 action=view ts=-1000 device=null",
				"102: user_id=3 action=none ts=3000 device=web",
			},
		},
		{
			name: "sets read the input record",
			src: `map {
  set = {
    user_id = "user_id * 10"
    twice   = "user_id * 2"
    ratio   = "10 / user_id"
    mobile  = "device in ['ios', 'android']"
    year    = "ts.Year()"
  }
  drop = ["action", "device"]
}`,
			out: []string{
				"100: user_id=10 ts=1000 twice=2 ratio=10 mobile=true year=1970",
				"101: user_id=0 ts=-1000 twice=0 ratio=+Inf mobile=false year=1969",
				"102: user_id=30 ts=3000 twice=6 ratio=3.3333333333333335 mobile=false year=1970",
			},
		},
		{
			name: "failing rows go to the dead letter",
			src:  `map { set = { n = "100 % user_id", a = "upper(action)" } }`,
			out:  []string{"100: user_id=1 action=Click ts=1000 device=ios n=0 a=CLICK"},
			dead: []string{
				`1: map "n" at test.hcl:1:20: division by zero in "100 % user_id"`,
				`2: map "a" at test.hcl:1:41: field "action" is null in "upper(action)"`,
			},
		},
		{
			name: "timestamps and drops only",
			src:  `map { drop = ["device"] }`,
			out: []string{
				"100: user_id=1 action=Click ts=1000",
				"101: user_id=0 action=VIEW ts=-1000",
				"102: user_id=3 action=null ts=3000",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := buildMap(t, tt.src)
			in := batchOf(rows...)
			out := record.NewBatch(m.Output(), 0)
			var dead []string
			c := m.Process(in, out, func(row int, reason string) { dead = append(dead, fmt.Sprintf("%d: %s", row, reason)) })
			if err := out.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := dump(out); !reflect.DeepEqual(got, tt.out) {
				t.Errorf("out:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.out, "\n"))
			}
			if !reflect.DeepEqual(dead, tt.dead) {
				t.Errorf("dead = %q, want %q", dead, tt.dead)
			}
			if want := (Counts{In: 3, Out: len(tt.out), Dead: len(tt.dead)}); c != want {
				t.Errorf("counts = %+v, want %+v", c, want)
			}
		})
	}
}

func BenchmarkProcess(b *testing.B) {
	m := buildMap(b, `map { set = { action = "lower(action)" } }`)
	actions := []string{"Click", "view", "HEARTBEAT"}
	var rows []event
	for i := range 1024 {
		rows = append(rows, event{i, actions[i%3], i * 1000, "ios"})
	}
	in := batchOf(rows...)
	out := record.NewBatch(m.Output(), in.Rows)
	for _, path := range []string{"closures", "vm"} {
		b.Run(path, func(b *testing.B) {
			e := m.Set[0].Value.Evaluator(m.Input)
			if path == "vm" {
				e = m.Set[0].Value.VMEvaluator(m.Input)
			}
			evals := []*expression.Evaluator{e}
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				m.process(evals, m.sources(), in, out, func(int, string) {})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*in.Rows), "ns/row")
		})
	}
	b.Run("Process", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			m.Process(in, out, func(int, string) {})
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*in.Rows), "ns/row")
	})
}

// TestProcessKeepsKinds checks that each row keeps its kind through a map
// (after a window emitting updates and deletes), that rejected rows take
// theirs away, and that a batch of inserts stays without kinds.
func TestProcessKeepsKinds(t *testing.T) {
	m := buildMap(t, `map { set = { n = "100 % user_id" } }`)
	in := batchOf(event{1, "a", 1000, "ios"}, event{0, "b", 2000, "ios"}, event{3, "c", 3000, "web"}, event{4, "d", 4000, "web"})
	in.Kinds = []record.RowKind{record.Update, record.Delete, record.Insert, record.Delete}
	inserts := batchOf(event{5, "e", 5000, "ios"})
	tests := []struct {
		name  string
		batch []*record.Batch
		want  []record.RowKind
		held  bool
	}{
		{"inserts only", []*record.Batch{inserts}, []record.RowKind{record.Insert}, false},
		{"changes, the rejected row's kind dropped", []*record.Batch{in}, []record.RowKind{record.Update, record.Insert, record.Delete}, true},
		{"inserts after changes", []*record.Batch{in, inserts}, []record.RowKind{record.Update, record.Insert, record.Delete, record.Insert}, true},
		{"changes after inserts", []*record.Batch{inserts, in}, []record.RowKind{record.Insert, record.Update, record.Insert, record.Delete}, true},
	}
	for _, tt := range tests {
		out := record.NewBatch(m.Output(), 0)
		for _, b := range tt.batch {
			m.Transform(b, out, func(int, string) {})
		}
		if err := out.Validate(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []record.RowKind
		for i := range out.Rows {
			got = append(got, out.Kind(i))
		}
		if !reflect.DeepEqual(got, tt.want) || (len(out.Kinds) > 0) != tt.held {
			t.Errorf("%s: kinds %v (held %v), want %v", tt.name, got, out.Kinds, tt.want)
		}
	}
}
