package expression

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/sluice-io/sluice/record"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Value is the result of a Program for one row, already of the Program's
// Type: Int holds ints and timestamps (Unix milliseconds), Float floats, Str
// strings, Bool bools. Null is set when the program yielded nil, which only
// happens when it read a null field.
//
// Str may alias the evaluated batch or the evaluator's scratch memory: it is
// valid until the next call to Eval, Bool or Bind of the same Evaluator.
// AppendTo copies it.
type Value struct {
	Type  record.ColumnType
	Null  bool
	Int   int64
	Float float64
	Bool  bool
	Str   string
}

// AppendText appends the value as text for keys and ids: a string as it
// is, an int in decimal, a timestamp as Unix milliseconds, a float in its
// shortest decimal form, a bool as true or false; nothing for a null.
func (v Value) AppendText(dst []byte) []byte {
	if v.Null {
		return dst
	}
	switch v.Type {
	case record.ColumnString:
		return append(dst, v.Str...)
	case record.ColumnInt, record.ColumnTimestamp:
		return strconv.AppendInt(dst, v.Int, 10)
	case record.ColumnFloat:
		return strconv.AppendFloat(dst, v.Float, 'g', -1, 64)
	case record.ColumnBool:
		return strconv.AppendBool(dst, v.Bool)
	}
	return dst
}

// AppendTo appends the value to dst, a vector of the value's type.
func (v Value) AppendTo(dst *record.Vector) {
	switch {
	case v.Null:
		dst.AppendNull()
	case v.Type == record.ColumnInt || v.Type == record.ColumnTimestamp:
		dst.AppendInt(v.Int)
	case v.Type == record.ColumnFloat:
		dst.AppendFloat(v.Float)
	case v.Type == record.ColumnBool:
		dst.AppendBool(v.Bool)
	case v.Type == record.ColumnString:
		dst.AppendText(v.Str)
	}
}

// Evaluator runs one Program over the rows of batches of one schema. It is
// not safe for concurrent use: give each goroutine its own (they are cheap;
// the compiled form is shared).
//
// Two paths give the same results (a differential test holds them to it):
//
//   - The fast path runs closures compiled from the program's typed AST over
//     the batch's column vectors, without boxing values: field reads,
//     literals, comparisons, arithmetic, and/or/not, `in` over literal
//     arrays, `? :`, `??`, `matches` with a literal, contains/startsWith/
//     endsWith and the builtins lower, upper, trim, trimPrefix, trimSuffix,
//     hasPrefix, hasSuffix, len, abs, int and float on fast-path types.
//   - The slow path runs expr's VM with one env map, owned by the evaluator
//     and refilled for every row with the fields the program reads. It is
//     used for programs with any other construct (method calls such as
//     ts.Hour(), now(), durations, ...), and for every row in which a field
//     the program reads is null: the field is nil in the env, and the VM
//     decides (`x ?? 'default'` works; most operators fail on nil, which is
//     a run-time error for that row).
//
// A run-time failure is a *RunError in the pipeline's terms (the field that
// is null, the division by zero, the string int() could not convert), never
// a message of Go's or expr's run time.
type Evaluator struct {
	prog  *Program
	plan  *plan  // nil: always the VM
	stage string // names the expression in errors; see Named

	f        frame
	nullable []int // columns read by the fast path that have nulls in the bound batch
	env      map[string]any
	machine  vm.VM
}

// plan is the compiled, immutable part of an evaluator, shared by every
// evaluator of one program and input schema.
type plan struct {
	in    record.Schema
	root  closure     // k == kindNone: no fast path
	reads []int       // columns the fast path reads
	env   []int       // columns the VM env gets
	meta  []namespace // metadata namespaces the VM env gets
}

// Evaluator returns an evaluator of p over batches with schema in, which
// must be the schema p was compiled against.
func (p *Program) Evaluator(in record.Schema) *Evaluator {
	return &Evaluator{prog: p, plan: planFor(p, in)}
}

// VMEvaluator returns an evaluator of p that always uses expr's VM. It is
// meant for tests and benchmarks that compare the two paths.
func (p *Program) VMEvaluator(in record.Schema) *Evaluator {
	pl := *planFor(p, in)
	pl.root = closure{}
	return &Evaluator{prog: p, plan: &pl}
}

// Named sets how run-time errors name the expression: the block and the
// argument it is written in, such as `filter "where"` or `map "total"`.
// Errors of an evaluator that is not named begin with "expression". Named
// returns e.
func (e *Evaluator) Named(stage string) *Evaluator {
	e.stage = stage
	return e
}

