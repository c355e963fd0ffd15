package schema

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var testSpec = NewSpec(
	String("path", "The file to read from."),
	Bool("follow", "Keep reading as the file grows.").WithDefault(false),
	Int("count", "How many events to make.").WithDefault(0),
	Float("ratio", "A fraction between 0 and 1.").WithDefault(0.5),
	Duration("every", "How often to do it.").WithDefault("10s"),
	ByteSize("buffer", "How much to buffer.").WithDefault("1MiB"),
	Enum("late", "What to do with late records.", "drop", "dead_letter").WithDefault("drop"),
	List("group_by", TypeString, "Fields to group by.").WithDefault([]string{}),
	Map("aggregate", TypeExpr, "Aggregates by output name.").AsOptional(),
	Block("field", "A field to parse.", NewSpec(
		Enum("type", "The type of the field.", "string", "int"),
	)).Labels("name").Many(),
	Block("tls", "TLS settings.", NewSpec(
		String("ca_file", "The CA bundle file."),
	)).AsOptional(),
)

func decodeString(t *testing.T, src string) (*Values, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte("block {\n"+src+"\n}\n"), "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse: %s", diags)
	}
	blk := f.Body.(*hclsyntax.Body).Blocks[0]
	return Decode(&Context{Source: func(string) []byte { return f.Bytes }}, blk, testSpec)
}

func TestDecodeValues(t *testing.T) {
	v, diags := decodeString(t, `
path = "in.ndjson"
follow = true
count = 5
every = "1m30s"
buffer = "64MiB"
late = "dead_letter"
group_by = ["action", "device"]
aggregate = {
  users = "count_distinct(user_id)"
  events = "count()"
}
field "a" { type = "int" }
field "b" { type = "string" }
`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	checks := []struct {
		got, want any
	}{
		{v.String("path"), "in.ndjson"},
		{v.Bool("follow"), true},
		{v.Int("count"), int64(5)},
		{v.Float("ratio"), 0.5},
		{v.Duration("every"), 90 * time.Second},
		{v.ByteSize("buffer"), int64(64 << 20)},
		{v.String("late"), "dead_letter"},
		{strings.Join(v.Strings("group_by"), ","), "action,device"},
		{len(v.Blocks("field")), 2},
		{v.Blocks("field")[1].Label(0), "b"},
		{v.Blocks("field")[1].String("type"), "string"},
		{v.Block("tls") == nil, true},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %v, want %v", i, c.got, c.want)
		}
	}
	// Map entries keep the order written, not sorted order.
	elems := v.Elems("aggregate")
	if len(elems) != 2 || elems[0].Key != "users" || elems[1].Key != "events" {
		t.Fatalf("aggregate order = %+v", elems)
	}
	if r := elems[1].Text.RangeOf(0, 5); r.Start.Line != 12 || r.Start.Column != 13 {
		t.Errorf("count() at %s, want line 12 column 13", r)
	}
}

