package parse

import (
	"encoding/csv"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// csvFields declares fields without JSON paths.
func csvFields(fs ...Field) []Field {
	for i := range fs {
		fs[i].Path = nil
	}
	return fs
}

var csvEventFields = csvFields(
	fld("user_id", tInt, true),
	fld("action", tStr, true),
	fld("ts", tTS, true, "s"),
	fld("device", tStr, false),
)

func TestCSVParse(t *testing.T) {
	all := csvFields(fld("i", tInt, false), fld("f", tFlt, false), fld("b", tBool, false), fld("s", tStr, false), fld("t", tTS, false, "rfc3339"), fld("ms", tTS, false, "us"))
	tests := []struct {
		name   string
		fields []Field
		delim  rune
		msg    string
		row    string
		reason string
	}{
		{name: "event", fields: csvEventFields, msg: `123,click,1700000000,ios`,
			row: `user_id=123 action="click" ts=1700000000000 device="ios"`},
		{name: "rfc3339 whatever the unit", fields: csvEventFields, msg: `123,click,2023-11-14T22:13:20.5Z,ios`,
			row: `user_id=123 action="click" ts=1700000000500 device="ios"`},
		{name: "line break removed", fields: csvEventFields, msg: "123,click,1700000000.25,ios\r\n",
			row: `user_id=123 action="click" ts=1700000000250 device="ios"`},
		{name: "quoted", fields: csvEventFields, msg: `"123","a ""quoted"", with, commas",1,"multi` + "\n" + `line"`,
			row: `user_id=123 action="a \"quoted\", with, commas" ts=1000 device="multi\nline"`},
		{name: "empty optional is null", fields: csvEventFields, msg: `1,a,2,`,
			row: `user_id=1 action="a" ts=2000 device=null`},
		{name: "quoted empty string", fields: csvEventFields, msg: `1,a,2,""`,
			row: `user_id=1 action="a" ts=2000 device=""`},
		{name: "spaces kept", fields: csvEventFields, msg: `1, a ,2,x`,
			row: `user_id=1 action=" a " ts=2000 device="x"`},
		{name: "all types", fields: all, msg: `+007,-1.5e3,TRUE,é,2023-11-14T22:13:20.5Z,-1500`,
			row: `i=7 f=-1500 b=true s="é" t=1700000000500 ms=-2`},
		{name: "all null", fields: all, msg: `,,"",,"",`,
			row: `i=null f=null b=null s=null t=null ms=null`},
		{name: "semicolon", fields: csvEventFields, delim: ';', msg: `1;a,b;2;x`,
			row: `user_id=1 action="a,b" ts=2000 device="x"`},
		{name: "multi-byte delimiter", fields: csvEventFields, delim: '§', msg: `1§"a§b"§2§x`,
			row: `user_id=1 action="a§b" ts=2000 device="x"`},
		{name: "tab", fields: csvEventFields, delim: '\t', msg: "1\ta\t2\t",
			row: `user_id=1 action="a" ts=2000 device=null`},

		{name: "empty", fields: csvEventFields, msg: ``, reason: `empty line`},
		{name: "only line break", fields: csvEventFields, msg: "\r\n", reason: `empty line`},
		{name: "too few values", fields: csvEventFields, msg: `1,a,2`, reason: `line has 3 values, want 4 (one per field)`},
		{name: "too many values", fields: csvEventFields, msg: `1,a,2,x,`, reason: `line has 5 values, want 4 (one per field)`},
		{name: "int from text", fields: csvEventFields, msg: `oops,a,2,x`, reason: `field "user_id": want int, got "oops"`},
		{name: "int from fraction", fields: csvEventFields, msg: `1.5,a,2,x`, reason: `field "user_id": want int, got fractional number 1.5`},
		{name: "int overflow", fields: csvEventFields, msg: `99999999999999999999,a,2,x`, reason: `field "user_id": want int, got number 99999999999999999999 beyond the int64 range`},
		{name: "timestamp from text", fields: csvEventFields, msg: `1,a,yesterday,x`, reason: `field "ts": want timestamp in seconds or RFC 3339 text, got "yesterday"`},
		{name: "bad rfc3339", fields: all, msg: `,,,,2023-11-14 22:13:20,`, reason: `field "t": want RFC 3339 timestamp, got "2023-11-14 22:13:20"`},
		{name: "bad bool", fields: all, msg: `,,yes,,,`, reason: `field "b": want bool, got "yes"`},
		{name: "nan float", fields: all, msg: `,NaN,,,,`, reason: `field "f": want float, got "NaN"`},
		{name: "required empty", fields: csvEventFields, msg: `1,,2,x`, reason: `required field "action" is empty`},
		{name: "required quoted empty int", fields: csvEventFields, msg: `"",a,2,x`, reason: `required field "user_id" is empty`},
		{name: "unterminated quote", fields: csvEventFields, msg: `1,"abc,2,x`, reason: `unterminated quoted value starting at byte 2`},
		{name: "bare quote", fields: csvEventFields, msg: `1,ab"c,2,x`, reason: `bare " in unquoted value at byte 4`},
		{name: "text after closing quote", fields: csvEventFields, msg: `1,"ab"c,2,x`, reason: `unexpected 'c' after the closing quote at byte 6`},
		{name: "invalid utf-8", fields: csvEventFields, msg: "1,a\xff,2,x", reason: `invalid UTF-8 at byte 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &CSV{Fields: tt.fields, Delimiter: tt.delim}
			res := runParse(t, c.Output(), c.Parse, tt.msg)
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

// The header maps columns by name across Parse calls; it is consumed, not
// appended or reported.
func TestCSVHeader(t *testing.T) {
	tests := []struct {
		name    string
		fields  []Field
		batches [][]string
		rows    []string
		bad     []string // "batch.row: reason"
	}{
		{name: "columns by name across batches", fields: csvEventFields,
			batches: [][]string{{"\uFEFFdevice,extra,ts,\"user_id\",action", `ios,x,1,7,click`}, {`,y,2,8,view`, `web,z,3,9`}},
			rows:    []string{`user_id=7 action="click" ts=1000 device="ios"`, `user_id=8 action="view" ts=2000 device=null`},
			bad:     []string{`1.1: line has 4 values, the header has 5`}},
		{name: "optional column absent", fields: csvEventFields,
			batches: [][]string{{`ts,user_id,action`, `1,2,a`}},
			rows:    []string{`user_id=2 action="a" ts=1000 device=null`}},
		{name: "duplicate column: first wins", fields: csvEventFields,
			batches: [][]string{{`ts,user_id,action,action`, `1,2,a,b`}},
			rows:    []string{`user_id=2 action="a" ts=1000 device=null`}},
		{name: "required column absent", fields: csvEventFields,
			batches: [][]string{{`user_id,action,device`, `1,a,x`}, {`2,b,y`}},
			bad:     []string{`0.1: header has no column "ts"`, `1.0: header has no column "ts"`}},
		{name: "unreadable header", fields: csvEventFields,
			batches: [][]string{{`user_id,"action`, `1,a,2,x`}},
			bad:     []string{`0.0: header line: unterminated quoted value starting at byte 8`, `0.1: no usable header line: unterminated quoted value starting at byte 8`}},
		{name: "empty header", fields: csvEventFields,
			batches: [][]string{{``, `1,a,2,x`}},
			bad:     []string{`0.0: header line: empty line`, `0.1: no usable header line: empty line`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &CSV{Fields: tt.fields, Header: true}
			var rows, bad []string
			for bi, msgs := range tt.batches {
				in := rawBatch(msgs...)
				out := record.NewBatch(c.Output(), len(msgs))
				c.Parse(in, out, func(row int, reason string) { bad = append(bad, fmt.Sprintf("%d.%d: %s", bi, row, reason)) })
				if err := out.Validate(); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < out.Rows; i++ {
					rows = append(rows, formatRow(out, i))
				}
			}
			if !reflect.DeepEqual(rows, tt.rows) {
				t.Errorf("rows:\n got %q\nwant %q", rows, tt.rows)
			}
			if !reflect.DeepEqual(bad, tt.bad) {
				t.Errorf("bad:\n got %q\nwant %q", bad, tt.bad)
			}
		})
	}
}

// Steady-state parsing allocates nothing per record.
func TestCSVParseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	c := &CSV{Fields: csvEventFields}
	in := rawBatch(`123,click,1700000000,ios`, `124,"cl""ick",1700000000.5,"a,b"`)
	out := record.NewBatch(c.Output(), 16)
	bad := func(int, string) { t.Fatal("bad row") }
	c.Parse(in, out, bad)
	if allocs := testing.AllocsPerRun(100, func() { out.Reset(); c.Parse(in, out, bad) }); allocs != 0 {
		t.Errorf("%v allocations per batch, want 0", allocs)
	}
}

