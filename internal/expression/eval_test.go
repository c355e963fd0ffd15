package expression

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/schema"
)

// row is one record over events: user_id, action, ts (Unix ms), price, ok;
// nil is a null field.
type row [5]any

func batchOf(rows ...row) *record.Batch {
	b := record.NewBatch(events, len(rows))
	for _, r := range rows {
		plugintest.AppendRow(b, record.Origin{}, r[:]...)
	}
	b.Origins = nil // these tests do not track origins
	return b
}

var click = row{42, "Click", int64(1700000000000), 2.5, true}

func TestEval(t *testing.T) {
	tests := []struct {
		src  string
		row  row
		want any    // int64, float64, string, bool, or nil for null
		err  string // a run-time error containing this
		fast bool
	}{
		{src: "action != 'heartbeat'", row: click, want: true, fast: true},
		{src: "lower(action)", row: click, want: "click", fast: true},
		{src: "upper(action) + '!'", row: click, want: "CLICK!", fast: true},
		{src: "len('日本')", row: click, want: int64(2), fast: true},
		{src: "user_id / 4", row: click, want: 10.5, fast: true},
		{src: "user_id / 0", row: click, want: math.Inf(1), fast: true},
		{src: "user_id % 0", row: row{42, "x", 0, 0.0, true}, err: "division by zero", fast: true},
		{src: "user_id % (user_id - 42)", row: click, err: "division by zero", fast: true},
		{src: "user_id * 9223372036854775807", row: click, want: wrapMul(42, math.MaxInt64), fast: true},
		{src: "price * 2", row: click, want: 5.0, fast: true},
		{src: "ts", row: click, want: int64(1700000000000), fast: true},
		{src: "ts", row: row{1, "a", int64(-86400001), 0.0, false}, want: int64(-86400001), fast: true},
		{src: "ok ? 'y' : 'n'", row: click, want: "y", fast: true},
		{src: "int(action)", row: click, err: `int() cannot convert "Click" to a number`, fast: true},
		{src: "action in ['Click', 'view']", row: click, want: true, fast: true},
		// The VM: method calls and time arithmetic.
		{src: "ts.Year()", row: click, want: int64(2023)},
		{src: "ts.Year()", row: row{1, "a", int64(-1), 0.0, false}, want: int64(1969)},
		{src: "ts + duration('1s')", row: click, want: int64(1700000001000)},
		// Null fields go to the VM with nil.
		{src: "action ?? 'none'", row: row{1, nil, 0, 0.0, true}, want: "none", fast: true},
		{src: "lower(action)", row: row{1, nil, 0, 0.0, true}, err: `field "action" is null`, fast: true},
		{src: "user_id + 1", row: row{nil, "a", 0, 0.0, true}, err: `field "user_id" is null`, fast: true},
		{src: "ok", row: row{1, "a", 0, 0.0, nil}, want: nil, fast: true},
		{src: "ts", row: row{1, "a", nil, 0.0, true}, want: nil, fast: true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, diags := Compile(schema.Text{Value: tt.src}, events, "the test expression")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			b := batchOf(tt.row)
			for _, e := range []*Evaluator{p.Evaluator(events), p.VMEvaluator(events)} {
				e.Bind(b)
				v, err := e.Eval(0)
				if tt.err != "" {
					if err == nil || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("fast=%v: error = %v, want one containing %q", e.Fast(), err, tt.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("fast=%v: %v", e.Fast(), err)
				}
				if got := valueOf(v); got != tt.want {
					t.Fatalf("fast=%v: got %#v, want %#v", e.Fast(), got, tt.want)
				}
			}
			if got := p.Evaluator(events).Fast(); got != tt.fast {
				t.Errorf("fast path = %v, want %v", got, tt.fast)
			}
		})
	}
}

// wrapMul multiplies with Go's wrap-around, as expr's int arithmetic does.
func wrapMul(a, b int64) int64 { return a * b }

func valueOf(v Value) any {
	switch {
	case v.Null:
		return nil
	case v.Type == record.ColumnInt || v.Type == record.ColumnTimestamp:
		return v.Int
	case v.Type == record.ColumnFloat:
		return v.Float
	case v.Type == record.ColumnBool:
		return v.Bool
	}
	return v.Str
}

