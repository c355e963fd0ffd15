package expression

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/expr-lang/expr/ast"
)

// This file compiles the typed, optimized AST of an expr-lang program into Go
// closures over the column vectors of a batch: the fast path of an
// Evaluator. Every node kind handled here reproduces what expr's VM does for
// the same static types (see vm/runtime in expr-lang): int arithmetic wraps,
// `/` always yields a float, `%` by zero is an error, mixed int/float
// operands are compared and combined as floats, `and`/`or` short-circuit.
// A program with any other node kind or type is left to the VM.

// kind is the Go type of a value inside the fast path.
type kind uint8

const (
	kindNone   kind = iota
	kindInt         // Go int
	kindFloat       // float64
	kindString      // string
	kindBool        // bool
	kindTime        // time.Time, carried as Unix milliseconds
)

var (
	intType    = reflect.TypeOf(0)
	floatType  = reflect.TypeOf(0.0)
	stringType = reflect.TypeOf("")
	boolType   = reflect.TypeOf(false)
	timeType   = reflect.TypeOf(time.Time{})
)

// kindOf maps the static type expr inferred for a node to a fast-path kind;
// kindNone for every other type (durations, int64, unknown, ...).
func kindOf(t reflect.Type) kind {
	switch t {
	case intType:
		return kindInt
	case floatType:
		return kindFloat
	case stringType:
		return kindString
	case boolType:
		return kindBool
	case timeType:
		return kindTime
	}
	return kindNone
}

// columnKind is the fast-path kind of a record field type.
func columnKind(t record.ColumnType) kind {
	switch t {
	case record.ColumnInt:
		return kindInt
	case record.ColumnFloat:
		return kindFloat
	case record.ColumnString:
		return kindString
	case record.ColumnBool:
		return kindBool
	case record.ColumnTimestamp:
		return kindTime
	}
	return kindNone
}

// frame is the mutable state of one evaluation: the bound columns, the row,
// the first run-time error and a scratch arena for strings built in the row.
type frame struct {
	cols    []record.Vector
	row     int
	err     error
	scratch []byte
}

// fail records err unless an earlier error is recorded. Closures keep going
// after an error with zero values; the row's result is the error.
func (f *frame) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

// errDivideByZero is the error of `%` with a zero divisor; the VM panics
// with Go's "runtime error: integer divide by zero" (see vmError).
var errDivideByZero = errors.New("integer divide by zero")

// closure is a compiled node: exactly the function matching k is set.
type closure struct {
	k kind
	i func(*frame) int
	f func(*frame) float64
	s func(*frame) string
	b func(*frame) bool
	t func(*frame) int64
	// konst is the value of a literal, nil for anything else.
	konst any
}

// float returns the node as a float function, converting ints as expr does.
func (c closure) float() func(*frame) float64 {
	if c.k == kindInt {
		i := c.i
		return func(fr *frame) float64 { return float64(i(fr)) }
	}
	return c.f
}

// closureCompiler turns an AST into closures against one input schema and
// remembers which columns the closures read.
type closureCompiler struct {
	in    record.Schema
	reads []int
}

func (c *closureCompiler) read(col int) {
	for _, r := range c.reads {
		if r == col {
			return
		}
	}
	c.reads = append(c.reads, col)
}

// compile returns the closure for n, or false when the node (or one below
// it) is not supported on the fast path.
func (c *closureCompiler) compile(n ast.Node) (closure, bool) {
	k := kindOf(n.Type())
	if k == kindNone {
		return closure{}, false
	}
	var out closure
	ok := false
	switch n := n.(type) {
	case *ast.IdentifierNode:
		out, ok = c.identifier(n, k)
	case *ast.MemberNode:
		out, ok = c.member(n, k)
	case *ast.IntegerNode:
		switch k {
		case kindInt:
			out, ok = constant(n.Value), true
		case kindFloat:
			out, ok = constant(float64(n.Value)), true
		}
	case *ast.FloatNode:
		out, ok = constant(n.Value), true
	case *ast.StringNode:
		out, ok = constant(n.Value), true
	case *ast.BoolNode:
		out, ok = constant(n.Value), true
	case *ast.ConstantNode:
		switch v := n.Value.(type) {
		case int, float64, string, bool:
			out, ok = constant(v), true
		}
	case *ast.UnaryNode:
		out, ok = c.unary(n)
	case *ast.BinaryNode:
		out, ok = c.binary(n, k)
	case *ast.ConditionalNode:
		out, ok = c.conditional(n, k)
	case *ast.BuiltinNode:
		out, ok = c.builtin(n, k)
	}
	if !ok || out.k != k {
		return closure{}, false
	}
	return out, true
}

