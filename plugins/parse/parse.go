// Package parse declares the parse stages, `parse "json"` and `parse "csv"`,
// which turn raw message bytes into typed records. Both declare their output
// with nested `field "NAME" { type, unit, required }` blocks and choose what
// happens to a message that does not parse with `on_error`.
package parse

import (
	"fmt"
	"regexp"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/schema"
)

// OnError says what happens to a message that cannot be parsed or lacks a
// required field: the runner's error policy (plugins.ErrorPolicy).
type OnError = plugins.OnError

// The values of `on_error`.
const (
	OnErrorDrop       = plugins.OnErrorDrop       // count the message and skip it
	OnErrorDeadLetter = plugins.OnErrorDeadLetter // send it to the pipeline's dead letter
	OnErrorFail       = plugins.OnErrorFail       // stop the pipeline with an error
)

// The timestamp units a field may declare.
var timestampUnits = []string{"s", "ms", "us", "ns", "rfc3339"}

// defaultUnit is the unit of a timestamp field written without one.
const defaultUnit = "ms"

// Field is one declared field of the parsed records.
type Field struct {
	// Name is the field's name in the output records.
	Name string
	// Type is the field's type.
	Type record.ColumnType
	// Unit is how a timestamp is written in the input: "s", "ms", "us" or
	// "ns" since the Unix epoch, or "rfc3339" text. It is empty for other
	// types.
	Unit string
	// Required sends a message without the field to on_error; when false a
	// missing field is null.
	Required bool
	// Path is the sequence of object keys leading to the value in a JSON
	// message, [Name] unless a dotted `path` is written. It is nil for CSV.
	Path []string
}

// output returns the record schema the fields declare, in order, with the
// metadata columns meta.
func output(fields []Field, meta []record.Column) record.Schema {
	cols := make([]record.Column, len(fields))
	for i, f := range fields {
		cols[i] = record.Column{Name: f.Name, Type: f.Type}
	}
	return record.Schema{Columns: cols, Meta: meta}
}

// fieldBlock declares the nested `field "NAME"` block; JSON fields may add a
// dotted path.
func fieldBlock(json bool) *schema.Field {
	fields := []*schema.Field{
		schema.Enum("type", "The type of the field's values in the output records.", record.ColumnTypeNames...).
			Example(`"int"`).Example(`"timestamp"`),
		schema.Enum("unit", "How a timestamp number is written: seconds, milliseconds, microseconds or nanoseconds since the Unix epoch; or \"rfc3339\" for RFC 3339 text only. RFC 3339 text (such as \"2024-05-01T12:00:00Z\") is accepted whatever the unit. Only for type = \"timestamp\"; the default is \"ms\".", timestampUnits...).
			AsOptional().Example(`"s"`).Example(`"rfc3339"`),
		schema.Bool("required", "Whether every message must have the field: one without it goes to on_error. When false a missing field is null.").
			WithDefault(true),
	}
	doc := "Declares one field of the parsed records; the label is its name as used in expressions. Fields are output in the order written."
	if json {
		fields = append(fields, schema.String("path", "A dotted path to the value inside nested objects, such as \"payload.user.id\". The default is the field name.").
			AsOptional().Example(`"payload.user.id"`))
	} else {
		doc = "Declares one field of the parsed records; the label is its name as used in expressions and, with header = true, the column it is read from. Fields are output in the order written."
	}
	return schema.Block("field", doc, schema.NewSpec(fields...)).Labels("name").Many()
}

// onErrorField declares `on_error`.
func onErrorField() *schema.Field {
	return schema.Enum("on_error", "What happens to a message that does not parse or lacks a required field: \"drop\" counts and skips it, \"dead_letter\" sends it to the pipeline's dead_letter with the reason, \"fail\" stops the pipeline with an error.",
		string(OnErrorDrop), string(OnErrorDeadLetter), string(OnErrorFail)).WithDefault(string(OnErrorDeadLetter))
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// usableName reports whether name can be used as a field in expressions: an
// identifier that is not one of the expression language's keywords.
func usableName(name string) bool {
	if !identifier.MatchString(name) {
		return false
	}
	rec := record.Schema{Columns: []record.Column{{Name: name, Type: record.ColumnInt}}}
	_, diags := expression.Compile(schema.Text{Value: name}, rec, "a field name")
	return !diags.HasErrors()
}

// buildFields checks the field blocks of a parse block and returns them.
// json enables the `path` argument.
func buildFields(args *schema.Values, json bool) ([]Field, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	blocks := args.Blocks("field")
	if len(blocks) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing field block",
			Detail:   fmt.Sprintf("A parse %q block must declare at least one field of the records it yields, e.g. field \"user_id\" { type = \"int\" }.", args.Label(0)),
			Subject:  args.DefRange.Ptr(),
		})
	}
	fields := make([]Field, 0, len(blocks))
	for _, fb := range blocks {
		f := Field{Name: fb.Label(0), Required: fb.Bool("required")}
		if !usableName(f.Name) {
			subject := fb.DefRange
			if len(fb.LabelRanges) > 0 {
				subject = fb.LabelRanges[0]
			}
			fix := fmt.Sprintf("Name it e.g. %q.", suggestName(f.Name))
			if json {
				fix = fmt.Sprintf("Name it e.g. %q and read the original key with path = %q.", suggestName(f.Name), f.Name)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid field name",
				Detail:   fmt.Sprintf("%q cannot be used in expressions: a field name must start with a letter or underscore, contain only letters, digits and underscores, and not be a keyword such as \"in\" or \"not\". %s", f.Name, fix),
				Subject:  subject.Ptr(),
			})
		}
		f.Type, _ = record.ParseColumnType(fb.String("type"))
		if a := fb.Attr("unit"); a != nil && f.Type != record.ColumnTimestamp && !fb.Invalid("type") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unit only applies to timestamps",
				Detail:   fmt.Sprintf("Field %q has type %q, so it has no unit; remove unit, or set type = \"timestamp\".", f.Name, f.Type),
				Subject:  hcl.RangeBetween(a.NameRange, a.Range).Ptr(),
			})
		}
		if f.Type == record.ColumnTimestamp {
			f.Unit = defaultUnit
			if fb.Has("unit") {
				f.Unit = fb.String("unit")
			}
		}
		if json {
			path, ds := jsonPath(fb)
			diags = append(diags, ds...)
			f.Path = path
		}
		fields = append(fields, f)
	}
	return fields, diags
}

// suggestName turns name into a usable identifier for a hint.
func suggestName(name string) string {
	out := []byte{}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			out = append(out, c)
		case len(out) > 0 && out[len(out)-1] != '_':
			out = append(out, '_')
		}
	}
	if len(out) == 0 || out[0] >= '0' && out[0] <= '9' {
		out = append([]byte("f_"), out...)
	}
	s := string(out)
	if !usableName(s) {
		s += "_"
	}
	return s
}