// Fast reports whether the evaluator has a fast path (rows reading a null
// field still take the VM).
func (e *Evaluator) Fast() bool { return e.plan.root.k != kindNone }

// plans caches the compiled form of programs by program, without keeping
// programs alive.
var plans sync.Map // weak.Pointer[Program] → *plan

func planFor(p *Program, in record.Schema) *plan {
	key := weak.Make(p)
	if v, ok := plans.Load(key); ok && sameRecord(v.(*plan).in, in) {
		return v.(*plan)
	}
	pl := newPlan(p, in)
	if _, loaded := plans.LoadOrStore(key, pl); !loaded {
		runtime.AddCleanup(p, func(k weak.Pointer[Program]) { plans.Delete(k) }, key)
	}
	return pl
}

func sameRecord(a, b record.Schema) bool {
	return a.Raw == b.Raw && slices.Equal(a.Columns, b.Columns) && slices.Equal(a.Meta, b.Meta)
}

func newPlan(p *Program, in record.Schema) *plan {
	pl := &plan{in: in}
	root := p.VM.Node()
	c := closureCompiler{in: in}
	if cl, ok := c.compile(root); ok && columnKind(p.Type) == cl.k {
		pl.root, pl.reads = cl, c.reads
	}
	// The VM env: every field the program names, or all of them when it
	// reaches the env as a whole ($env).
	all := false
	seen := map[int]bool{}
	names := map[string]bool{}
	ast.Find(root, func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok {
			if id.Value == "$env" {
				all = true
			} else if i := in.Index(id.Value); i >= 0 && !seen[i] {
				seen[i] = true
				pl.env = append(pl.env, i)
			} else if i < 0 {
				names[id.Value] = true
			}
		}
		return false
	})
	if all {
		pl.env = pl.env[:0]
		for i := range in.Columns {
			pl.env = append(pl.env, i)
		}
	}
	for _, ns := range namespaces(in) {
		if (all || names[ns.name]) && in.Index(ns.name) < 0 {
			pl.meta = append(pl.meta, ns)
		}
	}
	return pl
}

// Bind makes the evaluator read b, whose schema must be the evaluator's
// input schema. Bind again when b changes (rows appended, Reset).
func (e *Evaluator) Bind(b *record.Batch) {
	if len(b.Columns) != e.plan.in.Width() {
		panic(fmt.Sprintf("expression: batch %s bound to an evaluator of %s", b.Schema, e.plan.in))
	}
	e.f.cols = b.Columns
	e.nullable = e.nullable[:0]
	for _, c := range e.plan.reads {
		if b.Columns[c].Nulls != nil {
			e.nullable = append(e.nullable, c)
		}
	}
}

// hasNull reports whether a column the fast path reads is null in row.
func (e *Evaluator) hasNull(row int) bool {
	for _, c := range e.nullable {
		if e.f.cols[c].Nulls[row] {
			return true
		}
	}
	return false
}

// Eval evaluates the program for row of the bound batch. A run-time failure
// (an integer division by zero, an operation on a null field, a failed
// conversion) is returned as a *RunError for that row; Eval never panics.
//
// The result has the Program's Type. When the VM yields a value of another
// Go type, an integer (of any Go integer type, such as time.Month) is
// converted to an int or a float program's value and a float to a float
// program's; any other mismatch is an error (expr types min(1, price) as
// an int, yet it may yield a float).
func (e *Evaluator) Eval(row int) (Value, error) {
	root := &e.plan.root
	if root.k == kindNone || e.hasNull(row) {
		return e.evalVM(row)
	}
	f := &e.f
	f.row, f.err, f.scratch = row, nil, f.scratch[:0]
	v := Value{Type: e.prog.Type}
	switch root.k {
	case kindInt:
		v.Int = int64(root.i(f))
	case kindFloat:
		v.Float = root.f(f)
	case kindString:
		v.Str = root.s(f)
	case kindBool:
		v.Bool = root.b(f)
	case kindTime:
		v.Int = root.t(f)
	}
	if f.err != nil {
		return Value{}, runError(e.prog, e.stage, f.err, nil)
	}
	return v, nil
}

// Bool evaluates a bool program for row. A null result (the condition read
// a null field and yielded nil) is false, as a SQL WHERE treats NULL.
func (e *Evaluator) Bool(row int) (bool, error) {
	root := &e.plan.root
	if root.k == kindBool && !e.hasNull(row) {
		f := &e.f
		f.row, f.err, f.scratch = row, nil, f.scratch[:0]
		b := root.b(f)
		if f.err != nil {
			return false, runError(e.prog, e.stage, f.err, nil)
		}
		return b, nil
	}
	v, err := e.Eval(row)
	if err != nil {
		return false, err
	}
	if v.Type != record.ColumnBool {
		return false, runError(e.prog, e.stage, plainProblem(fmt.Sprintf("the condition yields %s, not bool", article(v.Type))), nil)
	}
	return v.Bool && !v.Null, nil
}

