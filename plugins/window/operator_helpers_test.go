package window

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// opInput is the record schema of the operator tests.
var opInput = record.Schema{Columns: []record.Column{
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "key", Type: record.ColumnString},
	{Name: "g2", Type: record.ColumnInt},
	{Name: "user", Type: record.ColumnInt},
	{Name: "v", Type: record.ColumnInt},
	{Name: "f", Type: record.ColumnFloat},
	{Name: "w", Type: record.ColumnInt},
}}

// ev is one input record of the operator tests.
type ev struct {
	ts      int64
	tsNull  bool
	part    int
	key     string
	keyNull bool
	g2      int64
	user    int64
	v       int64
	vNull   bool
	f       float64
	w       int64 // sum(100 % w) fails on w = 0
}

// buildWindow builds the window block src against opInput.
func buildWindow(t testing.TB, k Kind, src string) *Window {
	t.Helper()
	var p = Plugins()[0]
	for _, q := range Plugins() {
		if q.Name == string(k) {
			p = q
		}
	}
	c, diags := plugintest.Build(p, src, opInput)
	if diags.HasErrors() {
		t.Fatalf("build %s: %v", src, diags)
	}
	return c.(*Window)
}

// batchOf returns the events as a batch with origins.
func batchOf(evs []ev) *record.Batch {
	b := record.NewBatch(opInput, len(evs))
	for _, e := range evs {
		if e.tsNull {
			b.Columns[0].AppendNull()
		} else {
			b.Columns[0].AppendInt(e.ts)
		}
		if e.keyNull {
			b.Columns[1].AppendNull()
		} else {
			b.Columns[1].AppendString([]byte(e.key))
		}
		b.Columns[2].AppendInt(e.g2)
		b.Columns[3].AppendInt(e.user)
		if e.vNull {
			b.Columns[4].AppendNull()
		} else {
			b.Columns[4].AppendInt(e.v)
		}
		b.Columns[5].AppendFloat(e.f)
		b.Columns[6].AppendInt(e.w)
		b.Origins = append(b.Origins, record.Origin{Partition: int32(e.part), Offset: int64(b.Rows)})
		b.Rows++
	}
	return b
}

// rowStrings renders each output row as "a|b|c", nulls as "null", after
// "U " for an Update and "D " for a Delete.
func rowStrings(b *record.Batch) []string {
	var out []string
	for r := 0; r < b.Rows; r++ {
		var parts []string
		for c := range b.Columns {
			parts = append(parts, cell(&b.Columns[c], r))
		}
		out = append(out, kindPrefix[b.Kind(r)]+strings.Join(parts, "|"))
	}
	return out
}

// kindPrefix starts the rendering of a row of each kind.
var kindPrefix = map[record.RowKind]string{record.Insert: "", record.Update: "U ", record.Delete: "D "}

func cell(v *record.Vector, r int) string {
	if v.IsNull(r) {
		return "null"
	}
	switch v.Type {
	case record.ColumnInt, record.ColumnTimestamp:
		return strconv.FormatInt(v.Ints[r], 10)
	case record.ColumnFloat:
		return strconv.FormatFloat(v.Floats[r], 'g', -1, 64)
	case record.ColumnBool:
		return strconv.FormatBool(v.Bools[r])
	case record.ColumnString:
		return strconv.Quote(v.String(r))
	}
	return "?"
}

// step is one call on an operator: a batch of events at processing time
// now, or a Tick (evs nil, tick set), or Finish.
type step struct {
	now    int64
	evs    []ev
	tick   bool
	finish bool
}

// runResult is what an operator produced over a run.
type runResult struct {
	rows []string
	late []int // global indices of the events reported late
	bad  []int
}

// run feeds the steps to o, splitting batches into chunks of at most
// chunk rows (0 = as given), and returns every output row in order.
func run(t testing.TB, o *Operator, steps []step, chunk int, base int) runResult {
	t.Helper()
	var res runResult
	out := record.NewBatch(o.w.Out, 16)
	idx := base
	for _, s := range steps {
		switch {
		case s.finish:
			if err := o.Finish(out); err != nil {
				t.Fatal(err)
			}
		case s.tick:
			if err := o.Tick(s.now, out); err != nil {
				t.Fatal(err)
			}
		default:
			evs := s.evs
			for len(evs) > 0 {
				n := len(evs)
				if chunk > 0 && n > chunk {
					n = chunk
				}
				at := idx
				err := o.Process(batchOf(evs[:n]), s.now, out,
					func(row int, _ string) { res.late = append(res.late, at+row) },
					func(row int, _ string) { res.bad = append(res.bad, at+row) })
				if err != nil {
					t.Fatal(err)
				}
				idx += n
				evs = evs[n:]
			}
		}
		if err := out.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	res.rows = rowStrings(out)
	return res
}

func (r runResult) String() string {
	return fmt.Sprintf("rows:\n  %s\nlate %v\nbad %v", strings.Join(r.rows, "\n  "), r.late, r.bad)
}

// buildWith builds src with plugin p against the input in; the second
// result is the diagnostics' text when they hold errors.
func buildWith(p *plugins.Plugin, src string, in record.Schema) (*Window, string) {
	c, diags := plugintest.Build(p, src, in)
	if diags.HasErrors() {
		return nil, diags.Error()
	}
	return c.(*Window), ""
}
