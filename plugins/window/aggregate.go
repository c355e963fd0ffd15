package window

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/schema"
)

// Func is an aggregate function, as written in an aggregate call.
type Func string

// The aggregate functions of docs/event-time.md, "Aggregates".
const (
	Count               Func = "count"                 // count(): records in the window
	Sum                 Func = "sum"                   // sum(x): int or float total
	Min                 Func = "min"                   // min(x): smallest int, float, timestamp or string
	Max                 Func = "max"                   // max(x): largest int, float, timestamp or string
	Avg                 Func = "avg"                   // avg(x): mean, always a float
	CountDistinct       Func = "count_distinct"        // count_distinct(x): exact number of distinct values
	ApproxCountDistinct Func = "approx_count_distinct" // approx_count_distinct(x): HyperLogLog estimate
	ApproxPercentile    Func = "approx_percentile"     // approx_percentile(x, q): relative-error sketch
	First               Func = "first"                 // first(x): x of the earliest record by event time
	Last                Func = "last"                  // last(x): x of the latest record by event time
	MaxBy               Func = "max_by"                // max_by(x, by): x of the record with the largest by
	MinBy               Func = "min_by"                // min_by(x, by): x of the record with the smallest by
)

// Funcs lists the aggregate functions in documentation order.
var Funcs = []Func{Count, Sum, Min, Max, Avg, CountDistinct, ApproxCountDistinct, ApproxPercentile, First, Last, MaxBy, MinBy}

// Aggregate is one aggregate column of a window.
type Aggregate struct {
	Name string // the output column, the key in `aggregate`
	Func Func
	// Arg is the compiled argument x; nil for count().
	Arg *expression.Program
	// By is the compiled argument by of max_by(x, by) and min_by(x, by);
	// nil for the other functions.
	By *expression.Program
	// Quantile is q of approx_percentile(x, q), between 0 and 1.
	Quantile float64
	// Type is the type of the output column.
	Type record.ColumnType
}

// funcInfo says how a function is called and typed.
type funcInfo struct {
	usage  string                       // e.g. "sum(x)"
	args   int                          // number of arguments
	accept func(record.ColumnType) bool // allowed types of x; nil means any
	need   string                       // description of the accepted types
	result func(record.ColumnType) record.ColumnType
}

func always(t record.ColumnType) func(record.ColumnType) record.ColumnType {
	return func(record.ColumnType) record.ColumnType { return t }
}

func same(t record.ColumnType) record.ColumnType { return t }

func orderable(t record.ColumnType) bool {
	return t.Numeric() || t == record.ColumnTimestamp || t == record.ColumnString
}

var funcs = map[Func]funcInfo{
	Count:               {usage: "count()", args: 0, result: always(record.ColumnInt)},
	Sum:                 {usage: "sum(x)", args: 1, accept: record.ColumnType.Numeric, need: "a number (int or float)", result: same},
	Min:                 {usage: "min(x)", args: 1, accept: orderable, need: "an int, float, timestamp or string", result: same},
	Max:                 {usage: "max(x)", args: 1, accept: orderable, need: "an int, float, timestamp or string", result: same},
	Avg:                 {usage: "avg(x)", args: 1, accept: record.ColumnType.Numeric, need: "a number (int or float)", result: always(record.ColumnFloat)},
	CountDistinct:       {usage: "count_distinct(x)", args: 1, result: always(record.ColumnInt)},
	ApproxCountDistinct: {usage: "approx_count_distinct(x)", args: 1, result: always(record.ColumnInt)},
	ApproxPercentile:    {usage: "approx_percentile(x, q)", args: 2, accept: record.ColumnType.Numeric, need: "a number (int or float)", result: always(record.ColumnFloat)},
	First:               {usage: "first(x)", args: 1, result: same},
	Last:                {usage: "last(x)", args: 1, result: same},
	MaxBy:               {usage: "max_by(x, by)", args: 2, result: same},
	MinBy:               {usage: "min_by(x, by)", args: 2, result: same},
}

// usages lists every call form, for messages.
func usages() string {
	out := make([]string, len(Funcs))
	for i, f := range Funcs {
		out[i] = funcs[f].usage
	}
	return strings.Join(out, ", ")
}

// span is a byte range [from, to) of an aggregate string.
type span struct{ from, to int }

// call is an aggregate call split into its parts, with byte offsets into the
// string so that diagnostics can point inside it.
type call struct {
	name        string
	nameAt      span
	open, close int    // offsets of the parentheses
	args        []span // trimmed arguments; none for "f()"
}

