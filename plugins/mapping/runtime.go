package mapping

import (
	"fmt"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/expression"
)

// Counts says what became of the rows of one batch: In = Out + Dead.
type Counts struct {
	In   int // rows of the input batch
	Out  int // rows appended to the output
	Dead int // rows handed to bad: an expression failed at run time
}

// Process appends to out, a batch of schema m.Output(), one row per row of
// in: every `set` expression is evaluated on the input row (they do not see
// each other's results), replaced fields keep their place, new fields are
// appended, dropped fields are left out; each row keeps its kind (an
// Update or a Delete stays one); origins are copied when in tracks them.
//
// A value's type is the one its expression was checked to yield; the only
// run-time conversion is an integer result of a float expression, widened
// to float64. A null field read by an expression yields whatever expr-lang
// does with nil: `action ?? 'none'` works, most operations fail. When any
// expression of a row fails, Process calls bad with the row's index in in
// and a reason in the pipeline's terms (an expression.RunError), such as
// `map "ratio" at pipelines/x.hcl:9:13: division by zero in "10 % n"`, and
// appends nothing for that row.
//
// in is only read and out is appended to, not reset. m must have been built
// without errors.
func (m *Map) Process(in, out *record.Batch, bad func(row int, reason string)) Counts {
	r, _ := m.runs.Get().(*mapRun)
	if r == nil {
		r = &mapRun{evals: make([]*expression.Evaluator, len(m.Set)), from: m.sources()}
		for i, a := range m.Set {
			r.evals[i] = a.Value.Evaluator(m.Input).Named(fmt.Sprintf("map %q", a.Name))
		}
	}
	c := m.process(r.evals, r.from, in, out, bad)
	m.runs.Put(r)
	return c
}

// mapRun is what Process needs for a batch besides the batch: the
// evaluators of the assignments and where each output column comes from.
type mapRun struct {
	evals []*expression.Evaluator
	from  []int
}

// sources says where each output column j comes from: input column from >= 0, or
// set entry -from-1.
// The source's metadata columns follow, copied unchanged.
func (m *Map) sources() []int {
	outCols := m.Output().Columns
	from := make([]int, len(outCols), len(outCols)+len(m.Input.Meta))
	for j, c := range outCols {
		from[j] = m.Input.Index(c.Name)
		for s, a := range m.Set {
			if a.Name == c.Name {
				from[j] = -s - 1
			}
		}
	}
	for _, c := range m.Input.Meta {
		from = append(from, m.Input.MetaIndex(c.Name))
	}
	return from
}

func (m *Map) process(evals []*expression.Evaluator, from []int, in, out *record.Batch, bad func(row int, reason string)) Counts {
	c := Counts{In: in.Rows}
	for _, e := range evals {
		e.Bind(in)
	}
	kinds := len(in.Kinds) > 0 || len(out.Kinds) > 0 // else every row is an Insert: nothing to record
	var buf [16]expression.Value
	vals := buf[:0]
	if len(evals) > len(buf) {
		vals = make([]expression.Value, 0, len(evals))
	}
rows:
	for row := range in.Rows {
		vals = vals[:0]
		for _, e := range evals {
			v, err := e.Eval(row)
			if err != nil {
				c.Dead++
				bad(row, err.Error())
				continue rows
			}
			vals = append(vals, v)
		}
		for j, src := range from {
			dst := &out.Columns[j]
			if src < 0 {
				vals[-src-1].AppendTo(dst)
			} else {
				dst.AppendFrom(&in.Columns[src], row)
			}
		}
		if len(in.Origins) > 0 {
			out.Origins = append(out.Origins, in.Origins[row])
		}
		if kinds {
			out.AppendKind(in.Kind(row))
		}
		out.Rows++
		c.Out++
	}
	return c
}
