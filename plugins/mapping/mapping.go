// Package mapping declares the `map` stage, which sets fields from
// expressions and drops fields. (The package is not named map, a Go keyword.)
package mapping

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Assignment is one entry of `set`: a field and the program computing it.
type Assignment struct {
	// Name is the field written: an existing field is replaced in place, a
	// new one is appended.
	Name string
	// Value is compiled against the map stage's input; its type is the
	// field's new type.
	Value *expression.Program
}

// Map is the configuration of a map stage.
type Map struct {
	// Set are the fields computed, in the order written. Every program reads
	// the input record: assignments do not see each other's results.
	Set []Assignment
	// Drop are the input fields removed after the assignments.
	Drop []string
	// Input is the schema of the records reaching the stage.
	Input record.Schema

	output record.Schema
	runs   sync.Pool // *mapRun, reused from batch to batch
}

// Output returns the input with the assignments applied, then the drops.
func (m *Map) Output() record.Schema { return m.output }

// Plugin declares `map`.
var Plugin = &plugins.Plugin{
	Kind:    plugins.KindStage,
	Block:   "map",
	Name:    "map",
	Summary: "Sets fields from expressions and drops fields.",
	Description: "Each entry of `set` computes a field from an expression over the record reaching " +
		"the stage; the expression's type becomes the field's type. Setting an existing field " +
		"replaces it in place, a new field is appended. All expressions read the input record, " +
		"so they do not see each other's results: to build on a computed field, use a second " +
		"`map` block. `drop` then removes fields. A record for which an expression fails at run " +
		"time goes to the dead letter.",
	Spec: schema.NewSpec(
		schema.Map("set", schema.TypeExpr, "Fields to compute, each an expression over the input record. Expressions do not see each other's results.").
			AsOptional().Example(`{ action = "lower(action)", hour = "ts.Hour()" }`),
		schema.List("drop", schema.TypeString, "Input fields to remove from the records.").
			AsOptional().Example(`["device"]`),
	),
	Examples: []plugins.Example{
		{Title: "Normalize a field", Config: `map { set = { action = "lower(action)" } }`},
		{Title: "Add a field and drop another", Config: `map {
  set = {
    mobile = "device in ['ios', 'android']"
    hour   = "ts.Hour()"
  }
  drop = ["device"]
}`},
	},
	Build: build,
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

func build(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	set, drop := args.Elems("set"), args.Elems("drop")
	var diags hcl.Diagnostics
	if len(set) == 0 && len(drop) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Nothing to map",
			Detail:   "A map block needs set, drop or both, e.g. set = { action = \"lower(action)\" } or drop = [\"device\"].",
			Subject:  args.DefRange.Ptr(),
		})
	}
	m := &Map{Input: b.Input}
	out := b.Input
	written := map[string]hcl.Range{}
	for _, e := range set {
		written[e.Key] = e.KeyRange
		if !usableName(e.Key) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid field name",
				Detail:   fmt.Sprintf("%q cannot be used in expressions: a field name must start with a letter or underscore, contain only letters, digits and underscores, and not be a keyword such as \"in\" or \"not\".", e.Key),
				Subject:  e.KeyRange.Ptr(),
			})
			continue
		}
		prog, ds := expression.Compile(e.Text, b.Input, fmt.Sprintf("the value of %q", e.Key))
		explainOwnFields(ds, set)
		diags = append(diags, ds...)
		if prog == nil {
			// Keep the column, of unknown type, so that later stages
			// referring to it raise no follow-on errors.
			out = out.With(record.Column{Name: e.Key, Type: record.ColumnInvalid})
			continue
		}
		m.Set = append(m.Set, Assignment{Name: e.Key, Value: prog})
		out = out.With(record.Column{Name: e.Key, Type: prog.Type})
	}
	dropped := map[string]hcl.Range{}
	for _, e := range drop {
		name, _ := e.Value.(string)
		first, dup := dropped[name]
		setAt, isSet := written[name]
		switch {
		case dup:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate field in drop",
				Detail:   fmt.Sprintf("%q is already dropped at %s; remove this one.", name, schema.At(first)),
				Subject:  e.Range.Ptr(),
			})
			continue
		case isSet:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Field both set and dropped",
				Detail:   fmt.Sprintf("%q is set at %s and dropped here; remove it from set or from drop.", name, schema.At(setAt)),
				Subject:  e.Range.Ptr(),
			})
		case b.Input.Index(name) < 0:
			detail := fmt.Sprintf("No field named %q reaches this map block, so it cannot be dropped.", name)
			if hint := schema.DidYouMean(name, b.Input.Names()); hint != "" {
				detail += hint
			} else if len(b.Input.Columns) > 0 {
				detail += fmt.Sprintf(" Fields here: %s.", strings.Join(b.Input.Names(), ", "))
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown field", Detail: detail, Subject: e.Range.Ptr()})
		}
		dropped[name] = e.Range
		m.Drop = append(m.Drop, name)
	}
	out = out.Without(m.Drop...)
	if !diags.HasErrors() && len(out.Columns) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Every field dropped",
			Detail:   "This map block drops every field, so the records it yields would be empty; keep at least one field.",
			Subject:  args.Range("drop").Ptr(),
		})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	m.output = out
	return m, diags
}

func init() { plugins.Register(Plugin) }

// explainOwnFields rewrites "unknown field" diagnostics about a field that
// this same map block sets: its expressions do not see each other's results.
func explainOwnFields(diags hcl.Diagnostics, set []schema.Elem) {
	for _, d := range diags {
		name, ok := d.Extra.(expression.UnknownField)
		if !ok {
			continue
		}
		for _, e := range set {
			if e.Key == string(name) {
				d.Detail = fmt.Sprintf("%q is set by this same map block, but the expressions of one map block all read the record as it reaches the block and do not see each other's results. Use a second map block to build on %q.", e.Key, e.Key)
			}
		}
	}
}
