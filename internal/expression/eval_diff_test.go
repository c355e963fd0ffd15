package expression

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/schema"
)

// The differential test: every expression is evaluated on random rows by
// the closure path and by expr's VM, and the results (value, or error or
// not) must agree.

// diffRecord has two fields of each type, so that generated expressions
// combine fields.
var diffRecord = record.Schema{Columns: []record.Column{
	{Name: "i", Type: record.ColumnInt},
	{Name: "j", Type: record.ColumnInt},
	{Name: "x", Type: record.ColumnFloat},
	{Name: "y", Type: record.ColumnFloat},
	{Name: "s", Type: record.ColumnString},
	{Name: "u", Type: record.ColumnString},
	{Name: "b", Type: record.ColumnBool},
	{Name: "c", Type: record.ColumnBool},
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "tu", Type: record.ColumnTimestamp},
}}

var (
	edgeInts   = []int64{0, 1, -1, 2, -7, 3, 255, 256, 1 << 31, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	edgeFloats = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -2.25, 1e308, -1e308, 5e-324,
		math.NaN(), math.Inf(1), math.Inf(-1), 3, 9.223372036854775807e18}
	edgeStrings = []string{"", "a", "A", "heartbeat", "HeartBeat", "click", "  pad  ", "ÄÖü straße", "日本語",
		"123", "-42", "4.5", "1e3", "abc", "\xff\xfe", "a b", "ab", "ba", " ", "İ", "ǅ"}
	edgeTimes = []int64{0, -1, 1, 1700000000000, -86400000 * 365 * 30, -62135596800000, 253402300799999, 1700000000001}
)

// randomBatch returns a batch of rows over diffRecord mixing edge values,
// random values and (with nulls) null fields.
func randomBatch(r *rand.Rand, rows int, nulls bool) *record.Batch {
	b := record.NewBatch(diffRecord, rows)
	for range rows {
		for c := range b.Columns {
			v := &b.Columns[c]
			if nulls && r.IntN(12) == 0 {
				v.AppendNull()
				continue
			}
			switch v.Type {
			case record.ColumnInt:
				if r.IntN(2) == 0 {
					v.AppendInt(edgeInts[r.IntN(len(edgeInts))])
				} else {
					v.AppendInt(r.Int64N(2001) - 1000)
				}
			case record.ColumnFloat:
				if r.IntN(2) == 0 {
					v.AppendFloat(edgeFloats[r.IntN(len(edgeFloats))])
				} else {
					v.AppendFloat(r.NormFloat64() * 100)
				}
			case record.ColumnString:
				v.AppendString([]byte(edgeStrings[r.IntN(len(edgeStrings))]))
			case record.ColumnBool:
				v.AppendBool(r.IntN(2) == 0)
			case record.ColumnTimestamp:
				if r.IntN(2) == 0 {
					v.AppendInt(edgeTimes[r.IntN(len(edgeTimes))])
				} else {
					v.AppendInt(r.Int64N(4e12) - 2e12)
				}
			}
		}
		b.Rows++
	}
	if err := b.Validate(); err != nil {
		panic(err)
	}
	return b
}