func TestDecodeDefaults(t *testing.T) {
	v, diags := decodeString(t, `path = "x"`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if v.Duration("every") != 10*time.Second || v.ByteSize("buffer") != 1<<20 || v.String("late") != "drop" || v.Has("every") {
		t.Errorf("defaults wrong: every=%v buffer=%d late=%q", v.Duration("every"), v.ByteSize("buffer"), v.String("late"))
	}
}

func TestDecodeDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "line:col summary: detail fragment"
	}{
		{"unknown argument with hint", `path = "x"
\nfolow = true`, []string{`3:1 Unsupported argument: Did you mean "follow"?`}},
		{"missing required", `follow = true`, []string{`1:1 Missing required argument: "path" is required`}},
		{"wrong type", `path = "x"
count = "many"`, []string{`3:9 Incorrect argument type: Argument "count" must be an int, not the string "many".`}},
		{"fractional int", `path = "x"
count = 1.5`, []string{`3:9 Invalid value for argument "count": whole number`}},
		{"bad enum", `path = "x"
late = "dorp"`, []string{`3:8 Invalid value for argument "late": Did you mean "drop"?`}},
		{"bad duration", `path = "x"
every = "10 seconds"`, []string{`3:9 Invalid value for argument "every": Invalid duration`}},
		{"duration without unit", `path = "x"
every = 10`, []string{`3:9 Invalid value for argument "every": has no unit`}},
		{"bad size", `path = "x"
buffer = "lots"`, []string{`3:10 Invalid value for argument "buffer": Invalid size`}},
		{"list element type", `path = "x"
group_by = ["a", ["b"]]`, []string{`3:18 Incorrect argument type: Element of "group_by" must be a string, not a list.`}},
		{"list not a list", `path = "x"
group_by = "a"`, []string{`3:12 Incorrect argument type: must be a list of string`}},
		{"duplicate map key", `path = "x"
aggregate = { a = "count()", a = "sum(x)" }`, []string{`3:30 Duplicate key: "a" appears twice`}},
		{"unknown block with hint", `path = "x"
feild "a" { type = "int" }`, []string{`3:1 Unsupported block type: Did you mean "field"?`}},
		{"argument written as block", `path = "x"
follow { }`, []string{`3:1 Unsupported block type: "follow" is an argument, not a block`}},
		{"block written as argument", `path = "x"
tls = {}`, []string{`3:1 Unsupported argument: "tls" is a block, not an argument`}},
		{"missing label", `path = "x"
field { type = "int" }`, []string{`3:1 Missing name label`}},
		{"extra label", `path = "x"
tls "a" { ca_file = "x" }`, []string{`3:5 Extraneous label for tls`}},
		{"duplicate single block", `path = "x"
tls { ca_file = "a" }
tls { ca_file = "b" }`, []string{`4:1 Duplicate tls block: the first one is at t.hcl:3:1.`}},
		{"duplicate labeled block", `path = "x"
field "a" { type = "int" }
field "a" { type = "string" }`, []string{`4:7 Duplicate field "a": already declared at t.hcl:3:1;`}},
		{"nested error", `path = "x"
field "a" { type = "integer" }`, []string{`3:20 Invalid value for argument "type": use one of "string" | "int"`}},
		{"every problem at once", `folow = true
late = 3
count = "x"`, []string{
			`2:1 Unsupported argument: Did you mean "follow"?`,
			`3:8 Invalid value for argument "late": "3" is not allowed`,
			`4:9 Incorrect argument type: must be an int`,
			`1:1 Missing required argument: "path"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.ReplaceAll(tt.src, `\n`, "")
			_, diags := decodeString(t, src)
			if len(diags) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(diags), len(tt.want), describeAll(diags))
			}
			for i, want := range tt.want {
				d := diags[i]
				pos, rest, _ := strings.Cut(want, " ")
				summary, fragment, _ := strings.Cut(rest, ": ")
				got := fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column)
				if got != pos || d.Summary != summary || !strings.Contains(d.Detail, fragment) {
					t.Errorf("diagnostic %d:\n got %s %s: %s\nwant %s", i, got, d.Summary, d.Detail, want)
				}
			}
		})
	}
}

func describeAll(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %s: %s: %s\n", d.Subject, d.Summary, d.Detail)
	}
	return b.String()
}

func TestSpecValidate(t *testing.T) {
	bad := NewSpec(
		String("Path", "Upper case name is not allowed."),
		Int("n", ""),
		Enum("e", "An enum without values."),
		Duration("d", "A duration with a bad default.").WithDefault("soon"),
		List("l", TypeBlock, "A list of blocks is not allowed."),
	)
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad spec")
	}
	for _, want := range []string{"Path: name must be snake_case", "n: doc is missing", "e: enum without values", "d: ", "l: element type block"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := testSpec.Validate(); err != nil {
		t.Errorf("testSpec: %v", err)
	}
}
