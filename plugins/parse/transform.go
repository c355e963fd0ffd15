package parse

import (
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Transform is Parse for the runner. The rows it rejects are the messages
// that did not parse; the runner applies OnError to them.
func (j *JSON) Transform(in, out *schema.Batch, reject func(row int, reason string)) {
	j.Parse(in, out, reject)
}

// Transform is Parse for the runner. With Header = true the first row of
// the stream is consumed as the header: neither appended nor rejected.
func (c *CSV) Transform(in, out *schema.Batch, reject func(row int, reason string)) {
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

// InOrder reports whether the parser must see the stream's batches in
// order: with Header = true the first line is the header.
func (c *CSV) InOrder() bool { return c.Header }