// corpus are hand-written expressions; fast says the closure path must
// handle them.
var corpus = []struct {
	src  string
	fast bool
}{
	{"s != 'heartbeat'", true},
	{"s == u", true},
	{"s < u || s >= 'b'", true},
	{"lower(s)", true},
	{"upper(s) + '!'", true},
	{"trim(s)", true},
	{"trim(s, 'a ')", true},
	{"trimPrefix(s, 'a')", true},
	{"trimSuffix(s)", true},
	{"len(s) + len(u)", true},
	{"i + j", true},
	{"i - j", true},
	{"i * j", true},
	{"i / j", true},
	{"i % j", true},
	{"i % 3", true},
	{"-i", true},
	{"i ** 2", true},
	{"x ** y", true},
	{"i / 0", true},
	{"x / 0", true},
	{"x + i", true},
	{"i * x", true},
	{"x - y", true},
	{"x == y", true},
	{"x != x", true},
	{"i == x", true},
	{"i < x", true},
	{"x >= i", true},
	{"i <= j && x > y", true},
	{"b == c", true},
	{"b != c", true},
	{"not b", true},
	{"!b || c", true},
	{"b and c", true},
	{"ts < tu", true},
	{"ts == tu", true},
	{"ts != tu", true},
	{"ts >= tu", true},
	{"ts <= tu", true},
	{"b ? ts : tu", true},
	{"ts", true},
	{"s in ['click', 'heartbeat', '']", true},
	{"s not in ['click', 'a']", true},
	{"i in [1, 2, 3, 255]", true},
	{"i in [1, 'a', 2.5, true]", true},
	{"x in [0.5, 1, 3]", true},
	{"b in [true]", true},
	{"s in ['a', 1]", true},
	{"s contains 'a'", true},
	{"s startsWith 'he'", true},
	{"s endsWith u", true},
	{"s matches '^[a-z]+$'", true},
	{"hasPrefix(s, u)", true},
	{"hasSuffix(s, 'beat')", true},
	{"abs(i)", true},
	{"abs(x)", true},
	{"int(x)", true},
	{"int(s)", true},
	{"float(s)", true},
	{"float(i) / 3", true},
	{"b ? i : j", true},
	{"b ? x : y", true},
	{"b ? s : 'no'", true},
	{"s ?? 'none'", true},
	{"i ?? 0", true},
	{"i % j == 0 || b", true},
	{"b || i % j == 0", true},
	{"false && i % 0 == 1", true},
	{"(i + 1) * (j - 1) > 100", true},
	{"i > 0 && s in ['click', 'heartbeat']", true},
	// Left to the VM.
	{"ts.Hour()", false},
	{"ts.Year() < 1970", false},
	{"string(i)", false},
	{"(ts - tu).Milliseconds()", false},
	{"split(s, ' ')[0]", false},
	{"let z = i + 1; z * z", false},
	{"s[0:1]", false},
	{"i in [j, 1]", false},
	{"max(i, j)", false},
}

func TestDifferentialCorpus(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	batches := []*record.Batch{randomBatch(r, 400, false), randomBatch(r, 400, true)}
	for _, c := range corpus {
		p, diags := Compile(schema.Text{Value: c.src}, diffRecord, "the test expression")
		if diags.HasErrors() {
			t.Errorf("%q: %s", c.src, diags)
			continue
		}
		if got := p.Evaluator(diffRecord).Fast(); got != c.fast {
			t.Errorf("%q: fast path = %v, want %v", c.src, got, c.fast)
		}
		for _, b := range batches {
			differ(t, p, b)
		}
	}
}

func TestDifferentialRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	batches := []*record.Batch{randomBatch(r, 200, false), randomBatch(r, 200, true)}
	n := 3000
	if testing.Short() {
		n = 300
	}
	compiled, fast := 0, 0
	for range n {
		g := generator{r: r}
		src := g.gen(kinds[r.IntN(len(kinds))], 4)
		p, diags := Compile(schema.Text{Value: src}, diffRecord, "the test expression")
		if diags.HasErrors() {
			continue // e.g. a constant folded to a division by zero
		}
		compiled++
		if p.Evaluator(diffRecord).Fast() {
			fast++
		} else {
			t.Errorf("%q: no fast path", src)
		}
		for _, b := range batches {
			differ(t, p, b)
		}
	}
	t.Logf("%d of %d generated expressions compiled, %d on the fast path", compiled, n, fast)
	if compiled < n*9/10 {
		t.Errorf("only %d of %d generated expressions compiled", compiled, n)
	}
}

