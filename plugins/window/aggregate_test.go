package window

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/schema"
)

// wide is a record with every column type, for aggregate tests.
var wide = record.Schema{Columns: []record.Column{
	{Name: "user_id", Type: record.ColumnInt},
	{Name: "action", Type: record.ColumnString},
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "device", Type: record.ColumnString},
	{Name: "price", Type: record.ColumnFloat},
	{Name: "qty", Type: record.ColumnInt},
	{Name: "ok", Type: record.ColumnBool},
}}

// buildAggregate builds a tumbling window whose only aggregate, named a, is
// call. It returns the window (nil on errors) and the diagnostics rendered
// as "Summary @ from-to" with from and to byte offsets into call (-1 when the
// subject is the whole quoted value).
func buildAggregate(t *testing.T, call string) (*Window, []string) {
	t.Helper()
	line := fmt.Sprintf(`  aggregate = { a = "%s" }`, call)
	src := "window \"tumbling\" {\n  event_time = \"ts\"\n  size = \"1m\"\n" + line + "\n}\n"
	valueCol := strings.Index(line, `"`) + 2 // 1-based column of call's first byte
	c, diags := plugintest.Build(pluginNamed(t, Tumbling), src, wide)
	var got []string
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Start.Line != 4 {
			got = append(got, fmt.Sprintf("%s @ %v", d.Summary, d.Subject))
			continue
		}
		from, to := d.Subject.Start.Column-valueCol, d.Subject.End.Column-valueCol
		if from < 0 {
			from, to = -1, -1
		}
		got = append(got, fmt.Sprintf("%s @ %d-%d", d.Summary, from, to))
	}
	w, _ := c.(*Window)
	if diags.HasErrors() {
		w = nil
	}
	return w, got
}

func TestAggregates(t *testing.T) {
	tests := []struct {
		call     string
		fn       Func
		typ      record.ColumnType
		quantile float64
	}{
		{"count()", Count, record.ColumnInt, 0},
		{" count( ) ", Count, record.ColumnInt, 0},
		{"sum(user_id)", Sum, record.ColumnInt, 0},
		{"sum(price * qty)", Sum, record.ColumnFloat, 0},
		{"sum((price + 1) * (qty - 1))", Sum, record.ColumnFloat, 0},
		{"sum(len(action))", Sum, record.ColumnInt, 0},
		{"avg(qty)", Avg, record.ColumnFloat, 0},
		{"min(ts)", Min, record.ColumnTimestamp, 0},
		{"max(action)", Max, record.ColumnString, 0},
		{"max(price)", Max, record.ColumnFloat, 0},
		{"count_distinct(user_id)", CountDistinct, record.ColumnInt, 0},
		{"count_distinct(action + ',' + device)", CountDistinct, record.ColumnInt, 0},
		{"approx_count_distinct(device)", ApproxCountDistinct, record.ColumnInt, 0},
		{"approx_percentile(price, 0.99)", ApproxPercentile, record.ColumnFloat, 0.99},
		{"approx_percentile(qty,1)", ApproxPercentile, record.ColumnFloat, 1},
		{"approx_percentile(qty, .5)", ApproxPercentile, record.ColumnFloat, 0.5},
		{"first(action)", First, record.ColumnString, 0},
		{"last(ok)", Last, record.ColumnBool, 0},
		{"last(ts)", Last, record.ColumnTimestamp, 0},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			w, diags := buildAggregate(t, tt.call)
			if len(diags) > 0 || w == nil {
				t.Fatalf("diagnostics: %q", diags)
			}
			a := w.Aggregates[0]
			if a.Name != "a" || a.Func != tt.fn || a.Type != tt.typ || a.Quantile != tt.quantile {
				t.Errorf("got %+v, want func %s type %s quantile %g", a, tt.fn, tt.typ, tt.quantile)
			}
			if (a.Arg == nil) != (tt.fn == Count) {
				t.Errorf("Arg = %v for %s", a.Arg, tt.fn)
			}
			if last := w.Out.Columns[len(w.Out.Columns)-1]; last != (record.Column{Name: "a", Type: tt.typ}) {
				t.Errorf("last output column = %+v", last)
			}
		})
	}
}

