package parse

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// JSON is the configuration of a `parse "json"` block: each message is one
// JSON object, and each declared field is read from it by name or path.
type JSON struct {
	// Fields are the declared fields, in output order.
	Fields []Field
	// Meta are the source's metadata columns (record.Schema.Meta), carried
	// from each message to its record unchanged.
	Meta []record.Column
	// OnError is what happens to a message that does not parse.
	OnError OnError

	once sync.Once
	plan *jsonPlan // compiled from Fields on first use
}

// Output returns the declared fields as typed columns, in order, with the
// source's metadata columns.
func (j *JSON) Output() record.Schema { return output(j.Fields, j.Meta) }

// JSONPlugin declares `parse "json"`.
var JSONPlugin = &plugins.Plugin{
	Kind:    plugins.KindParse,
	Block:   "parse",
	Name:    "json",
	Summary: "Parses each message as a JSON object into the declared typed fields.",
	Description: "Each `field` block declares one output field, read from the key of the same name " +
		"or from a dotted `path` into nested objects. Numbers are converted to the declared type " +
		"(a fractional number for an int field is an error); a timestamp is a number in the declared " +
		"`unit` since the Unix epoch, or an RFC 3339 string whatever the unit (with unit = \"rfc3339\" only " +
		"a string). A message that is not a JSON object, has a " +
		"value of the wrong type or lacks a required field follows `on_error`.",
	Spec: schema.NewSpec(
		fieldBlock(true),
		onErrorField(),
	),
	Examples: []plugins.Example{
		{Title: "User events", Config: `parse "json" {
  field "user_id" { type = "int" }
  field "action" { type = "string" }
  field "ts" {
    type = "timestamp"
    unit = "ms"
  }
  field "device" {
    type     = "string"
    required = false
  }
}`},
		{Title: "Fields inside nested objects", Config: `parse "json" {
  field "user_id" {
    type = "int"
    path = "payload.user.id"
  }
  field "action" {
    type = "string"
    path = "payload.action"
  }
  field "ts" {
    type = "timestamp"
    unit = "rfc3339"
    path = "meta.time"
  }
  on_error = "drop"
}`},
	},
	Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
		fields, diags := buildFields(b.Args, true)
		if diags.HasErrors() {
			return nil, diags
		}
		return &JSON{Fields: fields, Meta: b.Input.Meta, OnError: OnError(b.Args.String("on_error"))}, diags
	},
}

// jsonPath returns the keys a field is read from: its dotted path, or its
// name.
func jsonPath(fb *schema.Values) ([]string, hcl.Diagnostics) {
	a := fb.Attr("path")
	if a == nil {
		return []string{fb.Label(0)}, nil
	}
	text := a.Text
	keys := strings.Split(text.Value, ".")
	off := 0
	for _, k := range keys {
		if k == "" {
			dot := off - 1 // the dot before the empty key, or after it at the start
			if dot < 0 {
				dot = 0
			}
			subject := text.RangeOf(dot, dot+1)
			if text.Value == "" {
				subject = a.Range
			}
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid field path",
				Detail:   fmt.Sprintf("The path %q has an empty key; write the object keys separated by single dots, e.g. \"payload.user.id\".", text.Value),
				Subject:  subject.Ptr(),
			}}
		}
		off += len(k) + 1
	}
	return keys, nil
}

func init() { plugins.Register(JSONPlugin) }
