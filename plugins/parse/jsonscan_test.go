package parse

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"
)

var (
	tInt  = record.ColumnInt
	tStr  = record.ColumnString
	tFlt  = record.ColumnFloat
	tBool = record.ColumnBool
	tTS   = record.ColumnTimestamp
)

// eventFields are the fields of the reference event shape.
var eventFields = []Field{
	fld("user_id", tInt, true),
	fld("action", tStr, true),
	fld("ts", tTS, true, "s"),
	fld("device", tStr, false),
}

func TestJSONParse(t *testing.T) {
	tests := []struct {
		name   string
		fields []Field
		msg    string
		row    string // the row kept, or ""
		reason string // the reason reported, or ""
	}{
		{name: "event", fields: eventFields,
			msg: `{"user_id":123,"action":"click","ts":1700000000,"device":"ios"}`,
			row: `user_id=123 action="click" ts=1700000000000 device="ios"`},
		{name: "key order and whitespace", fields: eventFields,
			msg: " \t{ \"device\" : \"web\" ,\r\n\"ts\":1700000000.5, \"action\":\"view\",\"user_id\":-7 }\r\n",
			row: `user_id=-7 action="view" ts=1700000000500 device="web"`},
		{name: "missing optional", fields: eventFields,
			msg: `{"user_id":1,"action":"a","ts":0}`,
			row: `user_id=1 action="a" ts=0 device=null`},
		{name: "null optional", fields: eventFields,
			msg: `{"user_id":1,"action":"a","ts":0,"device":null}`,
			row: `user_id=1 action="a" ts=0 device=null`},
		{name: "extra fields skipped", fields: eventFields,
			msg: `{"x":{"a":[1,2,{"b":"c\"}"}],"d":{}},"user_id":1,"y":[],"action":"a","z":"\u00e9\\","ts":0,"w":[true,false,null,-1.5e-3]}`,
			row: `user_id=1 action="a" ts=0 device=null`},
		{name: "escapes", fields: []Field{fld("s", tStr, true)},
			msg: `{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00 \ud800x"}`,
			row: `s="a\"b\\c/d\b\f\n\r\té€😀 ` + "\ufffd" + `x"`},
		{name: "escaped key", fields: []Field{fld("ab", tInt, true)},
			msg: `{"a\u0062":5}`, row: `ab=5`},
		{name: "utf-8 string", fields: []Field{fld("s", tStr, true)},
			msg: `{"s":"héllo wörld ✓"}`, row: `s="héllo wörld ✓"`},
		{name: "duplicate key last wins", fields: []Field{fld("a", tInt, true)},
			msg: `{"a":1,"a":2}`, row: `a=2`},
		{name: "null then value", fields: []Field{fld("a", tInt, true)},
			msg: `{"a":null,"a":2}`, row: `a=2`},
		{name: "all types", fields: []Field{fld("i", tInt, true), fld("f", tFlt, true), fld("b", tBool, true), fld("c", tBool, true), fld("s", tStr, true)},
			msg: `{"i":-9223372036854775808,"f":1e3,"b":true,"c":false,"s":""}`,
			row: `i=-9223372036854775808 f=1000 b=true c=false s=""`},
		{name: "float from int", fields: []Field{fld("f", tFlt, true)},
			msg: `{"f":42}`, row: `f=42`},
		{name: "timestamp units", fields: []Field{fld("s", tTS, true, "s"), fld("ms", tTS, true, "ms"), fld("us", tTS, true, "us"), fld("ns", tTS, true, "ns")},
			msg: `{"s":-1.5,"ms":1700000000123,"us":-1500,"ns":1700000000123999999}`,
			row: `s=-1500 ms=1700000000123 us=-2 ns=1700000000123`},
		{name: "rfc3339", fields: []Field{fld("a", tTS, true, "rfc3339"), fld("b", tTS, true, "rfc3339"), fld("c", tTS, true, "rfc3339")},
			msg: `{"a":"2023-11-14T22:13:20Z","b":"2023-11-15T00:13:20.5+02:00","c":"2023-11-14T22:13:20.123456789\u005A"}`,
			row: `a=1700000000000 b=1700000000500 c=1700000000123`},
		{name: "rfc3339 whatever the unit", fields: []Field{fld("s", tTS, true, "s"), fld("ms", tTS, true, "ms"), fld("ns", tTS, true, "ns")},
			msg: `{"s":"2023-11-14T22:13:20Z","ms":"2023-11-15T00:13:20.5+02:00","ns":1700000000123999999}`,
			row: `s=1700000000000 ms=1700000000500 ns=1700000000123`},
		{name: "nested paths", fields: []Field{fld("id", tInt, true, "payload.user.id"), fld("action", tStr, true, "payload.action"), fld("ts", tTS, false, "meta.time", "rfc3339")},
			msg: `{"meta":{"x":[{}],"time":"2023-11-14T22:13:20Z"},"payload":{"user":{"name":"x","id":9},"action":"buy"}}`,
			row: `id=9 action="buy" ts=1700000000000`},
		{name: "null object on path", fields: []Field{fld("id", tInt, false, "payload.user.id")},
			msg: `{"payload":null}`, row: `id=null`},
		{name: "duplicate objects merge", fields: []Field{fld("a", tInt, true, "o.a"), fld("b", tInt, true, "o.b")},
			msg: `{"o":{"a":1},"o":{"b":2}}`, row: `a=1 b=2`},
		{name: "two fields from one key", fields: []Field{fld("a", tInt, true, "x"), fld("b", tFlt, true, "x")},
			msg: `{"x":3}`, row: `a=3 b=3`},

		// Bad input, each with its exact reason.
		{name: "empty", fields: eventFields, msg: ``, reason: `empty line`},
		{name: "whitespace only", fields: eventFields, msg: " \t\r\n", reason: `empty line`},
		{name: "invalid utf-8", fields: eventFields, msg: "{\"a\":\"\xff\"}", reason: `invalid UTF-8 at byte 6`},
		{name: "invalid utf-8 in skipped key", fields: eventFields, msg: "{\"\xc3\":1}", reason: `invalid UTF-8 at byte 2`},
		{name: "invalid utf-8 in a declared value", fields: eventFields, msg: "{\"action\":\"ok\xe2\x82\"}", reason: `invalid UTF-8 at byte 13`},
		{name: "invalid utf-8 after a syntax error", fields: eventFields, msg: "{\"user_id\":x,\"a\":\"\xff\"}", reason: `invalid UTF-8 at byte 18`},
		{name: "invalid utf-8 outside strings", fields: eventFields, msg: "{\"user_id\":1\xff}", reason: `invalid UTF-8 at byte 12`},
		{name: "invalid utf-8 after valid", fields: eventFields, msg: "{\"action\":\"é\xed\xa0\x80\"}", reason: `invalid UTF-8 at byte 13`},
		{name: "truncated", fields: eventFields, msg: `{"user_id":123,"a`, reason: `line is not valid JSON: unexpected end of input at byte 17`},
		{name: "truncated after colon", fields: eventFields, msg: `{"user_id":`, reason: `line is not valid JSON: unexpected end of input at byte 11`},
		{name: "truncated skipped value", fields: eventFields, msg: `{"x":[1,{"y":`, reason: `line is not valid JSON: unexpected end of input at byte 13`},
		{name: "array", fields: eventFields, msg: `[1,2]`, reason: `line is not a JSON object but an array`},
		{name: "string", fields: eventFields, msg: `"x"`, reason: `line is not a JSON object but a string`},
		{name: "number", fields: eventFields, msg: ` 42`, reason: `line is not a JSON object but a number`},
		{name: "null", fields: eventFields, msg: `null`, reason: `line is not a JSON object but null`},
		{name: "not a literal", fields: eventFields, msg: `not json`, reason: `line is not valid JSON: unexpected 'o' at byte 1`},
		{name: "true", fields: eventFields, msg: `true`, reason: `line is not a JSON object but a bool`},
		{name: "garbage", fields: eventFields, msg: `hello`, reason: `line is not valid JSON: unexpected 'h' at byte 0`},
		{name: "trailing garbage", fields: eventFields, msg: `{"user_id":1,"action":"a","ts":0} x`, reason: `line is not valid JSON: unexpected 'x' after the object at byte 34`},
		{name: "two objects", fields: eventFields, msg: `{"user_id":1,"action":"a","ts":0}{}`, reason: `line is not valid JSON: unexpected '{' after the object at byte 33`},
		{name: "int from string", fields: eventFields, msg: `{"user_id":"oops","action":"a","ts":0}`, reason: `field "user_id": want int, got string "oops"`},
		{name: "int from fraction", fields: eventFields, msg: `{"user_id":1.5}`, reason: `field "user_id": want int, got fractional number 1.5`},
		{name: "int from exponent", fields: eventFields, msg: `{"user_id":1e3}`, reason: `field "user_id": want int, got number 1e3 with an exponent`},
		{name: "int overflow", fields: eventFields, msg: `{"user_id":9223372036854775808}`, reason: `field "user_id": want int, got number 9223372036854775808 beyond the int64 range`},
		{name: "int from bool", fields: eventFields, msg: `{"user_id":true}`, reason: `field "user_id": want int, got bool true`},
		{name: "int from object", fields: eventFields, msg: `{"user_id":{"a":1}}`, reason: `field "user_id": want int, got object`},
		{name: "string from number", fields: eventFields, msg: `{"action":5}`, reason: `field "action": want string, got number 5`},
		{name: "string from array", fields: eventFields, msg: `{"action":["a"]}`, reason: `field "action": want string, got array`},
		{name: "bool from string", fields: []Field{fld("b", tBool, true)}, msg: `{"b":"true"}`, reason: `field "b": want bool, got string "true"`},
		{name: "float overflow", fields: []Field{fld("f", tFlt, true)}, msg: `{"f":1e999}`, reason: `field "f": want float, got number 1e999 beyond the float64 range`},
		{name: "timestamp from string", fields: eventFields, msg: `{"ts":"1700000000"}`, reason: `field "ts": want timestamp in seconds or RFC 3339 text, got string "1700000000"`},
		{name: "timestamp overflow", fields: eventFields, msg: `{"ts":1e300}`, reason: `field "ts": want timestamp in seconds, got number 1e300 beyond the timestamp range`},
		{name: "rfc3339 from number", fields: []Field{fld("t", tTS, true, "rfc3339")}, msg: `{"t":1700000000}`, reason: `field "t": want RFC 3339 timestamp, got number 1700000000`},
		{name: "bad rfc3339", fields: []Field{fld("t", tTS, true, "rfc3339")}, msg: `{"t":"2023-02-29T00:00:00Z"}`, reason: `field "t": want RFC 3339 timestamp, got string "2023-02-29T00:00:00Z"`},
		{name: "long value truncated", fields: []Field{fld("i", tInt, true)}, msg: `{"i":"` + strings.Repeat("x", 50) + `"}`, reason: `field "i": want int, got string "` + strings.Repeat("x", 39) + `…`},
		{name: "missing required", fields: eventFields, msg: `{"user_id":1,"action":"a"}`, reason: `missing required field "ts"`},
		{name: "missing required nested", fields: []Field{fld("id", tInt, true, "user.id")}, msg: `{"user":{}}`, reason: `missing required field "id" (path "user.id")`},
		{name: "null required", fields: eventFields, msg: `{"user_id":1,"action":null,"ts":0}`, reason: `required field "action" is null`},
		{name: "object expected", fields: []Field{fld("id", tInt, true, "user.id")}, msg: `{"user":5}`, reason: `field "id" (path "user.id"): want object at "user", got number 5`},
		{name: "bad escape", fields: eventFields, msg: `{"action":"a\qb"}`, reason: `line is not valid JSON: invalid escape "\\q" in string at byte 12`},
		{name: "bad unicode escape", fields: eventFields, msg: `{"x":"\u12G4"}`, reason: `line is not valid JSON: invalid \u escape in string at byte 6`},
		{name: "control character", fields: eventFields, msg: "{\"action\":\"a\tb\"}", reason: `line is not valid JSON: control character U+0009 in string at byte 12`},
		{name: "leading zero", fields: eventFields, msg: `{"user_id":012}`, reason: `line is not valid JSON: invalid number at byte 12`},
		{name: "bare minus", fields: eventFields, msg: `{"user_id":-}`, reason: `line is not valid JSON: unexpected '}' at byte 12`},
		{name: "missing colon", fields: eventFields, msg: `{"user_id" 1}`, reason: `line is not valid JSON: unexpected '1' at byte 11`},
		{name: "trailing comma", fields: eventFields, msg: `{"user_id":1,}`, reason: `line is not valid JSON: unexpected '}' at byte 13`},
		{name: "trailing comma in skipped array", fields: eventFields, msg: `{"x":[1,]}`, reason: `line is not valid JSON: unexpected ']' at byte 8`},
		{name: "single quotes", fields: eventFields, msg: `{'a':1}`, reason: `line is not valid JSON: unexpected '\'' at byte 1`},
		{name: "bad literal", fields: eventFields, msg: `{"device":nul}`, reason: `line is not valid JSON: unexpected '}' at byte 13`},
		{name: "too deep", fields: eventFields, msg: `{"x":` + strings.Repeat("[", 10001), reason: `line is not valid JSON: nested more than 10000 levels deep at byte 10005`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &JSON{Fields: tt.fields}
			res := runParse(t, j.Output(), j.Parse, tt.msg)
			var wantRows, wantBad []string
			if tt.row != "" {
				wantRows = []string{tt.row}
			}
			if tt.reason != "" {
				wantBad = []string{"0: " + tt.reason}
			}
			if !reflect.DeepEqual(res.rows, wantRows) {
				t.Errorf("rows:\n got %q\nwant %q", res.rows, wantRows)
			}
			if !reflect.DeepEqual(res.bad, wantBad) {
				t.Errorf("bad:\n got %q\nwant %q", res.bad, wantBad)
			}
		})
	}
}

