// Package plugintest builds a single plugin block from HCL source, for the
// unit tests of plugin packages. It decodes the block with the plugin's spec
// exactly as the loader does and calls the plugin's Build.
package plugintest

import (
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/record"

	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Build parses src, which must hold exactly one block (for example
// `filter { where = "x > 1" }`), decodes it against p's spec and builds it
// with input as the record schema reaching it. The diagnostics are those of
// parsing, decoding and building, in that order; Build is not called when
// decoding fails. Diagnostics ranges use the file name "test.hcl".
func Build(p *plugins.Plugin, src string, input record.Schema) (plugins.Component, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	body := file.Body.(*hclsyntax.Body)
	if len(body.Blocks) != 1 {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "plugintest: want exactly one block"})
	}
	ctx := &schema.Context{Source: func(string) []byte { return file.Bytes }}
	args, ds := schema.Decode(ctx, body.Blocks[0], p.Spec)
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, diags
	}
	c, ds := p.Build(&plugins.Build{Pipeline: "test", Args: args, Input: input, Dir: "."})
	return c, append(diags, ds...)
}

// Events is the standard record schema plugin tests and examples use: the
// user events of the reference pipeline.
var Events = record.Schema{Columns: []record.Column{
	{Name: "user_id", Type: record.ColumnInt},
	{Name: "action", Type: record.ColumnString},
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "device", Type: record.ColumnString},
}}

// Summaries renders diagnostics as "line:col: Summary" ("-" for no
// position), for compact assertions in table tests.
func Summaries(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		pos := "-"
		if d.Subject != nil {
			pos = fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column)
		}
		out = append(out, pos+": "+d.Summary)
	}
	return out
}

// AppendRow appends one row to b, one value per column: nil for null, int or
// int64 for int and timestamp columns (Unix ms), float64, bool or string. The
// origin is appended too. A value that does not fit its column panics: it is
// a mistake in the test.
func AppendRow(b *record.Batch, origin record.Origin, values ...any) {
	if len(values) != len(b.Columns) {
		panic(fmt.Sprintf("plugintest: %d values for %d columns", len(values), len(b.Columns)))
	}
	for c, v := range values {
		col := &b.Columns[c]
		switch v := v.(type) {
		case nil:
			col.AppendNull()
		case int:
			col.AppendInt(int64(v))
		case int64:
			col.AppendInt(v)
		case float64:
			col.AppendFloat(v)
		case bool:
			col.AppendBool(v)
		case string:
			col.AppendString([]byte(v))
		default:
			panic(fmt.Sprintf("plugintest: value %v (%T) for column %d", v, v, c))
		}
	}
	b.Origins = append(b.Origins, origin)
	b.Rows++
}

// Expect builds src with p (see Build) and fails the test unless the
// diagnostics, as Summaries, equal wantDiags and the component equals want
// (reflect.DeepEqual; a nil want requires a nil component). It returns the
// component for further checks.
func Expect(t testing.TB, p *plugins.Plugin, src string, input record.Schema, wantDiags []string, want plugins.Component) plugins.Component {
	t.Helper()
	c, diags := Build(p, src, input)
	if got := Summaries(diags); !reflect.DeepEqual(got, wantDiags) {
		t.Fatalf("diagnostics = %q, want %q", got, wantDiags)
	}
	if want == nil || reflect.ValueOf(want).IsNil() {
		if c != nil {
			t.Fatalf("component = %#v, want nil", c)
		}
		return nil
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("component = %#v, want %#v", c, want)
	}
	return c
}
