package window

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/schema"
)

// argInput is the record schema of the argument tests: one field of each
// type, so that arguments mix them.
var argInput = record.Schema{Columns: []record.Column{
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "i", Type: record.ColumnInt},
	{Name: "j", Type: record.ColumnInt},
	{Name: "x", Type: record.ColumnFloat},
	{Name: "s", Type: record.ColumnString},
	{Name: "b", Type: record.ColumnBool},
}}

// argBatch returns rows at event times 0, 1, 2, ... (one per 1 ms window)
// with edge and random values and, one field in six, nulls (never ts).
func argBatch(r *rand.Rand, rows int) *record.Batch {
	ints := []int64{0, 1, -1, 2, 7, 255, math.MaxInt64, math.MinInt64}
	floats := []float64{0, -0.5, 1.5, 3, math.Inf(1), math.NaN(), 1e300}
	strs := []string{"", "a", "Click", "123", "4.5", "2h", "ÄÖü", "a,b,c"}
	b := record.NewBatch(argInput, rows)
	for row := range rows {
		b.Columns[0].AppendInt(int64(row))
		for c := 1; c < len(b.Columns); c++ {
			v := &b.Columns[c]
			if r.IntN(6) == 0 {
				v.AppendNull()
				continue
			}
			switch v.Type {
			case record.ColumnInt:
				v.AppendInt(ints[r.IntN(len(ints))])
			case record.ColumnFloat:
				v.AppendFloat(floats[r.IntN(len(floats))])
			case record.ColumnString:
				v.AppendString([]byte(strs[r.IntN(len(strs))]))
			case record.ColumnBool:
				v.AppendBool(r.IntN(2) == 0)
			}
		}
		b.Rows++
	}
	return b
}

// TestArgumentsDifferential checks that an aggregate's argument yields, row
// by row, what the same expression yields in a map (the typed evaluator,
// by its closures and by expr's VM), and fails on the same rows with the
// same problem. Each row is alone in a 1 ms window, so first(EXPR) is the
// argument's value for that row.
func TestArgumentsDifferential(t *testing.T) {
	exprs := []string{
		"i", "i + j", "i * 2 + j", "x * 2", "x + i", "i / j", "i % j", "7 % (i - 1)", "-i",
		"lower(s)", "s + '!'", "s ?? 'none'", "i ?? 0", "len(s)", "int(s)", "float(s)",
		"b && i > 0", "b ? s : 'no'", "ts", "abs(x)",
		// Left to the VM.
		"string(i)", "ts.Hour()", "ts.Month()", "max(x, i)", "min(i, x)", "split(s, ',')[1]",
		"duration(s).Seconds()", "upper(s[0:1])",
	}
	tumbling := Plugins()[0]
	for _, p := range Plugins() {
		if p.Name == string(Tumbling) {
			tumbling = p
		}
	}
	in := argBatch(rand.New(rand.NewPCG(5, 6)), 300)
	for _, src := range exprs {
		t.Run(src, func(t *testing.T) {
			w, diags := buildWith(tumbling, fmt.Sprintf("window \"tumbling\" {\n  event_time = \"ts\"\n  size = \"1ms\"\n  aggregate = { v = %q }\n}", "first("+src+")"), argInput)
			if diags != "" {
				t.Fatal(diags)
			}
			prog, ds := expression.Compile(schema.Text{Value: src}, argInput, "the argument")
			if ds.HasErrors() {
				t.Fatal(ds)
			}
			o, err := w.NewOperator(1, 0)
			if err != nil {
				t.Fatal(err)
			}
			out := record.NewBatch(w.Out, in.Rows)
			bad := map[int]string{}
			if err := o.Process(in, 0, out, nil, func(row int, reason string) { bad[row] = reason }); err != nil {
				t.Fatal(err)
			}
			if err := o.Finish(out); err != nil {
				t.Fatal(err)
			}
			got := map[int64]string{} // window start (the row) → value
			for r := range out.Rows {
				got[out.Columns[0].Ints[r]] = shownCell(&out.Columns[2], r)
			}
			for _, e := range []*expression.Evaluator{prog.Evaluator(argInput), prog.VMEvaluator(argInput)} {
				e.Bind(in)
				for row := range in.Rows {
					v, err := e.Eval(row)
					var re *expression.RunError
					switch {
					case err != nil && !errors.As(err, &re):
						t.Fatalf("row %d: %v is not a RunError", row, err)
					case err != nil:
						want := fmt.Sprintf(": %s in %q", re.Problem, src)
						if !strings.HasPrefix(bad[row], `window aggregate "v" at test.hcl:`) || !strings.HasSuffix(bad[row], want) {
							t.Fatalf("row %d (fast %v): window reason %q, want one ending %q", row, e.Fast(), bad[row], want)
						}
					default:
						vec := record.Vector{Type: prog.Type}
						v.AppendTo(&vec)
						if want := shownCell(&vec, 0); got[int64(row)] != want || bad[row] != "" {
							t.Fatalf("row %d (fast %v): window %q (bad %q), map %q", row, e.Fast(), got[int64(row)], bad[row], want)
						}
					}
				}
			}
		})
	}
}

// shownCell renders row r of v; floats by their bits, so that NaN and -0
// compare.
func shownCell(v *record.Vector, r int) string {
	switch {
	case v.IsNull(r):
		return "null"
	case v.Type == record.ColumnFloat:
		return fmt.Sprintf("%v/%x", v.Floats[r], math.Float64bits(v.Floats[r]))
	case v.Type == record.ColumnString:
		return fmt.Sprintf("%q", v.String(r))
	case v.Type == record.ColumnBool:
		return fmt.Sprint(v.Bools[r])
	}
	return fmt.Sprint(v.Ints[r])
}

// TestArgumentsPlainFields checks which arguments are read straight from
// their column (no expression evaluated) and which are evaluated.
func TestArgumentsPlainFields(t *testing.T) {
	w := buildWindow(t, Tumbling, `window "tumbling" {
  event_time = "ts"
  size = "10ms"
  aggregate = {
    n     = "count()"
    users = "count_distinct(user)"
    total = "sum(v)"
    twice = "sum(v * 2)"
    avg   = "avg(f)"
  }
}`)
	o, err := w.NewOperator(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := record.NewBatch(w.Out, 4)
	if err := o.Process(batchOf([]ev{{ts: 1, user: 3, v: 2, f: 0.5}, {ts: 2, user: 3, vNull: true}}), 0, out, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"n": false, "users": false, "total": false, "twice": true, "avg": false}
	for i, a := range w.Aggregates {
		if evaluated := o.args[i].eval != nil; evaluated != want[a.Name] {
			t.Errorf("%s: evaluated = %v, want %v", a.Name, evaluated, want[a.Name])
		}
	}
}