func constant(v any) closure {
	switch v := v.(type) {
	case int:
		return closure{k: kindInt, i: func(*frame) int { return v }, konst: v}
	case float64:
		return closure{k: kindFloat, f: func(*frame) float64 { return v }, konst: v}
	case string:
		return closure{k: kindString, s: func(*frame) string { return v }, konst: v}
	case bool:
		return closure{k: kindBool, b: func(*frame) bool { return v }, konst: v}
	}
	panic(fmt.Sprintf("expression: constant of type %T", v))
}

func (c *closureCompiler) identifier(n *ast.IdentifierNode, k kind) (closure, bool) {
	col := c.in.Index(n.Value)
	if col < 0 {
		return closure{}, false
	}
	return c.column(col, c.in.Columns[col].Type, k)
}

// column reads batch column col, of type t, as kind k.
func (c *closureCompiler) column(col int, t record.ColumnType, k kind) (closure, bool) {
	if columnKind(t) != k {
		return closure{}, false
	}
	c.read(col)
	switch k {
	case kindInt:
		return closure{k: k, i: func(f *frame) int { return int(f.cols[col].Ints[f.row]) }}, true
	case kindFloat:
		return closure{k: k, f: func(f *frame) float64 { return f.cols[col].Floats[f.row] }}, true
	case kindString:
		return closure{k: k, s: func(f *frame) string { return f.cols[col].String(f.row) }}, true
	case kindBool:
		return closure{k: k, b: func(f *frame) bool { return f.cols[col].Bools[f.row] }}, true
	case kindTime:
		return closure{k: k, t: func(f *frame) int64 { return f.cols[col].Ints[f.row] }}, true
	}
	return closure{}, false
}

func (c *closureCompiler) unary(n *ast.UnaryNode) (closure, bool) {
	x, ok := c.compile(n.Node)
	if !ok {
		return closure{}, false
	}
	switch {
	case (n.Operator == "!" || n.Operator == "not") && x.k == kindBool:
		b := x.b
		return closure{k: kindBool, b: func(f *frame) bool { return !b(f) }}, true
	case n.Operator == "+" && (x.k == kindInt || x.k == kindFloat):
		return x, true
	case n.Operator == "-" && x.k == kindInt:
		i := x.i
		return closure{k: kindInt, i: func(f *frame) int { return -i(f) }}, true
	case n.Operator == "-" && x.k == kindFloat:
		g := x.f
		return closure{k: kindFloat, f: func(f *frame) float64 { return -g(f) }}, true
	}
	return closure{}, false
}

func (c *closureCompiler) binary(n *ast.BinaryNode, k kind) (closure, bool) {
	if n.Operator == "in" {
		return c.inList(n)
	}
	if n.Operator == "matches" {
		return c.matches(n)
	}
	l, ok := c.compile(n.Left)
	if !ok {
		return closure{}, false
	}
	if n.Operator == "??" {
		// Fast-path values are never nil: the right side is never evaluated.
		return l, l.k == k
	}
	r, ok := c.compile(n.Right)
	if !ok {
		return closure{}, false
	}
	switch n.Operator {
	case "and", "&&", "or", "||":
		if l.k != kindBool || r.k != kindBool {
			return closure{}, false
		}
		a, b := l.b, r.b
		if n.Operator == "and" || n.Operator == "&&" {
			return closure{k: kindBool, b: func(f *frame) bool { return a(f) && b(f) }}, true
		}
		return closure{k: kindBool, b: func(f *frame) bool { return a(f) || b(f) }}, true
	case "==", "!=", "<", "<=", ">", ">=":
		return compare(n.Operator, l, r)
	case "+", "-", "*", "/", "%", "**", "^":
		return arithmetic(n.Operator, l, r, k)
	case "contains", "startsWith", "endsWith":
		if l.k != kindString || r.k != kindString {
			return closure{}, false
		}
		a, b := l.s, r.s
		var g func(s, t string) bool
		switch n.Operator {
		case "contains":
			g = strings.Contains
		case "startsWith":
			g = strings.HasPrefix
		default:
			g = strings.HasSuffix
		}
		return closure{k: kindBool, b: func(f *frame) bool { return g(a(f), b(f)) }}, true
	}
	return closure{}, false
}