// A batch mixing good and bad rows keeps the good ones, with their origins,
// and reports the bad ones by their index in the input; the output batch
// can be reused across calls.
func TestJSONParseBatch(t *testing.T) {
	j := &JSON{Fields: eventFields}
	res := runParse(t, j.Output(), j.Parse,
		`{"user_id":1,"action":"a\n","ts":1}`,
		`{"user_id":2`,
		`{"user_id":3,"action":"c","ts":3,"device":"d"}`,
		``,
		`{"user_id":5,"action":"e","ts":5,"device":null}`,
	)
	wantRows := []string{
		`user_id=1 action="a\n" ts=1000 device=null`,
		`user_id=3 action="c" ts=3000 device="d"`,
		`user_id=5 action="e" ts=5000 device=null`,
	}
	wantBad := []string{"1: line is not valid JSON: unexpected end of input at byte 12", "3: empty line"}
	if !reflect.DeepEqual(res.rows, wantRows) || !reflect.DeepEqual(res.bad, wantBad) {
		t.Errorf("rows %q\nbad %q", res.rows, wantBad)
	}
	if res.out.Origins[1].Offset != 102 {
		t.Errorf("origins %v", res.out.Origins)
	}
}

// Messages whose keys come in changing orders, with undeclared keys, keys
// that start like a declared one and escaped keys, parse the same whatever
// the previous message was (the scanner guesses each key from the one
// before it in the previous message).
func TestJSONParseKeyOrders(t *testing.T) {
	j := &JSON{Fields: eventFields}
	res := runParse(t, j.Output(), j.Parse,
		`{"user_id":1,"action":"a","ts":1,"device":"d"}`,
		`{"user_id":2,"action":"b","ts":2,"device":"e"}`,
		`{"action":"c","user_id":3,"ts":3}`,
		`{"user_id":4,"actionx":"no","action":"d","ts":4,"device":"f"}`,
		`{"user_id":5,"act":"no","action":"e","ts":5}`,
		`{"user_id":6,"\u0061ction":"f","ts":6,"x":1,"device":"g"}`,
		`{"user_id":7,"action":"g","ts":7,"device":"h","device":"i"}`,
		`{"user_id":8,"action":"h","ts":8,"device":"é"}`,
		`{"user_id":9,"action" : "i" ,"ts":9 , "device":"j"}`,
	)
	wantRows := []string{
		`user_id=1 action="a" ts=1000 device="d"`,
		`user_id=2 action="b" ts=2000 device="e"`,
		`user_id=3 action="c" ts=3000 device=null`,
		`user_id=4 action="d" ts=4000 device="f"`,
		`user_id=5 action="e" ts=5000 device=null`,
		`user_id=6 action="f" ts=6000 device="g"`,
		`user_id=7 action="g" ts=7000 device="i"`,
		`user_id=8 action="h" ts=8000 device="é"`,
		`user_id=9 action="i" ts=9000 device="j"`,
	}
	if !reflect.DeepEqual(res.rows, wantRows) || len(res.bad) != 0 {
		t.Errorf("rows:\n got %q\nwant %q\nbad %q", res.rows, wantRows, res.bad)
	}
}