func TestAggregateErrors(t *testing.T) {
	tests := []struct {
		call   string
		want   []string
		detail string // a part of the first diagnostic's detail
	}{
		{"cout()", []string{"Unknown aggregate function @ 0-4"}, `Did you mean "count"?`},
		{"COUNT()", []string{"Unknown aggregate function @ 0-5"}, `Did you mean "count"?`},
		{"median(price)", []string{"Unknown aggregate function @ 0-6"}, "approx_percentile(x, q)"},
		{"count(user_id)", []string{"Wrong number of arguments @ 6-13"}, "count_distinct(x)"},
		{"count(*)", []string{"Wrong number of arguments @ 6-7"}, "takes no argument"},
		{"sum()", []string{"Wrong number of arguments @ 3-5"}, "needs an argument"},
		{"sum(price, qty)", []string{"Wrong number of arguments @ 11-14"}, "but 2 are given"},
		{"sum(price,)", []string{"Wrong number of arguments @ 10-10"}, "takes one argument"},
		{"approx_percentile(price)", []string{"Wrong number of arguments @ 17-24"}, "but 1 is given"},
		{"approx_percentile(price, 1.5)", []string{"Invalid quantile @ 25-28"}, `"1.5" is not`},
		{"approx_percentile(price, -0.5)", []string{"Invalid quantile @ 25-29"}, "between 0 and 1"},
		{"approx_percentile(price, qty)", []string{"Invalid quantile @ 25-28"}, "number written"},
		{"approx_percentile(price, NaN)", []string{"Invalid quantile @ 25-28"}, ""},
		{"approx_percentile(prise, 2)", []string{"Unknown field in expression @ 18-23", "Invalid quantile @ 25-26"}, `Did you mean "price"?`},
		{"approx_percentile(action, 0.5)", []string{"Wrong argument type @ 18-24"}, "a number (int or float)"},
		{"sum(action)", []string{"Wrong argument type @ 4-10"}, `sum needs a number (int or float), but "action" is a string.`},
		{"avg(ts)", []string{"Wrong argument type @ 4-6"}, "is a timestamp"},
		{"min(ok)", []string{"Wrong argument type @ 4-6"}, "an int, float, timestamp or string"},
		{"sum(prise)", []string{"Unknown field in expression @ 4-9"}, `Did you mean "price"?`},
		{"first(price +)", []string{"Expression syntax error @ 12-13"}, ""},
		{"count() + 1", []string{"Unexpected text after aggregate call @ 8-11"}, "map stage"},
		{"sum(action) x", []string{"Unexpected text after aggregate call @ 12-13", "Wrong argument type @ 4-10"}, `remove "x"`},
		{"sum(price", []string{"Unclosed parenthesis @ 3-4"}, ""},
		{"sum(len(action)", []string{"Unclosed parenthesis @ 3-4"}, ""},
		{"count_distinct(action + ')')", nil, ""},
		{"count_distinct(action + ')'", []string{"Unclosed parenthesis @ 14-15"}, ""},
		{"user_id", []string{"Invalid aggregate call @ 0-7"}, "sum(user_id)"},
		{"count", []string{"Invalid aggregate call @ 0-5"}, "write count()"},
		{"(qty)", []string{"Invalid aggregate call @ 0-5"}, "starting with the function name"},
		{"", []string{"Invalid aggregate call @ -1--1"}, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			w, got := buildAggregate(t, tt.call)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("diagnostics:\n got %q\nwant %q", got, tt.want)
			}
			if len(tt.want) > 0 && w != nil {
				t.Errorf("got a window despite errors")
			}
			if tt.detail == "" {
				return
			}
			_, diags := ParseAggregate("a", schema.Text{Value: tt.call}, wide)
			if len(diags) == 0 || !strings.Contains(diags[0].Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", detailOf(diags), tt.detail)
			}
		})
	}
}

func detailOf(diags hcl.Diagnostics) string {
	if len(diags) == 0 {
		return ""
	}
	return diags[0].Detail
}

func TestSplitCall(t *testing.T) {
	tests := []struct {
		src  string
		name string
		args []string
	}{
		{"count()", "count", nil},
		{"count(  )", "count", nil},
		{"  sum ( x )  ", "sum", []string{"x"}},
		{"f(a, b)", "f", []string{"a", "b"}},
		{"f(g(a, b), c)", "f", []string{"g(a, b)", "c"}},
		{"f([1, 2], {a: 1, b: 2})", "f", []string{"[1, 2]", "{a: 1, b: 2}"}},
		{`f('a,)', "b\",(", c)`, "f", []string{`'a,)'`, `"b\",("`, "c"}},
		{"f(a,)", "f", []string{"a", ""}},
		{"f(,)", "f", []string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			c, diags := splitCall(schema.Text{Value: tt.src})
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %v", diags)
			}
			var args []string
			for _, a := range c.args {
				args = append(args, tt.src[a.from:a.to])
			}
			if c.name != tt.name || fmt.Sprintf("%q", args) != fmt.Sprintf("%q", tt.args) {
				t.Errorf("got %s %q, want %s %q", c.name, args, tt.name, tt.args)
			}
			if tt.src[c.open] != '(' || tt.src[c.close] != ')' {
				t.Errorf("parentheses at %d and %d", c.open, c.close)
			}
		})
	}
}

// TestAggregatePositions checks diagnostic positions inside a multi-line
// block, with escapes before the error and a heredoc.
func TestAggregatePositions(t *testing.T) {
	src := `window "tumbling" {
  event_time = "ts"
  size       = "1m"
  aggregate = {
    events = "count(user_id)"
    users  = "count_distinct(user_id)"
    spend  = "sum(\"x\" + actoin)"
    p      = "approx_percentile(price,  7)"
    big    = <<EOT
max(
  pric)
EOT
    odd    = "avg( price ) / 2"
  }
}
`
	_, diags := plugintest.Build(pluginNamed(t, Tumbling), src, wide)
	want := []string{
		"Wrong number of arguments @ test.hcl:5:21-5:28",
		`Unknown field in expression @ test.hcl:7:27-7:33`,
		"Invalid quantile @ test.hcl:8:41-8:42",
		"Unknown field in expression @ test.hcl:11:3-11:7",
		"Unexpected text after aggregate call @ test.hcl:13:28-13:31",
	}
	if got := render(diags); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n got %q\nwant %q", got, want)
	}
}
