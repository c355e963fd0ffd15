package filter

import (
	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// Transform is Process for the runner: the rows for which the condition is
// false are neither appended nor rejected.
func (f *Filter) Transform(in, out *record.Batch, reject func(row int, reason string)) {
	f.Process(in, out, reject)
}

// TransformInPlace drops from b the rows for which the condition is false
// (plugins.InPlaceTransformer). When the condition fails for a row it
// changes nothing and reports false: Transform then rejects that row.
func (f *Filter) TransformInPlace(b *record.Batch) bool {
	r := f.getRun()
	defer f.runs.Put(r)
	r.e.Bind(b)
	r.sel = r.sel[:0]
	for row := range b.Rows {
		keep, err := r.e.Bool(row)
		if err != nil {
			return false
		}
		if keep {
			r.sel = append(r.sel, int32(row))
		}
	}
	if len(r.sel) < b.Rows {
		b.Keep(r.sel)
	}
	return true
}

// filterRun is what a filter needs for a batch besides the batch: the
// evaluator of its condition and, in place, the rows kept.
type filterRun struct {
	e   *expression.Evaluator
	sel []int32
}

var (
	_ plugins.Transformer        = (*Filter)(nil)
	_ plugins.InPlaceTransformer = (*Filter)(nil)
)