// compare builds == != < <= > >=. Equality of two ints uses ints; an int and
// a float compare as floats (runtime.Equal, runtime.Less); times compare as
// instants, which their Unix milliseconds order exactly.
func compare(op string, l, r closure) (closure, bool) {
	var b func(*frame) bool
	switch {
	case l.k == kindInt && r.k == kindInt:
		x, y := l.i, r.i
		b = ordered(op, x, y)
	case (l.k == kindInt || l.k == kindFloat) && (r.k == kindInt || r.k == kindFloat):
		b = ordered(op, l.float(), r.float())
	case l.k == kindString && r.k == kindString:
		if lit, ok := r.konst.(string); ok && (op == "==" || op == "!=") {
			// The most common filter: a field against a literal.
			x := l.s
			if op == "==" {
				b = func(f *frame) bool { return x(f) == lit }
			} else {
				b = func(f *frame) bool { return x(f) != lit }
			}
			break
		}
		b = ordered(op, l.s, r.s)
	case l.k == kindTime && r.k == kindTime:
		b = ordered(op, l.t, r.t)
	case l.k == kindBool && r.k == kindBool && (op == "==" || op == "!="):
		x, y := l.b, r.b
		if op == "==" {
			b = func(f *frame) bool { return x(f) == y(f) }
		} else {
			b = func(f *frame) bool { return x(f) != y(f) }
		}
	default:
		return closure{}, false
	}
	return closure{k: kindBool, b: b}, true
}

func ordered[T int | float64 | string | int64](op string, x, y func(*frame) T) func(*frame) bool {
	switch op {
	case "==":
		return func(f *frame) bool { return x(f) == y(f) }
	case "!=":
		return func(f *frame) bool { return x(f) != y(f) }
	case "<":
		return func(f *frame) bool { return x(f) < y(f) }
	case "<=":
		return func(f *frame) bool { return x(f) <= y(f) }
	case ">":
		return func(f *frame) bool { return x(f) > y(f) }
	default: // ">="
		return func(f *frame) bool { return x(f) >= y(f) }
	}
}

// arithmetic builds + - * / % ** as runtime.Add and friends do: int with int
// stays int (wrapping on overflow) except `/` and `**`, which always yield a
// float; any float operand makes the operation a float one; strings concatenate.
func arithmetic(op string, l, r closure, k kind) (closure, bool) {
	num := func(c closure) bool { return c.k == kindInt || c.k == kindFloat }
	switch {
	case op == "+" && l.k == kindString && r.k == kindString:
		x, y := l.s, r.s
		return closure{k: kindString, s: func(f *frame) string { return concat(f, x(f), y(f)) }}, true
	case !num(l) || !num(r):
		return closure{}, false
	case op == "/":
		x, y := l.float(), r.float()
		return closure{k: kindFloat, f: func(f *frame) float64 { return x(f) / y(f) }}, true
	case op == "**" || op == "^":
		x, y := l.float(), r.float()
		return closure{k: kindFloat, f: func(f *frame) float64 { return math.Pow(x(f), y(f)) }}, true
	case op == "%":
		if l.k != kindInt || r.k != kindInt {
			return closure{}, false
		}
		x, y := l.i, r.i
		return closure{k: kindInt, i: func(f *frame) int {
			a, b := x(f), y(f)
			if b == 0 {
				f.fail(errDivideByZero)
				return 0
			}
			return a % b
		}}, true
	case l.k == kindInt && r.k == kindInt:
		x, y := l.i, r.i
		switch op {
		case "+":
			return closure{k: kindInt, i: func(f *frame) int { return x(f) + y(f) }}, true
		case "-":
			return closure{k: kindInt, i: func(f *frame) int { return x(f) - y(f) }}, true
		case "*":
			return closure{k: kindInt, i: func(f *frame) int { return x(f) * y(f) }}, true
		}
	default:
		x, y := l.float(), r.float()
		switch op {
		case "+":
			return closure{k: kindFloat, f: func(f *frame) float64 { return x(f) + y(f) }}, true
		case "-":
			return closure{k: kindFloat, f: func(f *frame) float64 { return x(f) - y(f) }}, true
		case "*":
			return closure{k: kindFloat, f: func(f *frame) float64 { return x(f) * y(f) }}, true
		}
	}
	return closure{}, false
}

