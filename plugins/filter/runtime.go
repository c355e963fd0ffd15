package filter

import (
	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/record"
)

// Counts says what became of the rows of one batch: In = Kept + Filtered +
// Dead.
type Counts struct {
	In       int // rows of the input batch
	Kept     int // rows appended to the output: the condition is true
	Filtered int // rows dropped: the condition is false, or null (it read a null field and yielded nil, as SQL's WHERE NULL)
	Dead     int // rows handed to bad: the condition failed at run time
}

// Process appends to out the rows of in for which the condition is true,
// with all their columns, their kinds (an Update or a Delete stays one) and,
// when in tracks them, their origins. For a row
// whose condition fails at run time (an integer division by zero, an
// operation on a null field) it calls bad with the row's index in in and a
// reason in the pipeline's terms (an expression.RunError), such as
// `filter "where" at pipelines/x.hcl:12:14: field "price" is null in "price > 10"`,
// and does not append it. Rows for which the condition is false are dropped.
//
// in is only read; out must have the filter's schema (its input's) and is
// appended to, not reset. Process may be called from one goroutine at a
// time per out; separate calls on separate batches may run concurrently.
// f must have been built without errors.
func (f *Filter) Process(in, out *record.Batch, bad func(row int, reason string)) Counts {
	r := f.getRun()
	defer f.runs.Put(r)
	return f.process(r.e, in, out, bad)
}

// getRun takes a filterRun from the pool, or makes one with an evaluator
// of the condition whose errors name it.
func (f *Filter) getRun() *filterRun {
	if r, ok := f.runs.Get().(*filterRun); ok {
		return r
	}
	return &filterRun{e: f.Where.Evaluator(f.Input).Named(`filter "where"`)}
}

func (f *Filter) process(e *expression.Evaluator, in, out *record.Batch, bad func(row int, reason string)) Counts {
	c := Counts{In: in.Rows}
	e.Bind(in)
	// Rows are selected in chunks, then copied column by column.
	var buf [256]int32
	sel := buf[:0]
	for row := range in.Rows {
		keep, err := e.Bool(row)
		switch {
		case err != nil:
			c.Dead++
			bad(row, err.Error())
		case keep:
			c.Kept++
			sel = append(sel, int32(row))
			if len(sel) == cap(sel) {
				appendRows(out, in, sel)
				sel = sel[:0]
			}
		default:
			c.Filtered++
		}
	}
	appendRows(out, in, sel)
	return c
}

// appendRows appends the rows sel of in to out, a batch of the same schema,
// with their kinds.
func appendRows(out, in *record.Batch, sel []int32) {
	if len(sel) == 0 {
		return
	}
	out.AppendKinds(in, sel)
	for c := range in.Columns {
		out.Columns[c].AppendRows(&in.Columns[c], sel)
	}
	if len(in.Origins) > 0 {
		for _, row := range sel {
			out.Origins = append(out.Origins, in.Origins[row])
		}
	}
	out.Rows += len(sel)
}
