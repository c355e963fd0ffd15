package window

import (
	"bytes"
	"fmt"
	"math"
	"unsafe"

	"github.com/sluice-io/sluice/record"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins/window/agg"
)

// argument is how the operator gets one aggregate's argument for a row.
//
// An argument that is a plain field reference (the common
// count_distinct(user_id)) is read straight from its input column, col: no
// expression is evaluated. Any other argument is evaluated by eval, the
// typed evaluator of internal/expression that filter and map use (closures
// over the column vectors, expr's VM for the rest), so that an argument
// yields what the same expression yields in a map, and fails with the same
// message. count() has neither.
type argument struct {
	fn    agg.Func
	typ   record.ColumnType // the argument's type; ColumnInvalid for count()
	ident string            // the field name when the argument is one
	prog  *vm.Program       // the compiled argument; nil for count()
	col   int               // input column of a plain field argument, or -1

	eval   *expression.Evaluator // the evaluator of any other argument, over the bound schema
	unread bool                  // eval is not bound to the batch of this Process call yet

	// by is the second argument of max_by(x, by) and min_by(x, by), and
	// the keep expression of a window that keeps records; nil otherwise.
	by *argument
	// row is set when x is the whole input record, encoded (keep without
	// aggregates): the operator encodes it in o.rowBuf.
	row bool
	// op is how add adds the argument, set when it is bound.
	op argOp
}

// argOp is how add adds an argument: the common cases without going
// through every case of addOne.
type argOp uint8

const (
	opAny    argOp = iota // addOne
	opCount               // count()
	opIntCol              // a plain int or timestamp field
)

// slow reports whether the argument is an expression to evaluate.
func (a *argument) slow() bool { return a.prog != nil && a.col < 0 }

// identifier returns the field name when p is a bare field reference.
func identifier(p *vm.Program) string {
	if p == nil {
		return ""
	}
	if id, ok := p.Node().(*ast.IdentifierNode); ok {
		return id.Value
	}
	return ""
}

// binding is where the operator finds its fields in the input schema.
type binding struct {
	cols      []record.Column // the schema bound to, compared by identity
	eventTime int             // -1 for processing time
	groupBy   []int
	probeCol  int   // the column probed raw (rawProbeColumn), or -1
	fields    []int // keep without aggregates: the input column of each output column after window_end
	evaluated bool  // some argument is an expression to evaluate (evalSlow has work)
}

// bind finds the event time, group_by and plain field argument columns in
// rec, and makes the evaluators of the other arguments, unless rec is the
// schema bound last time. Process calls it first with the schema of its
// batch: the evaluators are bound to that batch on their first use.
func (o *Operator) bind(rec record.Schema) error {
	for i := range o.args {
		o.args[i].unread = true
		if o.args[i].by != nil {
			o.args[i].by.unread = true
		}
	}
	if b := &o.bound; len(b.cols) > 0 && len(rec.Columns) == len(b.cols) && &rec.Columns[0] == &b.cols[0] {
		return nil
	}
	lookup := func(name, what string) (int, error) {
		i := rec.Index(name)
		if i < 0 {
			return -1, fmt.Errorf("window: the input has no field %q (%s)", name, what)
		}
		return i, nil
	}
	b := binding{cols: rec.Columns, eventTime: -1}
	if !o.w.ProcessingTime {
		// The event time may be a metadata column (pulsar.publish_time).
		i, col, ok := rec.Find(o.w.EventTime)
		if !ok {
			return fmt.Errorf("window: the input has no field %q (event_time)", o.w.EventTime)
		}
		if col.Type != record.ColumnTimestamp {
			return fmt.Errorf("window: event_time %q is %s, not a timestamp", o.w.EventTime, col.Type)
		}
		b.eventTime = i
	}
	for _, g := range o.w.GroupBy {
		i, err := lookup(g, "group_by")
		if err != nil {
			return err
		}
		b.groupBy = append(b.groupBy, i)
	}
	b.probeCol = o.rawProbeColumn(rec, b.groupBy)
	if o.w.Keep != nil && o.w.Keep.Arg != nil {
		for _, c := range o.w.Out.Columns[2:] {
			i := rec.Index(c.Name)
			if i < 0 || rec.Columns[i].Type != c.Type {
				return fmt.Errorf("window: the input has no %s field %q (keep)", c.Type, c.Name)
			}
			b.fields = append(b.fields, i)
		}
		o.args[0].by.bindTo(rec, o.w.Keep.Arg, "window keep")
	}
	for i := range o.args {
		a := &o.args[i]
		if a.row {
			continue
		}
		name := fmt.Sprintf("window aggregate %q", o.w.Aggregates[i].Name)
		a.bindTo(rec, o.w.Aggregates[i].Arg, name)
		if a.by != nil {
			a.by.bindTo(rec, o.w.Aggregates[i].By, name)
		}
	}
	for i := range o.args {
		a := &o.args[i]
		b.evaluated = b.evaluated || a.eval != nil || a.by != nil && a.by.eval != nil
	}
	o.bound = b
	return nil
}