// ParseAggregate parses and checks the aggregate call text, the value of the
// entry name in `aggregate`, against the input record in. It returns nil
// when the call is unusable; the diagnostics say why, pointing inside text.
func ParseAggregate(name string, text schema.Text, in record.Schema) (*Aggregate, hcl.Diagnostics) {
	c, diags := splitCall(text)
	if c == nil {
		return nil, diags
	}
	fn := Func(c.name)
	info, ok := funcs[fn]
	if !ok {
		detail := fmt.Sprintf("%q is not an aggregate function.", c.name)
		known := make([]string, len(Funcs))
		for i, f := range Funcs {
			known[i] = string(f)
		}
		if lower := strings.ToLower(c.name); lower != c.name && funcs[Func(lower)].usage != "" {
			detail += fmt.Sprintf(" Did you mean %q?", lower)
		} else {
			detail += schema.DidYouMean(c.name, known)
		}
		detail += " The aggregates are " + usages() + "."
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown aggregate function",
			Detail:   detail,
			Subject:  text.RangeOf(c.nameAt.from, c.nameAt.to).Ptr(),
		})
	}
	if d := checkArity(text, c, fn, info); d != nil {
		return nil, append(diags, d)
	}
	a := &Aggregate{Name: name, Func: fn}
	if fn == Count {
		a.Type = info.result(record.ColumnInvalid)
		if diags.HasErrors() {
			return nil, diags
		}
		return a, diags
	}
	x := c.args[0]
	prog, ds := expression.CompilePart(text, x.from, x.to, in, fmt.Sprintf("the argument of %s in aggregate %q", fn, name))
	diags = append(diags, ds...)
	if fn == ApproxPercentile {
		q, d := quantile(text, c.args[1])
		if d != nil {
			diags = append(diags, d)
		}
		a.Quantile = q
	}
	if fn == MaxBy || fn == MinBy {
		a.By, ds = compileBy(text, c.args[1], in, fn, name)
		diags = append(diags, ds...)
	}
	if prog == nil {
		return nil, diags
	}
	if info.accept != nil && !info.accept(prog.Type) {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Wrong argument type",
			Detail:   fmt.Sprintf("%s needs %s, but %q is %s.", fn, info.need, text.Value[x.from:x.to], article(prog.Type)),
			Subject:  text.RangeOf(x.from, x.to).Ptr(),
		})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	a.Arg = prog
	a.Type = info.result(prog.Type)
	return a, diags
}

// checkArity reports a call with the wrong number of arguments.
func checkArity(text schema.Text, c *call, fn Func, info funcInfo) *hcl.Diagnostic {
	n := len(c.args)
	if n == info.args {
		return nil
	}
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Wrong number of arguments"}
	switch {
	case n > info.args:
		d.Subject = text.RangeOf(c.args[info.args].from, c.args[n-1].to).Ptr()
	default:
		d.Subject = text.RangeOf(c.open, c.close+1).Ptr()
	}
	switch {
	case fn == Count:
		d.Detail = "count() takes no argument: it counts the records of the window. To count the distinct values of an expression, write count_distinct(x)."
	case info.args == 1:
		d.Detail = fmt.Sprintf("%s takes one argument, as in %s, but %d are given.", fn, info.usage, n)
	case fn == MaxBy || fn == MinBy:
		d.Detail = fmt.Sprintf("%s takes two arguments, as in %s: the value to return and the value that picks the record, but %d %s given.", fn, info.usage, n, plural(n, "is", "are"))
	default:
		d.Detail = fmt.Sprintf("%s takes %d arguments, as in %s with q between 0 and 1 (0.9 for the 90th percentile), but %d %s given.", fn, info.args, info.usage, n, plural(n, "is", "are"))
	}
	if n == 0 && fn != Count {
		d.Detail = fmt.Sprintf("%s needs an argument, as in %s; write count() to count records.", fn, info.usage)
		if fn == ApproxPercentile {
			d.Detail = fmt.Sprintf("%s needs two arguments, as in %s with q between 0 and 1.", fn, info.usage)
		} else if info.args == 2 {
			d.Detail = fmt.Sprintf("%s needs two arguments, as in %s.", fn, info.usage)
		}
	}
	return d
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// compileBy compiles the by of max_by(x, by) or min_by(x, by), which must
// be an int, float, timestamp or string.
func compileBy(text schema.Text, at span, in record.Schema, fn Func, name string) (*expression.Program, hcl.Diagnostics) {
	prog, diags := expression.CompilePart(text, at.from, at.to, in, fmt.Sprintf("the by argument of %s in aggregate %q", fn, name))
	if prog == nil || orderable(prog.Type) {
		return prog, diags
	}
	return nil, append(diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Wrong argument type",
		Detail:   fmt.Sprintf("The by argument of %s picks the record by its order, so it must be an int, float, timestamp or string, but %q is %s.", fn, text.Value[at.from:at.to], article(prog.Type)),
		Subject:  text.RangeOf(at.from, at.to).Ptr(),
	})
}

