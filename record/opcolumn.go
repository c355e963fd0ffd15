package record

// A sink appending every row writes a changelog out, when asked to
// (changelog = true), as an op column: each row's kind by name, for a
// reader to fold the rows into the final results.

// OpColumn is the name of the column holding each row's kind.
const OpColumn = "op"

// WithOp returns rec with a string column OpColumn after its columns (and
// before its metadata columns).
func WithOp(rec Schema) Schema {
	out := rec
	out.Columns = append(append(make([]Column, 0, len(rec.Columns)+1), rec.Columns...), Column{Name: OpColumn, Type: ColumnString})
	return out
}

// OpView makes dst show the rows of b, whose schema is rec, with their
// kinds as the column WithOp(rec) adds: dst shares b's vectors and
// origins, and owns only the op column, reused from call to call.
func OpView(dst *Batch, b *Batch, rec Schema) {
	base := b.Schema.base()
	op := Vector{Type: ColumnString}
	if len(dst.Columns) > base && dst.Columns[base].Type == ColumnString {
		op = dst.Columns[base]
		op.Reset()
	}
	for i := range b.Rows {
		op.AppendText(b.Kind(i).String())
	}
	dst.Schema = rec
	dst.Rows = b.Rows
	dst.Origins = b.Origins
	dst.Kinds = b.Kinds
	dst.Columns = append(append(append(dst.Columns[:0], b.Columns[:base]...), op), b.Columns[base:]...)
}

// Logged returns the schema an appending sink writes for input: input
// itself, or WithOp(input) when it writes the changelog out.
func Logged(input Schema, changelog bool) Schema {
	if changelog {
		return WithOp(input)
	}
	return input
}

// LoggedRows returns b as an appending sink writes it: b itself, or, when
// it writes the changelog out, view made to show b with its op column
// (OpView over Logged(input, true)).
func LoggedRows(b, view *Batch, input Schema, changelog bool) *Batch {
	if !changelog {
		return b
	}
	OpView(view, b, WithOp(input))
	return view
}
