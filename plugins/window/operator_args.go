package window

import (
	"fmt"
	"math"

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
}

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
	eventTime int
	groupBy   []int
}

// bind finds the event time, group_by and plain field argument columns in
// rec, and makes the evaluators of the other arguments, unless rec is the
// schema bound last time. Process calls it first with the schema of its
// batch: the evaluators are bound to that batch on their first use.
func (o *Operator) bind(rec record.Schema) error {
	for i := range o.args {
		o.args[i].unread = true
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
	b := binding{cols: rec.Columns}
	// The event time may be a metadata column (pulsar.publish_time).
	i, col, ok := rec.Find(o.w.EventTime)
	if !ok {
		return fmt.Errorf("window: the input has no field %q (event_time)", o.w.EventTime)
	}
	if col.Type != record.ColumnTimestamp {
		return fmt.Errorf("window: event_time %q is %s, not a timestamp", o.w.EventTime, col.Type)
	}
	b.eventTime = i
	for _, g := range o.w.GroupBy {
		i, err := lookup(g, "group_by")
		if err != nil {
			return err
		}
		b.groupBy = append(b.groupBy, i)
	}
	for i := range o.args {
		a := &o.args[i]
		a.col, a.eval = -1, nil
		if a.ident != "" {
			if c := rec.Index(a.ident); c >= 0 && rec.Columns[c].Type == a.typ {
				a.col = c
			}
		}
		if a.slow() {
			a.eval = o.w.Aggregates[i].Arg.Evaluator(rec).Named(fmt.Sprintf("window aggregate %q", o.w.Aggregates[i].Name))
		}
	}
	o.bound = b
	return nil
}

// evalSlow evaluates the arguments that are expressions, not plain fields,
// for row into o.vals. The error is the expression's, in the pipeline's
// terms (an expression.RunError).
func (o *Operator) evalSlow(in *record.Batch, row int) error {
	for i := range o.args {
		a := &o.args[i]
		if a.eval == nil {
			continue
		}
		if a.unread {
			a.eval.Bind(in)
			a.unread = false
		}
		v, err := a.eval.Eval(row)
		if err != nil {
			return err
		}
		// v.Str stays valid until the next Eval of a.eval: add copies it.
		o.vals[i] = agg.Value{Type: a.typ, Null: v.Null, I: v.Int, F: v.Float, S: v.Str, B: v.Bool}
	}
	return nil
}

// add adds row (event time t) to the states of one group.
func (o *Operator) add(states []agg.State, in *record.Batch, row int, t int64) {
	for i := range o.args {
		a := &o.args[i]
		s := &states[i]
		switch {
		case a.prog == nil:
			s.AddNull(t)
		case a.col < 0:
			s.Add(o.vals[i], t)
		default:
			v := &in.Columns[a.col]
			if v.IsNull(row) {
				s.AddNull(t)
				continue
			}
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
		v := &in.Columns[c]
		if v.IsNull(row) {
			b = append(b, 0)
			continue
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
			for _, ch := range v.StringBytes(row) {
				b = append(b, ch)
				if ch == 0 {
					b = append(b, 0xFF)
				}
			}
			b = append(b, 0, 0)
		}
	}
	o.keyBuf = b
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

// emit appends one output row: the window, the group values decoded from
// key, the aggregate results, and final when the output has that column.
func (o *Operator) emit(out *record.Batch, start, end int64, key string, states []agg.State, final bool) {
	out.Columns[0].AppendInt(start)
	out.Columns[1].AppendInt(end)
	c := 2
	k := key
	for range o.w.GroupBy {
		v := &out.Columns[c]
		c++
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
	for i := range states {
		appendValue(&out.Columns[c], states[i].Result())
		c++
	}
	if !o.w.EmitOnClose {
		out.Columns[c].AppendBool(final)
	}
	out.Rows++
	o.stats.Emitted++
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