// bindTo finds a plain field argument's column in rec, or makes the
// evaluator of prog over rec, named name in its errors.
func (a *argument) bindTo(rec record.Schema, prog *expression.Program, name string) {
	a.col, a.eval = -1, nil
	if a.ident != "" {
		if c := rec.Index(a.ident); c >= 0 && rec.Columns[c].Type == a.typ {
			a.col = c
		}
	}
	if a.slow() {
		a.eval = prog.Evaluator(rec).Named(name)
	}
	a.op = opAny
	switch {
	case a.row || a.by != nil:
	case a.prog == nil:
		a.op = opCount
	case a.col >= 0 && (a.typ == record.ColumnInt || a.typ == record.ColumnTimestamp):
		a.op = opIntCol
	}
}

// evalSlow evaluates the arguments that are expressions, not plain fields,
// for row into o.vals. The error is the expression's, in the pipeline's
// terms (an expression.RunError).
func (o *Operator) evalSlow(in *record.Batch, row int) error {
	if !o.bound.evaluated {
		return nil
	}
	for i := range o.args {
		a := &o.args[i]
		if err := a.evalInto(in, row, &o.vals[i]); err != nil {
			return err
		}
		if a.by != nil {
			if err := a.by.evalInto(in, row, &o.byVals[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// evalInto evaluates an expression argument for row into v; it does
// nothing for a plain field or count().
func (a *argument) evalInto(in *record.Batch, row int, v *agg.Value) error {
	if a.eval == nil {
		return nil
	}
	if a.unread {
		a.eval.Bind(in)
		a.unread = false
	}
	r, err := a.eval.Eval(row)
	if err != nil {
		return err
	}
	// r.Str stays valid until the next Eval of a.eval: add copies it.
	*v = agg.Value{Type: a.typ, Null: r.Null, I: r.Int, F: r.Float, S: r.Str, B: r.Bool}
	return nil
}

// read returns the argument of row: the evaluated value slow, or the
// value of its plain field column. Strings point into in.
func (a *argument) read(in *record.Batch, row int, slow agg.Value) agg.Value {
	if a.col < 0 {
		return slow
	}
	c := &in.Columns[a.col]
	v := agg.Value{Type: a.typ}
	switch {
	case c.IsNull(row):
		v.Null = true
	case a.typ == record.ColumnFloat:
		v.F = c.Floats[row]
	case a.typ == record.ColumnString:
		v.S = c.String(row)
	case a.typ == record.ColumnBool:
		v.B = c.Bools[row]
	default:
		v.I = c.Ints[row]
	}
	return v
}

// add adds row (event time t) to the states of one group.
func (o *Operator) add(states []agg.State, in *record.Batch, row int, t int64) {
	for i := range o.args {
		a := &o.args[i]
		s := &states[i]
		switch a.op {
		case opCount:
			s.AddNull(t)
		case opIntCol:
			if v := &in.Columns[a.col]; v.IsNull(row) {
				s.AddNull(t)
			} else {
				s.AddInt(v.Ints[row], t)
			}
		default:
			o.addOne(a, s, i, in, row, t)
		}
	}
}

// addOne adds row (event time t) to state s of argument a, number i.
func (o *Operator) addOne(a *argument, s *agg.State, i int, in *record.Batch, row int, t int64) {
	switch {
	case a.row:
		o.rowBuf = o.appendRow(o.rowBuf[:0], in, row)
		// AddPair copies what it keeps: the encoded row need not be a string of its own.
		enc := unsafe.String(unsafe.SliceData(o.rowBuf), len(o.rowBuf))
		s.AddPair(agg.Value{Type: record.ColumnString, S: enc}, a.by.read(in, row, o.byVals[i]))
	case a.by != nil:
		s.AddPair(a.read(in, row, o.vals[i]), a.by.read(in, row, o.byVals[i]))
	case a.prog == nil:
		s.AddNull(t)
	case a.col < 0:
		s.Add(o.vals[i], t)
	case in.Columns[a.col].IsNull(row):
		s.AddNull(t)
	default:
		v := &in.Columns[a.col]
		switch a.typ {
		case record.ColumnInt, record.ColumnTimestamp:
			s.AddInt(v.Ints[row], t)
		case record.ColumnFloat:
			s.AddFloat(v.Floats[row], t)
		case record.ColumnString:
			s.AddString(v.String(row), t)
		case record.ColumnBool:
			s.AddBool(v.Bools[row], t)
		}
	}
}

// Group keys are encoded in o.keyBuf so that comparing encodings as byte
// strings orders groups as documented on Operator: per column a 0 byte for
// null, or a 1 byte followed by the value — 8 big-endian bytes for ints and
// timestamps (sign bit flipped) and floats (IEEE bits, flipped to sort), one
// byte for bools, and for strings the bytes with 0x00 escaped as 0x00 0xFF,
// ended by 0x00 0x00.

// groupKey encodes the group key of row into o.keyBuf.
func (o *Operator) groupKey(in *record.Batch, row int) {
	b := o.keyBuf[:0]
	for _, c := range o.bound.groupBy {
		b = appendKey(b, &in.Columns[c], row)
	}
	o.keyBuf = b
}

// appendRow appends the encoding of every field of row that a window
// keeping records emits, in output order (the group key encoding, over
// all of them).
func (o *Operator) appendRow(b []byte, in *record.Batch, row int) []byte {
	for _, c := range o.bound.fields {
		b = appendKey(b, &in.Columns[c], row)
	}
	return b
}

// appendKey appends the encoding of the value of v at row.
func appendKey(b []byte, v *record.Vector, row int) []byte {
	if v.IsNull(row) {
		return append(b, 0)
	}
	b = append(b, 1)
	switch v.Type {
	case record.ColumnInt, record.ColumnTimestamp:
		b = appendUint64(b, uint64(v.Ints[row])^(1<<63))
	case record.ColumnFloat:
		b = appendUint64(b, floatKey(v.Floats[row]))
	case record.ColumnBool:
		if v.Bools[row] {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case record.ColumnString:
		s := v.StringBytes(row)
		for {
			z := bytes.IndexByte(s, 0)
			if z < 0 {
				break
			}
			b = append(b, s[:z+1]...)
			b = append(b, 0xFF)
			s = s[z+1:]
		}
		b = append(b, s...)
		b = append(b, 0, 0)
	}
	return b
}

// floatKey maps f to a uint64 whose order is f's total order, with -0 as 0
// and every NaN as one value above +Inf.
func floatKey(f float64) uint64 {
	if f == 0 {
		f = 0
	}
	if f != f {
		f = math.NaN()
	}
	u := math.Float64bits(f)
	if u>>63 == 1 {
		return ^u
	}
	return u | 1<<63
}

func floatFromKey(u uint64) float64 {
	if u>>63 == 1 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}

func appendUint64(b []byte, u uint64) []byte {
	return append(b, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32), byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

func readUint64(b string) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// emitGroup appends the row of the (window, group) c: the window, the
// group values decoded from its key, the aggregate results, the revision
// with allowed lateness and final when the output has that column. It is
// an Insert when it is the first row of (window_start, group), an Update
// with the next revision after that. A window keeping records emits one
// row per kept record instead: the window, then the record's fields; a
// combiner, its partial row.
func (o *Operator) emitGroup(out *record.Batch, c *closing, final bool) {
	g := c.g
	if o.partial {
		o.emitPartial(out, c.start, c.end, g.key, g.states)
		return
	}
	if o.w.Keep != nil && o.w.Keep.Arg != nil {
		for _, r := range g.states[0].Ties() {
			out.Columns[0].AppendInt(c.start)
			out.Columns[1].AppendInt(c.end)
			o.decodeKey(out.Columns[2:], r)
			out.Rows++
			o.stats.Emitted++
		}
		return
	}
	o.appendHead(out, c.start, c.end, g.key)
	col := 2 + len(o.w.GroupBy)
	if c.s != nil && o.keepsSent {
		// Remember the row: a Delete may have to withdraw it.
		sent := o.sent[c.s.id]
		if sent == nil {
			sent = &sentRow{vals: make([]agg.Value, 0, len(g.states))}
			o.sent[c.s.id] = sent
		}
		sent.end, sent.vals = c.end, sent.vals[:0]
		for i := range g.states {
			v := g.states[i].Result()
			sent.vals = append(sent.vals, v)
			appendValue(&out.Columns[col+i], v)
		}
	} else {
		for i := range g.states {
			appendValue(&out.Columns[col+i], g.states[i].Result())
		}
	}
	kind := record.Insert
	if g.rows > 0 {
		kind = record.Update
	}
	o.appendTail(out, col+len(g.states), kind, g.rows, final)
	g.rows++
}

// appendHead appends the start of a row: window_start, window_end and the
// group values decoded from key.
func (o *Operator) appendHead(out *record.Batch, start, end int64, key string) {
	out.Columns[0].AppendInt(start)
	out.Columns[1].AppendInt(end)
	o.decodeKey(out.Columns[2:2+len(o.w.GroupBy)], key)
}

// appendTail ends a row whose aggregates are appended, from output column
// col on: the revision with allowed lateness, final with emit = "every D",
// then its kind.
func (o *Operator) appendTail(out *record.Batch, col int, kind record.RowKind, rev int64, final bool) {
	if o.lateness > 0 {
		out.Columns[col].AppendInt(rev)
		col++
	}
	if !o.w.EmitOnClose {
		out.Columns[col].AppendBool(final)
	}
	out.AppendKind(kind)
	out.Rows++
	o.stats.Emitted++
}

// decodeKey appends the values encoded in k (see groupKey) to cols, one
// value per column.
func (o *Operator) decodeKey(cols []record.Vector, k string) {
	for c := range cols {
		v := &cols[c]
		if k[0] == 0 {
			v.AppendNull()
			k = k[1:]
			continue
		}
		k = k[1:]
		switch v.Type {
		case record.ColumnInt, record.ColumnTimestamp:
			v.AppendInt(int64(readUint64(k[:8]) ^ (1 << 63)))
			k = k[8:]
		case record.ColumnFloat:
			v.AppendFloat(floatFromKey(readUint64(k[:8])))
			k = k[8:]
		case record.ColumnBool:
			v.AppendBool(k[0] == 1)
			k = k[1:]
		case record.ColumnString:
			s := o.strBuf[:0]
			i := 0
			for ; ; i++ {
				if k[i] == 0 {
					if k[i+1] == 0 {
						break
					}
					i++ // 0x00 0xFF is an escaped 0x00
					s = append(s, 0)
					continue
				}
				s = append(s, k[i])
			}
			v.AppendString(s)
			o.strBuf = s
			k = k[i+2:]
		}
	}
}

// appendValue appends an aggregate result to its output column.
func appendValue(v *record.Vector, r agg.Value) {
	if r.Null {
		v.AppendNull()
		return
	}
	switch v.Type {
	case record.ColumnInt, record.ColumnTimestamp:
		v.AppendInt(r.I)
	case record.ColumnFloat:
		v.AppendFloat(r.F)
	case record.ColumnBool:
		v.AppendBool(r.B)
	case record.ColumnString:
		v.AppendString([]byte(r.S))
	default:
		v.AppendNull()
	}
}