// inList builds `x in [...]` over a literal array, which expr's optimizer turns
// into a constant set when every element is an int or every one a string.
func (c *closureCompiler) inList(n *ast.BinaryNode) (closure, bool) {
	l, ok := c.compile(n.Left)
	if !ok {
		return closure{}, false
	}
	switch set := constantValue(n.Right).(type) {
	case map[string]struct{}:
		if l.k != kindString {
			return closure{}, false
		}
		x := l.s
		return closure{k: kindBool, b: func(f *frame) bool { _, ok := set[x(f)]; return ok }}, true
	case map[int]struct{}:
		if l.k != kindInt {
			return closure{}, false
		}
		x := l.i
		return closure{k: kindBool, b: func(f *frame) bool { _, ok := set[x(f)]; return ok }}, true
	}
	// A literal array the optimizer did not make a set (mixed or float
	// elements; it folds it to a constant []any): runtime.In compares each
	// element with runtime.Equal.
	var elems []closure
	switch r := n.Right.(type) {
	case *ast.ConstantNode:
		arr, isArray := r.Value.([]any)
		if !isArray {
			return closure{}, false
		}
		for _, v := range arr {
			switch v.(type) {
			case int, float64, string, bool:
				elems = append(elems, constant(v))
			default:
				return closure{}, false
			}
		}
	case *ast.ArrayNode:
		for _, e := range r.Nodes {
			switch e.(type) {
			case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode:
				ec, ok := c.compile(e)
				if !ok {
					return closure{}, false
				}
				elems = append(elems, ec)
			default:
				return closure{}, false
			}
		}
	default:
		return closure{}, false
	}
	var tests []func(*frame) bool
	for _, ec := range elems {
		eq, ok := compare("==", l, ec)
		if !ok {
			// Values of different kinds are never equal (runtime.Equal
			// falls back to reflect.DeepEqual).
			if l.k == kindTime {
				return closure{}, false
			}
			continue
		}
		tests = append(tests, eq.b)
	}
	return closure{k: kindBool, b: func(f *frame) bool {
		for _, t := range tests {
			if t(f) {
				return true
			}
		}
		return false
	}}, true
}

func constantValue(n ast.Node) any {
	if c, ok := n.(*ast.ConstantNode); ok {
		return c.Value
	}
	return nil
}

// matches builds `x matches 'literal'`, which the VM runs with the regexp
// compiled once (OpMatchesConst).
func (c *closureCompiler) matches(n *ast.BinaryNode) (closure, bool) {
	lit, isLit := n.Right.(*ast.StringNode)
	if !isLit {
		return closure{}, false
	}
	re, err := regexp.Compile(lit.Value)
	if err != nil {
		return closure{}, false
	}
	l, ok := c.compile(n.Left)
	if !ok || l.k != kindString {
		return closure{}, false
	}
	x := l.s
	return closure{k: kindBool, b: func(f *frame) bool { return re.MatchString(x(f)) }}, true
}

func (c *closureCompiler) conditional(n *ast.ConditionalNode, k kind) (closure, bool) {
	cond, ok1 := c.compile(n.Cond)
	a, ok2 := c.compile(n.Exp1)
	b, ok3 := c.compile(n.Exp2)
	if !ok1 || !ok2 || !ok3 || cond.k != kindBool || a.k != k || b.k != k {
		return closure{}, false
	}
	p := cond.b
	switch k {
	case kindInt:
		x, y := a.i, b.i
		return closure{k: k, i: func(f *frame) int {
			if p(f) {
				return x(f)
			}
			return y(f)
		}}, true
	case kindFloat:
		x, y := a.f, b.f
		return closure{k: k, f: func(f *frame) float64 {
			if p(f) {
				return x(f)
			}
			return y(f)
		}}, true
	case kindString:
		x, y := a.s, b.s
		return closure{k: k, s: func(f *frame) string {
			if p(f) {
				return x(f)
			}
			return y(f)
		}}, true
	case kindBool:
		x, y := a.b, b.b
		return closure{k: k, b: func(f *frame) bool {
			if p(f) {
				return x(f)
			}
			return y(f)
		}}, true
	case kindTime:
		x, y := a.t, b.t
		return closure{k: k, t: func(f *frame) int64 {
			if p(f) {
				return x(f)
			}
			return y(f)
		}}, true
	}
	return closure{}, false
}
