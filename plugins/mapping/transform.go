package mapping

import (
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// Transform is Process for the runner.
func (m *Map) Transform(in, out *record.Batch, reject func(row int, reason string)) {
	m.Process(in, out, reject)
}

var _ plugins.Transformer = (*Map)(nil)