func TestBoolNullIsFalse(t *testing.T) {
	p, _ := CompileBool(schema.Text{Value: "ok"}, events, "the condition")
	e := p.Evaluator(events)
	e.Bind(batchOf(row{1, "a", 0, 0.0, nil}, click))
	if keep, err := e.Bool(0); keep || err != nil {
		t.Errorf("null condition: %v, %v; want false, nil", keep, err)
	}
	if keep, err := e.Bool(1); !keep || err != nil {
		t.Errorf("true condition: %v, %v; want true, nil", keep, err)
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		out  any
		t    record.ColumnType
		want Value
		err  bool
	}{
		{out: 3, t: record.ColumnFloat, want: Value{Type: record.ColumnFloat, Float: 3}},
		{out: int64(3), t: record.ColumnInt, want: Value{Type: record.ColumnInt, Int: 3}},
		{out: 2.5, t: record.ColumnInt, err: true},
		{out: time.March, t: record.ColumnInt, want: Value{Type: record.ColumnInt, Int: 3}},
		{out: uint8(7), t: record.ColumnFloat, want: Value{Type: record.ColumnFloat, Float: 7}},
		{out: float32(1.5), t: record.ColumnFloat, want: Value{Type: record.ColumnFloat, Float: 1.5}},
		{out: "x", t: record.ColumnBool, err: true},
		{out: time.UnixMilli(-5), t: record.ColumnTimestamp, want: Value{Type: record.ColumnTimestamp, Int: -5}},
		{out: nil, t: record.ColumnString, want: Value{Type: record.ColumnString, Null: true}},
	}
	for _, tt := range tests {
		v, err := convert(tt.out, tt.t)
		if (err != nil) != tt.err || !tt.err && v != tt.want {
			t.Errorf("convert(%#v, %s) = %#v, %v", tt.out, tt.t, v, err)
		}
	}
}

// TestPlanShared checks that evaluators of one program share the compiled
// closures, and that a program is still evaluated right against another
// schema.
func TestPlanShared(t *testing.T) {
	p, _ := Compile(schema.Text{Value: "user_id + 1"}, events, "x")
	if p.Evaluator(events).plan != p.Evaluator(events).plan {
		t.Error("the plan is compiled again for the same program and schema")
	}
	other := record.Schema{Columns: append([]record.Column{{Name: "pad", Type: record.ColumnBool}}, events.Columns...)}
	b := record.NewBatch(other, 1)
	b.Columns[0].AppendBool(true)
	for c, v := range click {
		switch v := v.(type) {
		case int:
			b.Columns[c+1].AppendInt(int64(v))
		case int64:
			b.Columns[c+1].AppendInt(v)
		case string:
			b.Columns[c+1].AppendString([]byte(v))
		case float64:
			b.Columns[c+1].AppendFloat(v)
		case bool:
			b.Columns[c+1].AppendBool(v)
		}
	}
	b.Rows = 1
	e := p.Evaluator(other)
	e.Bind(b)
	if v, err := e.Eval(0); err != nil || v.Int != 43 {
		t.Errorf("got %v, %v; want 43", v.Int, err)
	}
}

func TestAppendTo(t *testing.T) {
	v := record.Vector{Type: record.ColumnString}
	Value{Type: record.ColumnString, Str: "héllo"}.AppendTo(&v)
	Value{Type: record.ColumnString, Null: true}.AppendTo(&v)
	if v.Len() != 2 || v.String(0) != "héllo" || !v.IsNull(1) {
		t.Errorf("vector = %#v", v)
	}
}

// TestConcurrentEvaluators runs evaluators of one program (sharing its
// compiled closures) from several goroutines; run with -race.
func TestConcurrentEvaluators(t *testing.T) {
	p, _ := Compile(schema.Text{Value: "upper(action) + '-' + lower(action)"}, events, "x")
	b := batchOf(click, row{2, "ViEw", 0, 1.0, false})
	done := make(chan string)
	for range 4 {
		go func() {
			e := p.Evaluator(events)
			e.Bind(b)
			var last string
			for i := range 1000 {
				v, _ := e.Eval(i % 2)
				last = v.Str
			}
			done <- last
		}()
	}
	for range 4 {
		if got := <-done; got != "VIEW-view" {
			t.Errorf("got %q", got)
		}
	}
}