// differ evaluates p on every row of b by both paths and reports differences.
func differ(t *testing.T, p *Program, b *record.Batch) {
	t.Helper()
	fast, slow := p.Evaluator(b.Schema), p.VMEvaluator(b.Schema)
	fast.Bind(b)
	slow.Bind(b)
	for row := range b.Rows {
		fv, ferr := fast.Eval(row)
		sv, serr := slow.Eval(row)
		if (ferr != nil) != (serr != nil) || ferr == nil && !sameValue(fv, sv) {
			t.Errorf("%q row %d %s:\n closures: %s, %v\n VM:       %s, %v", p.Source.Value, row, describeRow(b, row), show(fv), ferr, show(sv), serr)
			return
		}
		if ferr != nil && ferr.Error() != serr.Error() && !strings.Contains(ferr.Error(), "divide") {
			// Messages are reasons in dead letters: the same where we can.
			t.Logf("%q: messages differ: %q vs %q", p.Source.Value, ferr, serr)
		}
		if p.Type == record.ColumnBool {
			fb, ferr := fast.Bool(row)
			sb, serr := slow.Bool(row)
			if fb != sb || (ferr != nil) != (serr != nil) {
				t.Errorf("%q row %d: Bool %v, %v vs %v, %v", p.Source.Value, row, fb, ferr, sb, serr)
				return
			}
		}
	}
}

func sameValue(a, b Value) bool {
	if a.Float != b.Float && !(math.IsNaN(a.Float) && math.IsNaN(b.Float)) {
		return false
	}
	if math.Signbit(a.Float) != math.Signbit(b.Float) && !math.IsNaN(a.Float) {
		return false
	}
	a.Float, b.Float = 0, 0
	return a == b
}

func show(v Value) string {
	if v.Null {
		return "null"
	}
	switch v.Type {
	case record.ColumnInt, record.ColumnTimestamp:
		return fmt.Sprint(v.Int)
	case record.ColumnFloat:
		return fmt.Sprint(v.Float)
	case record.ColumnBool:
		return fmt.Sprint(v.Bool)
	}
	return fmt.Sprintf("%q", v.Str)
}