// number is a plain decimal literal: no sign, hex, Inf or NaN.
var number = regexp.MustCompile(`^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)

// quantile reads q of approx_percentile(x, q): a number literal in [0, 1].
func quantile(text schema.Text, at span) (float64, *hcl.Diagnostic) {
	s := text.Value[at.from:at.to]
	q, err := strconv.ParseFloat(s, 64)
	if err == nil && number.MatchString(s) && q >= 0 && q <= 1 && !math.IsNaN(q) {
		return q, nil
	}
	return 0, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid quantile",
		Detail:   fmt.Sprintf("The quantile q of approx_percentile(x, q) must be a number written between 0 and 1, such as 0.5 for the median or 0.99; %q is not.", s),
		Subject:  text.RangeOf(at.from, at.to).Ptr(),
	}
}

// splitCall parses `name(arg, ...)`: the name, then arguments split at the
// commas outside quotes and brackets. Syntax errors yield a nil call, except
// text after the closing parenthesis, reported alongside the parsed call.
func splitCall(text schema.Text) (*call, hcl.Diagnostics) {
	s := text.Value
	syntax := func(summary string, from, to int, detail string) (*call, hcl.Diagnostics) {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: text.RangeOf(from, to).Ptr()}}
	}
	i := skipSpace(s, 0)
	start := i
	for i < len(s) && isIdent(s[i], i > start) {
		i++
	}
	c := &call{name: s[start:i], nameAt: span{start, i}}
	if c.name == "" {
		if strings.TrimSpace(s) == "" {
			r := valueRange(text)
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid aggregate call", Detail: "The aggregate is empty; write a call such as count() or sum(x).", Subject: &r}}
		}
		end := len(strings.TrimRight(s, " \t\r\n"))
		return syntax("Invalid aggregate call", start, end, fmt.Sprintf("An aggregate is a function call such as count() or sum(x), starting with the function name; %q is not. The aggregates are %s.", strings.TrimSpace(s), usages()))
	}
	i = skipSpace(s, i)
	if i == len(s) || s[i] != '(' {
		end := len(strings.TrimRight(s, " \t\r\n"))
		detail := fmt.Sprintf("An aggregate is a function call with its arguments in parentheses, such as sum(%s) or count_distinct(%s); %q is not. The aggregates are %s.", c.name, c.name, strings.TrimSpace(s), usages())
		if info, ok := funcs[Func(c.name)]; ok {
			detail = fmt.Sprintf("%s is called with parentheses: write %s.", c.name, info.usage)
		}
		return syntax("Invalid aggregate call", start, end, detail)
	}
	c.open = i
	depth, from := 0, i+1
	var quote byte
	for i = c.open + 1; i < len(s); i++ {
		ch := s[i]
		if quote != 0 {
			if ch == '\\' && quote != '`' {
				i++
			} else if ch == quote {
				quote = 0
			}
			continue
		}
		switch ch {
		case '\'', '"', '`':
			quote = ch
		case '(', '[', '{':
			depth++
		case ']', '}':
			depth = max(depth-1, 0) // a stray closer is the expression compiler's to report
		case ',':
			if depth == 0 {
				c.args = append(c.args, trimSpan(s, from, i))
				from = i + 1
			}
		case ')':
			if depth > 0 {
				depth--
				continue
			}
			c.close = i
			if last := trimSpan(s, from, i); last.from < last.to || len(c.args) > 0 {
				c.args = append(c.args, last)
			}
			if j := skipSpace(s, i+1); j < len(s) {
				end := len(strings.TrimRight(s, " \t\r\n"))
				_, diags := syntax("Unexpected text after aggregate call", j, end, fmt.Sprintf("An aggregate is a single call such as %s(...); remove %q after its closing parenthesis. To compute with aggregates, add a map stage after the window.", c.name, s[j:end]))
				return c, diags // the call itself is still checked
			}
			return c, nil
		}
	}
	return syntax("Unclosed parenthesis", c.open, c.open+1, fmt.Sprintf("The parenthesis opened after %s is never closed; end the call with \")\", as in %s(x).", c.name, c.name))
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// trimSpan returns [from, to) without surrounding white space.
func trimSpan(s string, from, to int) span {
	from = skipSpace(s, from)
	for to > from && strings.IndexByte(" \t\r\n", s[to-1]) >= 0 {
		to--
	}
	return span{from, to}
}

func isIdent(ch byte, rest bool) bool {
	return ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || rest && ch >= '0' && ch <= '9'
}
