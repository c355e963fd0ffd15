package parse

import (
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// Transform is Parse for the runner. The rows it rejects are the messages
// that did not parse; the runner applies OnError to them.
func (j *JSON) Transform(in, out *record.Batch, reject func(row int, reason string)) {
	j.Parse(in, out, reject)
}

// Transform is Parse for the runner. With Header = true the first row of
// the stream is consumed as the header: neither appended nor rejected.
func (c *CSV) Transform(in, out *record.Batch, reject func(row int, reason string)) {
	c.Parse(in, out, reject)
}

// ErrorPolicy returns what happens to a message that does not parse.
func (j *JSON) ErrorPolicy() OnError { return j.OnError }

// ErrorPolicy returns what happens to a message that does not parse.
func (c *CSV) ErrorPolicy() OnError { return c.OnError }

var (
	_ plugins.Transformer = (*JSON)(nil)
	_ plugins.Transformer = (*CSV)(nil)
)

// StartStream returns a stream of c with state of its own, for one run:
// with Header = true it reads the header from the first line it is given,
// so it must see the batches in order.
func (c *CSV) StartStream() (plugins.Transformer, bool) {
	return &csvStream{csv: c, st: newCSVState(c)}, c.Header
}

// csvStream is one run's CSV parser: the configuration and the stream state
// (the header mapping) of that run only.
type csvStream struct {
	csv *CSV
	st  *csvState
}

func (s *csvStream) Output() record.Schema { return s.csv.Output() }

func (s *csvStream) Transform(in, out *record.Batch, reject func(row int, reason string)) {
	s.st.parse(in, out, reject)
}

var _ plugins.Sequential = (*CSV)(nil)