func describeRow(b *record.Batch, row int) string {
	var parts []string
	for c, col := range b.Schema.Columns {
		parts = append(parts, col.Name+"="+box2(&b.Columns[c], row))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func box2(v *record.Vector, row int) string {
	x := box(v, row)
	if s, ok := x.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(x)
}

// generator writes random well-typed expressions over diffRecord using only
// constructs the closure path handles.
type generator struct{ r *rand.Rand }

var kinds = []record.ColumnType{record.ColumnInt, record.ColumnFloat, record.ColumnString, record.ColumnBool, record.ColumnTimestamp}

func (g generator) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g generator) gen(t record.ColumnType, depth int) string {
	if depth <= 0 || g.r.IntN(4) == 0 {
		return g.leaf(t)
	}
	d := depth - 1
	switch t {
	case record.ColumnInt:
		switch g.r.IntN(8) {
		case 0, 1:
			return "(" + g.gen(t, d) + " " + g.pick("+", "-", "*", "%") + " " + g.gen(t, d) + ")"
		case 2:
			return "(-" + g.gen(t, d) + ")"
		case 3:
			return "len(" + g.gen(record.ColumnString, d) + ")"
		case 4:
			return "abs(" + g.gen(t, d) + ")"
		case 5:
			return "int(" + g.gen(record.ColumnFloat, d) + ")"
		case 6:
			return "(" + g.gen(record.ColumnBool, d) + " ? " + g.gen(t, d) + " : " + g.gen(t, d) + ")"
		default:
			return "(" + g.gen(t, d) + " ?? " + g.gen(t, d) + ")"
		}
	case record.ColumnFloat:
		num := func() string { return g.gen(g.numeric(), d) }
		switch g.r.IntN(7) {
		case 0:
			return "(" + num() + " / " + num() + ")"
		case 1:
			return "(" + g.gen(t, d) + " " + g.pick("+", "-", "*") + " " + num() + ")"
		case 2:
			return "(" + num() + " " + g.pick("+", "-", "*") + " " + g.gen(t, d) + ")"
		case 3:
			return "(" + num() + " ** " + num() + ")"
		case 4:
			return "float(" + g.gen(record.ColumnInt, d) + ")"
		case 5:
			return g.pick("abs(", "(-") + g.gen(t, d) + ")"
		default:
			return "(" + g.gen(record.ColumnBool, d) + " ? " + g.gen(t, d) + " : " + g.gen(t, d) + ")"
		}
	case record.ColumnString:
		switch g.r.IntN(6) {
		case 0:
			return g.pick("lower", "upper", "trim", "trimPrefix", "trimSuffix") + "(" + g.gen(t, d) + ")"
		case 1:
			return g.pick("trim", "trimPrefix", "trimSuffix") + "(" + g.gen(t, d) + ", " + g.gen(t, d) + ")"
		case 2, 3:
			return "(" + g.gen(t, d) + " + " + g.gen(t, d) + ")"
		case 4:
			return "(" + g.gen(record.ColumnBool, d) + " ? " + g.gen(t, d) + " : " + g.gen(t, d) + ")"
		default:
			return "(" + g.gen(t, d) + " ?? " + g.leaf(t) + ")"
		}
	case record.ColumnBool:
		switch g.r.IntN(10) {
		case 0, 1:
			a := g.numeric()
			return "(" + g.gen(a, d) + " " + g.pick("==", "!=", "<", "<=", ">", ">=") + " " + g.gen(g.numeric(), d) + ")"
		case 2:
			k := g.pick2(record.ColumnString, record.ColumnTimestamp)
			return "(" + g.gen(k, d) + " " + g.pick("==", "!=", "<", "<=", ">", ">=") + " " + g.gen(k, d) + ")"
		case 3:
			return "(" + g.gen(t, d) + " " + g.pick("&&", "||", "and", "or", "==", "!=") + " " + g.gen(t, d) + ")"
		case 4:
			return "(" + g.pick("!", "not ") + g.gen(t, d) + ")"
		case 5:
			return "(" + g.gen(record.ColumnString, d) + g.pick(" in ", " not in ") + g.pick("['click', 'heartbeat', '']", "['a', 'A', 'İ']", "['a', 1, true]", "[]") + ")"
		case 6:
			return "(" + g.gen(record.ColumnInt, d) + g.pick(" in ", " not in ") + g.pick("[0, 1, 255, -1]", "[1, 2.5, 'x']", "[9223372036854775807]") + ")"
		case 7:
			return "(" + g.gen(record.ColumnString, d) + g.pick(" contains ", " startsWith ", " endsWith ") + g.gen(record.ColumnString, d) + ")"
		case 8:
			return "(" + g.gen(record.ColumnString, d) + " matches " + g.pick("'^[a-z]+$'", "'ä|日'", "'^$'") + ")"
		default:
			return g.pick("hasPrefix", "hasSuffix") + "(" + g.gen(record.ColumnString, d) + ", " + g.gen(record.ColumnString, d) + ")"
		}
	default: // timestamp
		return "(" + g.gen(record.ColumnBool, d) + " ? " + g.gen(t, d) + " : " + g.gen(t, d) + ")"
	}
}

func (g generator) numeric() record.ColumnType {
	return g.pick2(record.ColumnInt, record.ColumnFloat)
}

func (g generator) pick2(a, b record.ColumnType) record.ColumnType {
	if g.r.IntN(2) == 0 {
		return a
	}
	return b
}

func (g generator) leaf(t record.ColumnType) string {
	field := g.r.IntN(3) != 0
	switch t {
	case record.ColumnInt:
		if field {
			return g.pick("i", "j")
		}
		return g.pick("0", "1", "2", "7", "255", "9223372036854775807", "(-3)", "1000000007")
	case record.ColumnFloat:
		if field {
			return g.pick("x", "y")
		}
		return g.pick("0.0", "0.5", "1.5", "(-2.25)", "1e308", "1e-300", "3.0")
	case record.ColumnString:
		if field {
			return g.pick("s", "u")
		}
		return g.pick("''", "'a'", "'A'", "'heartbeat'", "' x '", "'ß'", "'日本'", "'123'", "'4.5'")
	case record.ColumnBool:
		if field {
			return g.pick("b", "c")
		}
		return g.pick("true", "false")
	default:
		return g.pick("ts", "tu")
	}
}
