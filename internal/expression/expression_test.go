package expression

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/schema"
)

var events = record.Schema{Columns: []record.Column{
	{Name: "user_id", Type: record.ColumnInt},
	{Name: "action", Type: record.ColumnString},
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "price", Type: record.ColumnFloat},
	{Name: "ok", Type: record.ColumnBool},
}}

// literal returns a Text as if src had been written at line 1 column 10.
func literal(src string) schema.Text {
	return schema.VerbatimText("t.hcl", hcl.Pos{Line: 1, Column: 10, Byte: 9}, src)
}

func TestCompileTypes(t *testing.T) {
	tests := map[string]record.ColumnType{
		"action != 'heartbeat'": record.ColumnBool,
		"lower(action)":         record.ColumnString,
		"user_id + 1":           record.ColumnInt,
		"price * 2":             record.ColumnFloat,
		"user_id / 2":           record.ColumnFloat,
		"ts":                    record.ColumnTimestamp,
		"ts > now()":            record.ColumnBool,
		"len(action)":           record.ColumnInt,
		"ok ? 'y' : 'n'":        record.ColumnString,
	}
	for src, want := range tests {
		p, diags := Compile(literal(src), events, "the test expression")
		if diags.HasErrors() {
			t.Errorf("%q: %s", src, diags)
			continue
		}
		if p.Type != want {
			t.Errorf("%q yields %s, want %s", src, p.Type, want)
		}
	}
}

func TestCompileDiagnostics(t *testing.T) {
	tests := []struct {
		src, summary, detail string
		from, to             int // byte offsets inside src the subject covers
	}{
		{"acton == 'click'", "Unknown field in expression", `No field named "acton" reaches the test expression. Did you mean "action"?`, 0, 5},
		{"user_id > 1 && payload.x", "Unknown field in expression", "Fields here: user_id, action, ts, price, ok.", 15, 22},
		{"action ==", "Expression syntax error", "Unexpected token EOF", 8, 9},
		{"action + 1", "Type error in expression", "mismatched types string and int", 7, 8},
		{"'abc", "Expression syntax error", "Literal not terminated", 4, 4},
		{"  ", "Empty expression", "must not be empty", 0, 2},
		{"action ?? 1", "Expression has no record type", "Convert it", 0, 11},
		{"ts - ts", "Expression has no record type", "yields a duration, which is not one of string, int, float, bool, timestamp. Convert it to a number, e.g. (ts - ts).Milliseconds()", 0, 7},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, diags := Compile(literal(tt.src), events, "the test expression")
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics: %s", len(diags), diags)
			}
			d := diags[0]
			if d.Summary != tt.summary || !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("got %s: %s\nwant %s: ...%s...", d.Summary, d.Detail, tt.summary, tt.detail)
			}
			// literal() puts byte 0 of src at column 10.
			got := fmt.Sprintf("%d-%d", d.Subject.Start.Column-10, d.Subject.End.Column-10)
			want := fmt.Sprintf("%d-%d", tt.from, tt.to)
			if got != want && !(tt.from == tt.to && d.Subject.Start.Column-10 == tt.from) {
				t.Errorf("subject covers %s, want %s", got, want)
			}
		})
	}
}

func TestCompileBool(t *testing.T) {
	if _, diags := CompileBool(literal("action != 'x'"), events, "the filter condition"); diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags := CompileBool(literal("user_id + 1"), events, "the filter condition")
	if len(diags) != 1 || diags[0].Summary != "Condition is not a bool" || !strings.Contains(diags[0].Detail, "yields int") {
		t.Fatalf("got %s", diags)
	}
}

func TestCompilePart(t *testing.T) {
	src := literal("sum(pirce * 2)")
	_, diags := CompilePart(src, 4, 13, events, "the argument of sum")
	if len(diags) != 1 || diags[0].Subject.Start.Column != 14 || diags[0].Subject.End.Column != 19 {
		t.Fatalf("got %s", diags)
	}
	if !strings.Contains(diags[0].Detail, `Did you mean "price"?`) {
		t.Errorf("detail %q", diags[0].Detail)
	}
}
