// Package plugintest builds a single plugin block from HCL source, for the
// unit tests of plugin packages. It decodes the block with the plugin's spec
// exactly as the loader does and calls the plugin's Build.
package plugintest

import (
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
func Build(p *plugins.Plugin, src string, input schema.Record) (plugins.Component, hcl.Diagnostics) {
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
var Events = schema.Record{Columns: []schema.Column{
	{Name: "user_id", Type: schema.ColumnInt},
	{Name: "action", Type: schema.ColumnString},
	{Name: "ts", Type: schema.ColumnTimestamp},
	{Name: "device", Type: schema.ColumnString},
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
