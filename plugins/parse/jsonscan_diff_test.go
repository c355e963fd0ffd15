package parse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-io/sluice/record"
)

// jsonGen writes random valid JSON text with random whitespace and escapes.
type jsonGen struct {
	rng *rand.Rand
	buf strings.Builder
}

func (g *jsonGen) ws() {
	for g.rng.IntN(4) == 0 {
		g.buf.WriteByte(" \t\r\n"[g.rng.IntN(4)])
	}
}

var genRunes = []rune{'a', 'z', 'Q', '0', ' ', '"', '\\', '/', '\n', '\t', '\x00', '\x1f', '\x7f', 'é', '€', '😀', '\u2028', 0xFFFD, 0x10FFFF}

func (g *jsonGen) randString() string {
	n := g.rng.IntN(12)
	var b strings.Builder
	for range n {
		b.WriteRune(genRunes[g.rng.IntN(len(genRunes))])
	}
	return b.String()
}

// str writes s as a JSON string, escaping characters at random.
func (g *jsonGen) str(s string) {
	g.buf.WriteByte('"')
	for _, r := range s {
		short := map[rune]string{'"': `\"`, '\\': `\\`, '\n': `\n`, '\t': `\t`, '/': `\/`, '\b': `\b`, '\f': `\f`, '\r': `\r`}[r]
		mustEscape := r < 0x20 || r == '"' || r == '\\'
		switch {
		case short != "" && (mustEscape || g.rng.IntN(3) == 0):
			g.buf.WriteString(short)
		case mustEscape || g.rng.IntN(5) == 0:
			if r > 0xFFFF {
				r -= 0x10000
				fmt.Fprintf(&g.buf, `\u%04x\u%04X`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			} else {
				fmt.Fprintf(&g.buf, `\u%04x`, r)
			}
		default:
			g.buf.WriteRune(r)
		}
	}
	g.buf.WriteByte('"')
}

func (g *jsonGen) randInt() int64 {
	switch g.rng.IntN(4) {
	case 0:
		return int64(g.rng.IntN(100)) - 50
	case 1:
		return g.rng.Int64()
	case 2:
		return -g.rng.Int64() - int64(g.rng.IntN(2))
	}
	return g.rng.Int64N(1e12)
}

func (g *jsonGen) randFloat() string {
	switch g.rng.IntN(5) {
	case 0:
		return strconv.FormatInt(g.randInt(), 10)
	case 1:
		return strconv.FormatFloat(g.rng.NormFloat64()*1e6, 'f', -1, 64)
	case 2:
		return strconv.FormatFloat(g.rng.NormFloat64()*math.Pow(10, float64(g.rng.IntN(600)-300)), 'e', -1, 64)
	case 3:
		return strconv.FormatFloat(g.rng.Float64(), 'E', 5, 64)
	}
	return "-0.0"
}

// randSeconds returns a timestamp in seconds with a fraction or exponent.
func (g *jsonGen) randSeconds() string {
	v := g.rng.Int64N(4e9) - 2e9
	switch g.rng.IntN(4) {
	case 0:
		return strconv.FormatInt(v, 10)
	case 1:
		return fmt.Sprintf("%d.%0*d", v, 1+g.rng.IntN(9), g.rng.IntN(1000))
	case 2:
		return fmt.Sprintf("%de-%d", v, g.rng.IntN(4))
	}
	return strconv.FormatFloat(float64(v)/1000, 'e', -1, 64)
}

// randValue writes a random value nested at most depth levels.
func (g *jsonGen) randValue(depth int) {
	k := g.rng.IntN(8)
	if depth <= 0 && k >= 6 {
		k = 0
	}
	switch k {
	case 0:
		g.str(g.randString())
	case 1:
		g.buf.WriteString(g.randFloat())
	case 2:
		g.buf.WriteString([]string{"true", "false", "null"}[g.rng.IntN(3)])
	case 3, 4, 5:
		g.buf.WriteString(strconv.FormatInt(g.randInt(), 10))
	case 6:
		g.buf.WriteByte('[')
		for i := range g.rng.IntN(4) {
			if i > 0 {
				g.buf.WriteByte(',')
			}
			g.ws()
			g.randValue(depth - 1)
			g.ws()
		}
		g.buf.WriteByte(']')
	case 7:
		g.object(depth-1, nil)
	}
}

// object writes an object with the given members (raw JSON values) and
// random extra ones, in random order.
func (g *jsonGen) object(depth int, members map[string]func()) {
	type member struct {
		key   string
		value func()
	}
	var ms []member
	for k, v := range members {
		ms = append(ms, member{k, v})
	}
	for range g.rng.IntN(4) {
		ms = append(ms, member{"x" + g.randString(), func() { g.randValue(depth) }})
	}
	g.rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	g.buf.WriteByte('{')
	g.ws()
	for i, m := range ms {
		if i > 0 {
			g.buf.WriteByte(',')
			g.ws()
		}
		g.str(m.key)
		g.ws()
		g.buf.WriteByte(':')
		g.ws()
		m.value()
		g.ws()
	}
	g.buf.WriteByte('}')
}

// TestJSONMatchesEncodingJSON parses random valid objects and checks that
// every typed value agrees with what encoding/json decodes.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	fields := []Field{
		fld("i", tInt, true),
		fld("f", tFlt, false),
		fld("s", tStr, true),
		fld("b", tBool, false),
		fld("ms", tTS, true, "ms"),
		fld("sec", tTS, true, "s"),
		fld("deep", tStr, false, "o.p.q"),
		fld("nid", tInt, false, "o.n"),
	}
	j := &JSON{Fields: fields}
	g := &jsonGen{rng: rand.New(rand.NewPCG(7, 11))}
	const n = 5000
	msgs := make([]string, n)
	for r := range msgs {
		g.buf.Reset()
		g.ws()
		g.object(3, map[string]func(){
			"i":   func() { g.buf.WriteString(strconv.FormatInt(g.randInt(), 10)) },
			"f":   func() { g.buf.WriteString(g.randFloat()) },
			"s":   func() { g.str(g.randString()) },
			"b":   func() { g.buf.WriteString([]string{"true", "false", "null"}[g.rng.IntN(3)]) },
			"ms":  func() { g.buf.WriteString(strconv.FormatInt(g.randInt()/2, 10)) },
			"sec": func() { g.buf.WriteString(g.randSeconds()) },
			"o": func() {
				g.object(2, map[string]func(){
					"p": func() { g.object(1, map[string]func(){"q": func() { g.str(g.randString()) }}) },
					"n": func() { g.buf.WriteString(strconv.FormatInt(g.randInt(), 10)) },
				})
			},
		})
		g.ws()
		msgs[r] = g.buf.String()
	}
	res := runParse(t, j.Output(), j.Parse, msgs...)
	if len(res.bad) > 0 {
		t.Fatalf("valid objects reported bad: %q", res.bad[:min(len(res.bad), 5)])
	}
	for r, msg := range msgs {
		var m map[string]any
		d := json.NewDecoder(strings.NewReader(msg))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("encoding/json rejects %s: %v", msg, err)
		}
		if want, got := expectedRow(t, fields, m), res.rows[r]; want != got {
			t.Fatalf("message %s\n got %s\nwant %s", msg, got, want)
		}
	}
}