// Batches that do not fit the parser are reported row by row, not a panic.
func TestJSONParseMismatchedBatches(t *testing.T) {
	j := &JSON{Fields: eventFields}
	in := rawBatch(`{}`, `{}`)
	out := record.NewBatch(record.Schema{Columns: []record.Column{{Name: "x", Type: tInt}}}, 2)
	n := 0
	j.Parse(in, out, func(row int, reason string) {
		n++
		if !strings.HasPrefix(reason, "internal error: the output batch has 1 columns") {
			t.Errorf("reason %q", reason)
		}
	})
	if n != 2 || out.Rows != 0 {
		t.Errorf("reported %d rows, appended %d", n, out.Rows)
	}
}

// Steady-state parsing allocates nothing per record. (A batch with a null
// allocates its null marks once, because record.Vector.Reset drops them.)
func TestJSONParseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	j := &JSON{Fields: eventFields}
	in := rawBatch(
		`{"user_id":123,"action":"click","ts":1700000000,"device":"ios"}`,
		`{"user_id":124,"action":"cl\"ick","ts":1700000000.25,"extra":{"a":[1,"x\n"]},"device":"a\u00e9"}`,
	)
	out := record.NewBatch(j.Output(), 16)
	bad := func(int, string) { t.Fatal("bad row") }
	j.Parse(in, out, bad)
	allocs := testing.AllocsPerRun(100, func() {
		out.Reset()
		j.Parse(in, out, bad)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch, want 0", allocs)
	}
}
