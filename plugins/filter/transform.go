package filter

import (
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// Transform is Process for the runner: the rows for which the condition is
// false are neither appended nor rejected.
func (f *Filter) Transform(in, out *record.Batch, reject func(row int, reason string)) {
	f.Process(in, out, reject)
}

var _ plugins.Transformer = (*Filter)(nil)