// FuzzCSVParse checks that Parse never panics and accounts for every row;
// string values of lines that encoding/csv reads agree with it.
func FuzzCSVParse(f *testing.F) {
	for _, s := range []string{
		"123,click,1700000000,ios", `"1","a ""b"", c",2.5,""`, "1,,,\r\n", "", `"`, `a"b`, `"a"b`, "1;2;3;4",
		"\xff,1,2,3", "-9223372036854775808,x,-1e-9,y", "1,2023-11-14T22:13:20Z,3,4",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, msg string, header bool) {
		strs := &CSV{Fields: csvFields(fld("a", tStr, false), fld("b", tStr, false), fld("c", tStr, false), fld("d", tStr, false))}
		typed := &CSV{Header: header, Fields: csvFields(fld("1", tInt, false), fld("a", tStr, true), fld("2", tTS, false, "s"), fld("b", tFlt, false))}
		for _, c := range []*CSV{strs, typed} {
			in := rawBatch(msg, msg, "1,2,3,4")
			out := record.NewBatch(c.Output(), 3)
			reported := map[int]bool{}
			c.Parse(in, out, func(row int, reason string) {
				if reported[row] {
					t.Fatalf("row %d reported twice", row)
				}
				reported[row] = true
			})
			if err := out.Validate(); err != nil {
				t.Fatal(err)
			}
			consumed := 0
			if c.Header && !reported[0] {
				consumed = 1 // the header line
			}
			if out.Rows+len(reported)+consumed != in.Rows {
				t.Fatalf("%d kept + %d reported + %d header != %d rows", out.Rows, len(reported), consumed, in.Rows)
			}
			for i, o := range out.Origins {
				if reported[int(o.Offset-100)] {
					t.Fatalf("output row %d comes from reported row %d", i, o.Offset-100)
				}
			}
		}
		// Compare string values with encoding/csv for single-line records.
		r := csv.NewReader(strings.NewReader(msg))
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil || len(recs) != 1 || len(recs[0]) != 4 || strings.ContainsAny(msg, "\r\n") || strings.HasPrefix(msg, " ") {
			return
		}
		in := rawBatch(msg)
		out := record.NewBatch(strs.Output(), 1)
		strs.Parse(in, out, func(int, string) {})
		if out.Rows != 1 {
			return // we are stricter (e.g. invalid UTF-8)
		}
		for k, want := range recs[0] {
			if got := out.Columns[k].String(0); got != want {
				t.Fatalf("value %d of %q: got %q, encoding/csv %q", k, msg, got, want)
			}
		}
	})
}
