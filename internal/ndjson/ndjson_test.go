package ndjson

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/plugintest"
)

const layout = "2006-01-02T15:04:05.000Z07:00"

// stdJSON encodes v as encoding/json does with HTML escaping off.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendRow(t *testing.T) {
	all := record.Schema{Columns: []record.Column{
		{Name: "i", Type: record.ColumnInt},
		{Name: "f", Type: record.ColumnFloat},
		{Name: "b", Type: record.ColumnBool},
		{Name: "s", Type: record.ColumnString},
		{Name: "t", Type: record.ColumnTimestamp},
	}}
	tests := []struct {
		name   string
		rec    record.Schema
		values []any
		want   string
	}{
		{
			name:   "events",
			rec:    plugintest.Events,
			values: []any{42, "click", int64(1714564800000), "ios"},
			want:   `{"user_id":42,"action":"click","ts":"2024-05-01T12:00:00.000Z","device":"ios"}`,
		},
		{
			name:   "every type",
			rec:    all,
			values: []any{-7, 1.5, true, `a"b\c`, int64(1714564800123)},
			want:   `{"i":-7,"f":1.5,"b":true,"s":"a\"b\\c","t":"2024-05-01T12:00:00.123Z"}`,
		},
		{
			name:   "nulls",
			rec:    all,
			values: []any{nil, nil, nil, nil, nil},
			want:   `{"i":null,"f":null,"b":null,"s":null,"t":null}`,
		},
		{
			name:   "non-finite floats",
			rec:    all,
			values: []any{0, math.NaN(), false, "", int64(0)},
			want:   `{"i":0,"f":null,"b":false,"s":"","t":"1970-01-01T00:00:00.000Z"}`,
		},
		{
			name:   "float forms",
			rec:    all,
			values: []any{math.MaxInt64, 1e21, false, "<&>", int64(-1)},
			want:   `{"i":9223372036854775807,"f":1e+21,"b":false,"s":"<&>","t":"1969-12-31T23:59:59.999Z"}`,
		},
		{
			name:   "escaped keys",
			rec:    record.Schema{Columns: []record.Column{{Name: "a\"\n", Type: record.ColumnFloat}, {Name: "é\u2028", Type: record.ColumnFloat}}},
			values: []any{1e-7, math.Copysign(0, -1)},
			want:   `{"a\"\n":1e-7,"é\u2028":-0}`,
		},
		{
			name: "no columns",
			rec:  record.Schema{},
			want: `{}`,
		},
		{
			name:   "raw",
			rec:    record.RawSchema(),
			values: []any{"{\"x\": 1}\r\x00\xff"},
			want:   "{\"x\": 1}\r\x00\xff",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := record.NewBatch(tt.rec, 2)
			plugintest.AppendRow(b, record.Origin{}, make([]any, len(b.Columns))...) // a null row first
			plugintest.AppendRow(b, record.Origin{}, tt.values...)
			row := b.Rows - 1
			prefix := []byte("x\n")
			if got := NewEncoder(tt.rec).AppendRow(prefix, b, row); string(got) != "x\n"+tt.want {
				t.Errorf("Encoder.AppendRow = %s\nwant %s", got, tt.want)
			}
			if got := AppendRow(nil, b, row); string(got) != tt.want {
				t.Errorf("AppendRow = %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAppendTimestamp(t *testing.T) {
	const day = 86400000
	tests := []int64{
		0, 1, -1, 999, -999, 1000, -1000, 1714564800000, 1714564800123,
		951782400000,                     // 2000-02-29
		-62167219200000,                  // 0000-01-01T00:00:00.000Z
		-62167219200000 - 1,              // one ms before year 0
		253402300799999,                  // 9999-12-31T23:59:59.999Z
		253402300799999 + 1,              // 10000-01-01
		(-719528) * day, 2932896*day + 1, // the bounds of the fast path
		math.MaxInt64, math.MinInt64, math.MaxInt64 - 999, math.MinInt64 + 1,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		tests = append(tests, r.Int64N(2*253402300800000)-253402300800000)
	}
	for range 1000 {
		tests = append(tests, int64(r.Uint64()))
	}
	for _, ms := range tests {
		want := time.UnixMilli(ms).UTC().Format(layout)
		if got := AppendTimestamp([]byte("ts="), ms); string(got) != "ts="+want {
			t.Fatalf("AppendTimestamp(%d) = %q, want %q", ms, got, want)
		}
	}
}

func TestAppendString(t *testing.T) {
	tests := []string{
		"", "plain", `"`, `\`, "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<script>&</script>",
		"é日本🙂", "\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\ufffd",
	}
	for _, s := range tests {
		want := stdJSON(t, s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
		if got := AppendBytes(nil, []byte(s)); !bytes.Equal(got, want) {
			t.Errorf("AppendBytes(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []float64{
		0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789e13,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64, 1.0 / 3, 1e-100, -2.5e-10,
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		tests = append(tests, math.Float64frombits(r.Uint64()))
	}
	for _, f := range tests {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			if got := AppendFloat(nil, f); string(got) != "null" {
				t.Fatalf("AppendFloat(%v) = %s, want null", f, got)
			}
			continue
		}
		if got, want := AppendFloat(nil, f), stdJSON(t, f); !bytes.Equal(got, want) {
			t.Fatalf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// randomString returns short strings of random bytes, often invalid UTF-8,
// mixed with runes that need escaping.
func randomString(r *rand.Rand) string {
	pieces := []string{"a", "Z", " ", `"`, `\`, "\n", "\x00", "\x1f", "\x7f", "é", "日", "🙂", "\u2028", "\u2029", "<", "&", "\xff", "\xc3", "\xe2\x80"}
	var sb strings.Builder
	for range r.IntN(12) {
		if r.IntN(4) == 0 {
			sb.WriteByte(byte(r.IntN(256)))
		} else {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
	}
	return sb.String()
}

func randomFloat(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return math.Float64frombits(r.Uint64())
	case 1:
		return [...]float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 1e21, 1e-7}[r.IntN(7)]
	case 2:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(60)-30))
	}
	return float64(r.IntN(2000)-1000) / 8
}

// TestDifferential encodes random rows and compares the bytes with what
// encoding/json writes for the equivalent Go values, then decodes them.
func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	types := []record.ColumnType{record.ColumnString, record.ColumnInt, record.ColumnFloat, record.ColumnBool, record.ColumnTimestamp}
	for range 200 {
		var rec record.Schema
		for i := range 1 + r.IntN(6) {
			rec.Columns = append(rec.Columns, record.Column{Name: randomString(r) + string(rune('a'+i)), Type: types[r.IntN(len(types))]})
		}
		enc := NewEncoder(rec)
		b := record.NewBatch(rec, 0)
		var rows [][]any
		for range 20 {
			values := make([]any, len(rec.Columns))
			for c, col := range rec.Columns {
				if r.IntN(8) == 0 {
					continue // null
				}
				switch col.Type {
				case record.ColumnString:
					values[c] = randomString(r)
				case record.ColumnInt:
					values[c] = int64(r.Uint64())
				case record.ColumnFloat:
					values[c] = randomFloat(r)
				case record.ColumnBool:
					values[c] = r.IntN(2) == 0
				case record.ColumnTimestamp:
					values[c] = r.Int64N(4e12) - 1e12
				}
			}
			plugintest.AppendRow(b, record.Origin{}, values...)
			rows = append(rows, values)
		}
		var got []byte
		for row, values := range rows {
			got = enc.AppendRow(got[:0], b, row)
			var want []byte
			decoded := map[string]any{}
			want = append(want, '{')
			for c, col := range rec.Columns {
				if c > 0 {
					want = append(want, ',')
				}
				want = append(want, stdJSON(t, col.Name)...)
				want = append(want, ':')
				v := values[c]
				if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
					v = nil
				}
				if ms, ok := v.(int64); ok && col.Type == record.ColumnTimestamp {
					v = time.UnixMilli(ms).UTC().Format(layout)
				}
				want = append(want, stdJSON(t, v)...)
				var key string
				if err := json.Unmarshal(stdJSON(t, col.Name), &key); err != nil {
					t.Fatal(err)
				}
				decoded[key] = json.RawMessage(stdJSON(t, v))
			}
			want = append(want, '}')
			if !bytes.Equal(got, want) {
				t.Fatalf("row %v:\n got %s\nwant %s", values, got, want)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON %s", got)
			}
			var back map[string]json.RawMessage
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if len(back) != len(decoded) {
				t.Fatalf("decoded %d keys, want %d", len(back), len(decoded))
			}
			for k, v := range decoded {
				var g, w any
				_ = json.Unmarshal(back[k], &g)
				_ = json.Unmarshal(v.(json.RawMessage), &w)
				if !reflect.DeepEqual(g, w) {
					t.Fatalf("key %q decodes to %v, want %v", k, g, w)
				}
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff\x00", "\u2028", "é\xc3", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("k"), s)
		if want := stdJSON(t, s); !bytes.Equal(got[1:], want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got[1:], want)
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}

func TestAppendRowAllocations(t *testing.T) {
	b := eventBatch(64)
	enc := NewEncoder(b.Schema)
	dst := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		for row := range b.Rows {
			dst = enc.AppendRow(dst[:0], b, row)
			dst = AppendRow(dst[:0], b, row)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}

func eventBatch(rows int) *record.Batch {
	b := record.NewBatch(plugintest.Events, rows)
	actions := []string{"click", "view", "purchase", "heartbeat"}
	devices := []any{"ios", "android", "web", nil}
	for i := range rows {
		plugintest.AppendRow(b, record.Origin{Offset: int64(i)}, 100000+i, actions[i%4], int64(1714564800000+i*137), devices[i%4])
	}
	return b
}

func BenchmarkAppendRow(bm *testing.B) {
	const rows = 1024
	b := eventBatch(rows)
	enc := NewEncoder(b.Schema)
	dst := make([]byte, 0, 1<<20)
	var n int
	for row := range rows {
		n += len(enc.AppendRow(dst[:0], b, row))
	}
	bm.SetBytes(int64(n))
	bm.ReportAllocs()
	for bm.Loop() {
		for row := range rows {
			dst = enc.AppendRow(dst[:0], b, row)
		}
	}
	bm.ReportMetric(float64(bm.Elapsed().Nanoseconds())/float64(bm.N*rows), "ns/row")
}
