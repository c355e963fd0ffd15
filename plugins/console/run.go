package console

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
)

var _ plugins.SinkOpener = (*Sink)(nil)

// Open returns a writer printing to standard output.
func (s *Sink) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Writer, error) {
	return s.writer(os.Stdout), nil
}

// writer returns a writer printing to out.
func (s *Sink) writer(out io.Writer) *writer {
	w := &writer{out: out, table: s.Format != FormatJSON, enc: ndjson.NewEncoder(s.Input)}
	if s.Input.Raw {
		w.names = []string{"payload"}
	} else {
		w.names = s.Input.Names()
		w.ops = &opPrinter{rec: record.WithOp(s.Input)}
		w.ops.enc = ndjson.NewEncoder(w.ops.rec)
		w.ops.names = w.ops.rec.Names()
	}
	return w
}

// opPrinter prints the batches holding updates or deletes with each row's
// kind in an op column.
type opPrinter struct {
	rec   record.Schema
	enc   *ndjson.Encoder
	names []string
	view  record.Batch
}

// writer prints each batch with one Write call on out, so that the batches
// of several sinks printing to the same terminal do not interleave.
type writer struct {
	out   io.Writer
	table bool
	enc   *ndjson.Encoder
	names []string // the table's column names
	ops   *opPrinter

	buf   []byte // the batch's output
	cells []byte // table: every cell's text, row by row
	ends  []int  // table: where each cell ends in cells
	width []int  // table: each column's width in runes
}

// Write prints every row of b.
func (w *writer) Write(ctx context.Context, b *record.Batch) error {
	if b.Rows == 0 {
		return nil
	}
	w.buf = w.buf[:0]
	enc, names := w.enc, w.names
	if w.ops != nil && b.HasChanges() {
		record.OpView(&w.ops.view, b, w.ops.rec)
		b, enc, names = &w.ops.view, w.ops.enc, w.ops.names
	}
	if w.table {
		w.appendTable(b, names)
	} else {
		for row := range b.Rows {
			w.buf = enc.AppendRow(w.buf, b, row)
			w.buf = append(w.buf, '\n')
		}
	}
	if _, err := w.out.Write(w.buf); err != nil {
		return fmt.Errorf("sink \"console\": %w", err)
	}
	return nil
}

// Close does nothing: every Write has been printed.
func (w *writer) Close() error { return nil }

// appendTable appends b as a table: a header, a separator, one line per
// row and a blank line. Numbers are aligned right, other values left.
func (w *writer) appendTable(b *record.Batch, names []string) {
	cols := len(names)
	w.width = w.width[:0]
	for _, name := range names {
		w.width = append(w.width, utf8.RuneCountInString(name))
	}
	w.cells, w.ends = w.cells[:0], w.ends[:0]
	for row := range b.Rows {
		for c := range cols {
			start := len(w.cells)
			w.cells = appendCell(w.cells, &b.Columns[c], row)
			w.ends = append(w.ends, len(w.cells))
			w.width[c] = max(w.width[c], utf8.RuneCount(w.cells[start:]))
		}
	}
	right := func(c int) bool { return !b.Schema.Raw && b.Schema.Columns[c].Type.Numeric() }

	for c, name := range names {
		w.buf = w.appendPadded(w.buf, c, []byte(name), right(c))
	}
	w.buf = trimLine(w.buf)
	for c := range cols {
		if c > 0 {
			w.buf = append(w.buf, ' ', ' ')
		}
		for range w.width[c] {
			w.buf = append(w.buf, '-')
		}
	}
	w.buf = append(w.buf, '\n')
	start := 0
	for i, end := range w.ends {
		c := i % cols
		w.buf = w.appendPadded(w.buf, c, w.cells[start:end], right(c))
		start = end
		if c == cols-1 {
			w.buf = trimLine(w.buf)
		}
	}
	w.buf = append(w.buf, '\n')
}

// appendPadded appends the text of a cell of column c padded to the
// column's width, after the gap that separates it from the previous one.
func (w *writer) appendPadded(dst []byte, c int, text []byte, right bool) []byte {
	if c > 0 {
		dst = append(dst, ' ', ' ')
	}
	pad := w.width[c] - utf8.RuneCount(text)
	if !right {
		dst = append(dst, text...)
	}
	for range pad {
		dst = append(dst, ' ')
	}
	if right {
		dst = append(dst, text...)
	}
	return dst
}

// trimLine removes the trailing spaces of the last line of dst and ends it.
func trimLine(dst []byte) []byte {
	n := len(dst)
	for n > 0 && dst[n-1] == ' ' {
		n--
	}
	return append(dst[:n], '\n')
}

// appendCell appends the text of value row of v for the table. Strings are
// printed as they are, unless they hold control characters or invalid
// UTF-8: then they are quoted, as Go quotes strings, to keep the table
// whole.
func appendCell(dst []byte, v *record.Vector, row int) []byte {
	if v.IsNull(row) {
		return append(dst, "null"...)
	}
	switch v.Type {
	case record.ColumnInt:
		return strconv.AppendInt(dst, v.Ints[row], 10)
	case record.ColumnFloat:
		f := v.Floats[row]
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.AppendFloat(dst, f, 'g', -1, 64) // NaN, +Inf, -Inf
		}
		return ndjson.AppendFloat(dst, f)
	case record.ColumnBool:
		return strconv.AppendBool(dst, v.Bools[row])
	case record.ColumnTimestamp:
		return ndjson.AppendTimestamp(dst, v.Ints[row])
	case record.ColumnString:
		s := v.String(row)
		if printable(s) {
			return append(dst, s...)
		}
		return strconv.AppendQuote(dst, s)
	}
	return dst
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}
