package parse

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// CSV is the configuration of a `parse "csv"` block: each message is one
// line of comma-separated (or otherwise delimited) values.
type CSV struct {
	// Fields are the declared fields, in output order.
	Fields []Field
	// Meta are the source's metadata columns (record.Schema.Meta), carried
	// from each message to its record unchanged.
	Meta []record.Column
	// OnError is what happens to a line that does not parse.
	OnError OnError
	// Delimiter separates the values of a line.
	Delimiter rune
	// Header says the first line names the columns, and fields are matched
	// by name; when false fields are taken in declaration order.
	Header bool

	once   sync.Once
	stream *csvState // the stream Parse reads, made on first use
}

// Output returns the declared fields as typed columns, in order, with the
// source's metadata columns.
func (c *CSV) Output() record.Schema { return output(c.Fields, c.Meta) }

// CSVPlugin declares `parse "csv"`.
var CSVPlugin = &plugins.Plugin{
	Kind:    plugins.KindParse,
	Block:   "parse",
	Name:    "csv",
	Summary: "Parses each message as a line of delimited values into the declared typed fields.",
	Description: "With `header = true` (the default) the first line of the input names the columns and " +
		"each `field` is read from the column of the same name; with `header = false` the fields are " +
		"the columns in the order declared. Values are quoted as in RFC 4180. A line with a value of " +
		"the wrong type or a missing required field follows `on_error`; an empty value of a field with " +
		"`required = false` is null.",
	Spec: schema.NewSpec(
		fieldBlock(false),
		onErrorField(),
		schema.String("delimiter", "The single character that separates values, such as \",\", \";\" or \"\\t\".").
			WithDefault(",").Example(`";"`).Example(`"\t"`),
		schema.Bool("header", "Whether the first line names the columns, fields being matched by name. When false the fields are the columns in declaration order.").
			WithDefault(true),
	),
	Examples: []plugins.Example{
		{Title: "Columns named by a header line", Config: `parse "csv" {
  field "user_id" { type = "int" }
  field "action" { type = "string" }
  field "ts" {
    type = "timestamp"
    unit = "s"
  }
  field "device" { type = "string" }
}`},
		{Title: "Semicolon-separated values without a header", Config: `parse "csv" {
  delimiter = ";"
  header    = false
  field "user_id" { type = "int" }
  field "action" { type = "string" }
  field "ts" {
    type = "timestamp"
    unit = "rfc3339"
  }
  on_error = "drop"
}`},
	},
	Build: buildCSV,
}

func buildCSV(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	fields, diags := buildFields(args, false)
	delim := args.String("delimiter")
	r, size := utf8.DecodeRuneInString(delim)
	switch {
	case delim == "" || size != len(delim) || r == utf8.RuneError:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid delimiter",
			Detail:   fmt.Sprintf("The delimiter must be exactly one character, such as \",\", \";\" or \"\\t\", not %q.", delim),
			Subject:  args.Range("delimiter").Ptr(),
		})
	case r == '"' || r == '\r' || r == '\n':
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid delimiter",
			Detail:   fmt.Sprintf("%q cannot separate values because it quotes values or ends lines; use a character such as \",\", \";\" or \"\\t\".", delim),
			Subject:  args.Range("delimiter").Ptr(),
		})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &CSV{Fields: fields, Meta: b.Input.Meta, OnError: OnError(args.String("on_error")), Delimiter: r, Header: args.Bool("header")}, diags
}

func init() { plugins.Register(CSVPlugin) }