// evalVM is the slow path: it fills the evaluator's env with the fields of
// row and runs the VM, turning any panic into an error.
func (e *Evaluator) evalVM(row int) (v Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = Value{}, runError(e.prog, e.stage, fmt.Errorf("%v", r), e.nullFields(row))
		}
	}()
	if e.env == nil {
		e.env = make(map[string]any, len(e.plan.env))
	}
	for _, c := range e.plan.env {
		e.env[e.plan.in.Columns[c].Name] = box(&e.f.cols[c], row)
	}
	for i := range e.plan.meta {
		ns := &e.plan.meta[i]
		e.env[ns.name] = ns.value(e.f.cols, row)
	}
	out, err := e.machine.Run(e.prog.VM, e.env)
	if err != nil {
		return Value{}, runError(e.prog, e.stage, err, e.nullFields(row))
	}
	v, err = convert(out, e.prog.Type)
	if err != nil {
		return Value{}, runError(e.prog, e.stage, err, nil)
	}
	return v, nil
}

// nullFields returns the names of the fields read by the program that are
// null in row: the VM sees them as nil, and most operations fail on nil.
func (e *Evaluator) nullFields(row int) []string {
	var names []string
	for _, c := range e.plan.env {
		if e.f.cols[c].IsNull(row) {
			names = append(names, e.plan.in.Columns[c].Name)
		}
	}
	return names
}

// box returns value row of v as the Go value expressions see, nil when null.
func box(v *record.Vector, row int) any {
	if v.IsNull(row) {
		return nil
	}
	switch v.Type {
	case record.ColumnInt:
		return int(v.Ints[row])
	case record.ColumnFloat:
		return v.Floats[row]
	case record.ColumnString:
		return v.String(row)
	case record.ColumnBool:
		return v.Bools[row]
	case record.ColumnTimestamp:
		return time.UnixMilli(v.Ints[row]).UTC()
	}
	return nil
}

// vmError reduces a VM error to its message: the VM adds the source and a
// caret, which a dead-letter reason does not need, and Go's "runtime error: "
// prefix.
func vmError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return errors.New(strings.TrimPrefix(fe.Message, "runtime error: "))
	}
	return err
}

// convert turns a VM result into a Value of type t. The error is told in
// the pipeline's terms.
func convert(out any, t record.ColumnType) (Value, error) {
	v := Value{Type: t}
	if out == nil {
		v.Null = true
		return v, nil
	}
	ok := true
	switch t {
	case record.ColumnInt:
		v.Int, ok = integer(out)
	case record.ColumnFloat:
		if x, isFloat := floating(out); isFloat {
			v.Float = x
		} else {
			var i int64
			i, ok = integer(out)
			v.Float = float64(i)
		}
	case record.ColumnString:
		v.Str, ok = out.(string)
	case record.ColumnBool:
		v.Bool, ok = out.(bool)
	case record.ColumnTimestamp:
		var ts time.Time
		ts, ok = out.(time.Time)
		v.Int = ts.UnixMilli()
	default:
		ok = false
	}
	if !ok {
		return Value{}, plainProblem(fmt.Sprintf("the result %s is %s, but the expression was checked to yield %s: convert it with int(), float() or string()",
			shownResult(out), kindOfGoType(reflect.TypeOf(out).String()), article(t)))
	}
	return v, nil
}

// shownResult renders a VM result in a message, strings quoted.
func shownResult(out any) string {
	if s, ok := out.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(out)
}

// article names a record type with its article: "an int", "a float".
func article(t record.ColumnType) string {
	if t == record.ColumnInt {
		return "an int"
	}
	return "a " + t.String()
}

// integer returns x as an int64 when it is of a Go integer type, named
// types such as time.Month included.
func integer(x any) (int64, bool) {
	switch x := x.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	}
	r := reflect.ValueOf(x)
	switch r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return r.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(r.Uint()), true
	}
	return 0, false
}

// floating returns x as a float64 when it is of a Go float type.
func floating(x any) (float64, bool) {
	if f, ok := x.(float64); ok {
		return f, true
	}
	r := reflect.ValueOf(x)
	switch r.Kind() {
	case reflect.Float32, reflect.Float64:
		return r.Float(), true
	}
	return 0, false
}