// expectedRow renders what the parser should yield for m, as formatRow
// does.
func expectedRow(t *testing.T, fields []Field, m map[string]any) string {
	out := record.NewBatch(output(fields, nil), 1)
	for k, f := range fields {
		v := &out.Columns[k]
		var x any = m
		for _, key := range f.Path {
			obj, _ := x.(map[string]any)
			x = obj[key]
		}
		if x == nil {
			v.AppendNull()
			continue
		}
		switch f.Type {
		case record.ColumnString:
			v.AppendString([]byte(x.(string)))
		case record.ColumnBool:
			v.AppendBool(x.(bool))
		case record.ColumnInt:
			i, err := strconv.ParseInt(string(x.(json.Number)), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			v.AppendInt(i)
		case record.ColumnFloat:
			fl, err := x.(json.Number).Float64()
			if err != nil {
				t.Fatal(err)
			}
			v.AppendFloat(fl)
		case record.ColumnTimestamp:
			r, ok := new(big.Rat).SetString(string(x.(json.Number)))
			if !ok {
				t.Fatalf("big.Rat rejects %s", x)
			}
			r.Mul(r, big.NewRat(int64(math.Pow10(unitScale(f.Unit)+6)), 1e6))
			q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive denominator
			v.AppendInt(q.Int64())
		}
	}
	out.Rows = 1
	return formatRow(out, 0)
}

// FuzzJSONParse checks that Parse never panics and accounts for every row:
// each is appended or reported, never both, never lost; kept rows are
// what encoding/json decodes for valid objects.
func FuzzJSONParse(f *testing.F) {
	for _, s := range []string{
		`{"user_id":123,"action":"click","ts":1700000000,"device":"ios"}`,
		`{"user_id":1,"action":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","ts":1.5e3,"device":null,"x":[1,{"y":[]}]}`,
		`{"payload":{"user":{"id":5}},"meta":{"time":"2023-11-14T22:13:20.5+02:00"}}`,
		`{"user_id":1e3}`, `{"user_id":-0}`, `[]`, ``, `   `, `{`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
		`{"ts":-1700000000.999999}`, `{"user_id":9223372036854775808}`, `{"a":[[[[[[[]]]]]]]}`, `{"ts":1e999999999999}`,
	} {
		f.Add(s)
	}
	j := &JSON{Fields: []Field{
		fld("user_id", tInt, false),
		fld("action", tStr, false),
		fld("ts", tTS, false, "s"),
		fld("device", tStr, false),
		fld("id", tInt, false, "payload.user.id"),
		fld("time", tTS, false, "meta.time", "rfc3339"),
		fld("score", tFlt, false),
		fld("ok", tBool, false),
	}}
	f.Fuzz(func(t *testing.T, msg string) {
		// Two copies in one batch, with a known-good row between them.
		good := `{"user_id":1}`
		res := runParse(t, j.Output(), j.Parse, msg, good, msg)
		if len(res.rows)+len(res.bad) != 3 {
			t.Fatalf("%d rows kept + %d reported != 3", len(res.rows), len(res.bad))
		}
		if len(res.rows) != 1 && len(res.rows) != 3 {
			t.Fatalf("the same message was kept once and reported once: %q", res.bad)
		}
		for _, b := range res.bad {
			if strings.Contains(b, "internal error") {
				t.Fatal(b)
			}
		}
		if len(res.rows) == 3 {
			if !json.Valid([]byte(msg)) {
				t.Fatalf("accepted invalid JSON %q", msg)
			}
			if !utf8.ValidString(msg) {
				t.Fatalf("accepted invalid UTF-8 %q", msg)
			}
		} else if json.Valid([]byte(msg)) && utf8.ValidString(msg) && bytes.HasPrefix(bytes.TrimSpace([]byte(msg)), []byte("{")) {
			// A valid object may only be rejected for its values.
			if reason := res.bad[0]; strings.Contains(reason, "not valid JSON") && !strings.Contains(reason, "nested more than") {
				t.Fatalf("valid JSON %q reported as %s", msg, reason)
			}
		}
	})
}
