// Package console declares `sink "console" "NAME"`, which prints records to
// standard output for development and debugging.
package console

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Format is how the console sink prints records.
type Format string

// The formats of `sink "console"`.
const (
	// FormatTable prints aligned columns with a header, one row per record.
	FormatTable Format = "table"
	// FormatJSON prints one JSON object per line (NDJSON).
	FormatJSON Format = "json"
)

// Sink is the configuration of a `sink "console" "NAME"` block.
type Sink struct {
	// Format is how records are printed.
	Format Format
	// Input is the schema of the records the sink receives.
	Input record.Schema
}

// Output returns the sink's input unchanged.
func (s *Sink) Output() record.Schema { return s.Input }

// Plugin declares `sink "console" "NAME"`.
var Plugin = &plugins.Plugin{
	Kind:     plugins.KindSink,
	Contract: &plugins.SinkContract{Changes: plugins.ChangesLog, ChangesNote: "a batch holding updates or deletes is printed with each row's kind in an op column", Delivery: plugins.AtLeastOnce, DeliveryNote: "rows are printed as they come; a replay after a restart prints them again"},
	Block:    "sink",
	Name:     "console",
	Summary:  "Prints records to standard output, as a table or as JSON lines.",
	Description: "Meant for development and debugging: output is not checkpointed, so records may be " +
		"printed again after a restart. Timestamps are printed as RFC 3339 in UTC.",
	Spec: schema.NewSpec(
		schema.Enum("format", "How records are printed: \"table\" aligns the fields in columns under a header, \"json\" prints one JSON object per line.",
			string(FormatTable), string(FormatJSON)).WithDefault(string(FormatTable)),
	),
	Examples: []plugins.Example{
		{Title: "A table on the terminal", Config: `sink "console" "debug" {}`},
		{Title: "JSON lines, e.g. for jq", Config: `sink "console" "debug" { format = "json" }`},
	},
	Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
		return &Sink{Format: Format(b.Args.String("format")), Input: b.Input}, nil
	},
}

func init() { plugins.Register(Plugin) }
