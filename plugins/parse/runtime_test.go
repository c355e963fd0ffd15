package parse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"
)

// rawBatch returns a raw batch of the messages, with origins 100, 101, ...
func rawBatch(msgs ...string) *record.Batch {
	b := record.NewBatch(record.RawSchema(), len(msgs))
	for i, m := range msgs {
		b.Columns[0].AppendString([]byte(m))
		b.Origins = append(b.Origins, record.Origin{Partition: 1, Offset: int64(100 + i)})
		b.Rows++
	}
	return b
}

// fld declares a field; path is the dotted JSON path ("" for the name).
func fld(name string, t record.ColumnType, required bool, unitOrPath ...string) Field {
	f := Field{Name: name, Type: t, Required: required, Path: []string{name}}
	for _, s := range unitOrPath {
		switch s {
		case "s", "ms", "us", "ns", "rfc3339":
			f.Unit = s
		default:
			f.Path = strings.Split(s, ".")
		}
	}
	if t == record.ColumnTimestamp && f.Unit == "" {
		f.Unit = "ms"
	}
	return f
}

// formatRow renders row i of b as "name=value ..." with strings quoted and
// nulls as "null".
func formatRow(b *record.Batch, i int) string {
	parts := make([]string, len(b.Columns))
	for k := range b.Columns {
		v := &b.Columns[k]
		s := ""
		switch {
		case v.IsNull(i):
			s = "null"
		case v.Type == record.ColumnString:
			s = fmt.Sprintf("%q", v.String(i))
		case v.Type == record.ColumnInt || v.Type == record.ColumnTimestamp:
			s = fmt.Sprint(v.Ints[i])
		case v.Type == record.ColumnFloat:
			s = fmt.Sprint(v.Floats[i])
		case v.Type == record.ColumnBool:
			s = fmt.Sprint(v.Bools[i])
		}
		parts[k] = b.Schema.Columns[k].Name + "=" + s
	}
	return strings.Join(parts, " ")
}

// parseResult is what one Parse call did: the rows kept and the reasons.
type parseResult struct {
	rows []string
	bad  []string // "row: reason"
	out  *record.Batch
}

// runParse parses msgs with parse and checks the batch invariants.
func runParse(t testing.TB, output record.Schema, parse func(in, out *record.Batch, bad func(int, string)), msgs ...string) parseResult {
	t.Helper()
	in := rawBatch(msgs...)
	out := record.NewBatch(output, len(msgs))
	var res parseResult
	kept := make(map[int]bool)
	parse(in, out, func(row int, reason string) {
		if kept[row] {
			t.Errorf("row %d reported twice", row)
		}
		kept[row] = true
		res.bad = append(res.bad, fmt.Sprintf("%d: %s", row, reason))
	})
	if err := out.Validate(); err != nil {
		t.Fatalf("invalid output batch: %v", err)
	}
	if len(out.Origins) != out.Rows {
		t.Errorf("%d origins for %d rows", len(out.Origins), out.Rows)
	}
	// Kept rows carry their origins, in order, skipping the bad ones.
	j := 0
	for i := 0; i < in.Rows && j < len(out.Origins); i++ {
		if kept[i] {
			continue
		}
		if out.Origins[j] != in.Origins[i] {
			t.Errorf("output row %d has origin %v, want %v", j, out.Origins[j], in.Origins[i])
		}
		j++
	}
	for i := 0; i < out.Rows; i++ {
		res.rows = append(res.rows, formatRow(out, i))
	}
	res.out = out
	return res
}

func TestParseRFC3339MatchesTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		sec := rng.Int64N(400*365*86400) - 200*365*86400 + 1 // years 1770 to 2170
		tm := time.Unix(sec, rng.Int64N(1e9)).UTC()
		layout := []string{time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.000000Z07:00"}[n%4]
		if n%3 == 0 {
			tm = tm.In(time.FixedZone("", (rng.IntN(48)-24)*1800))
		}
		s := tm.Format(layout)
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseRFC3339([]byte(s))
		if !ok || got != floorDiv(want.UnixNano(), 1e6) {
			t.Fatalf("parseRFC3339(%q) = %d, %v; want %d", s, got, ok, floorDiv(want.UnixNano(), 1e6))
		}
	}
	for _, s := range []string{
		"2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
		"2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z",
		"2024-01-01 00:00:00Z", "2024-01-01T00:00:00+0100", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00Zx",
		"2024-1-01T00:00:00Z", "x024-01-01T00:00:00Z", "2024-01-01T00:00:00+01:60",
	} {
		if v, ok := parseRFC3339([]byte(s)); ok {
			t.Errorf("parseRFC3339(%q) = %d, want an error", s, v)
		}
	}
	if v, ok := parseRFC3339([]byte("2024-02-29t23:59:59.9999z")); !ok || v != 1709251199999 {
		t.Errorf("lower-case t and z: %d, %v", v, ok)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func TestNumberScaled(t *testing.T) {
	tests := []struct {
		text  string
		scale int
		want  int64
		why   int
	}{
		{"1700000000", 3, 1700000000000, numOK},
		{"1700000000.5", 3, 1700000000500, numOK},
		{"1700000000.123456", 3, 1700000000123, numOK},
		{"-1.5", 3, -1500, numOK},
		{"-1.0005", 3, -1001, numOK},
		{"-1500", -3, -2, numOK},
		{"1500", -3, 1, numOK},
		{"-1", -6, -1, numOK},
		{"1", -6, 0, numOK},
		{"1.7e9", 3, 1700000000000, numOK},
		{"17E-1", 0, 1, numOK},
		{"-17e-1", 0, -2, numOK},
		{"0.0e999999999", 3, 0, numOK},
		{"1e999999999", 3, 0, numRange},
		{"1e-999999999", 3, 0, numOK},
		{"-1e-999999999", 3, -1, numOK},
		{"9223372036854775807", 0, math.MaxInt64, numOK},
		{"9223372036854775808", 0, 0, numRange},
		{"-9223372036854775808", 0, math.MinInt64, numOK},
		{"-9223372036854775809", 0, 0, numRange},
		{"9223372036854775", 3, 9223372036854775000, numOK},
		{"9223372036854776", 3, 0, numRange},
		{"-9223372036854775808.5", 0, 0, numRange},
		{"00000000000000000000000000012", 0, 12, numOK},
	}
	for _, tt := range tests {
		var n number
		end, ok := lexNumber(&n, []byte(tt.text), 0, true)
		if !ok || end != len(tt.text) {
			t.Fatalf("lexNumber(%q) failed at %d", tt.text, end)
		}
		got, why := n.scaled(tt.scale)
		if got != tt.want || why != tt.why {
			t.Errorf("scaled(%q, %d) = %d, %d; want %d, %d", tt.text, tt.scale, got, why, tt.want, tt.why)
		}
	}
}

func TestLexNumberRejects(t *testing.T) {
	for _, s := range []string{"", "-", "01", "-01", "1.", ".5", "1e", "1e+", "+1", "1.e5"} {
		if end, ok := lexNumber(new(number), []byte(s), 0, false); ok && end == len(s) {
			t.Errorf("lexNumber(%q) accepted it", s)
		}
	}
}
