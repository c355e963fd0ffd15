// Package generate declares `source "generate"`: synthetic user events at a
// fixed rate, for demos, load tests and trying a pipeline without a broker.
package generate

import (
	"fmt"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Format says how generated events are handed to the next stage.
type Format string

// The formats of `source "generate"`.
const (
	// FormatRecords yields typed records: user_id, action, ts, device.
	FormatRecords Format = "records"
	// FormatJSON yields raw NDJSON bytes with the same fields, ts as Unix
	// milliseconds, so that a `parse "json"` stage must follow.
	FormatJSON Format = "json"
)

// Columns are the fields of a generated event, in order.
var Columns = []record.Column{
	{Name: "user_id", Type: record.ColumnInt},
	{Name: "action", Type: record.ColumnString},
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "device", Type: record.ColumnString},
}

// Source is the configuration of a `source "generate"` block.
type Source struct {
	// Rate is the number of events per second of processing time (> 0).
	Rate int64
	// Count is the number of events after which the source ends; 0 means
	// unbounded.
	Count int64
	// Seed makes the events reproducible: the same seed yields the same
	// events.
	Seed int64
	// Users is the number of distinct user ids (> 0).
	Users int64
	// Disorder is the maximum out-of-orderness of event times.
	Disorder time.Duration
	// LateFraction is the fraction of events, between 0 and 1, whose event
	// time is shifted 3 to 10 minutes into the past.
	LateFraction float64
	// Format says whether typed records or raw JSON bytes are yielded.
	Format Format
}

// Output returns the typed event columns, or raw bytes for FormatJSON.
func (s *Source) Output() record.Schema {
	if s.Format == FormatJSON {
		return record.RawSchema()
	}
	return record.Schema{Columns: append([]record.Column(nil), Columns...)}
}

// Plugin declares `source "generate"`.
var Plugin = &plugins.Plugin{
	Kind:    plugins.KindSource,
	Block:   "source",
	Name:    "generate",
	Summary: "Generates synthetic user events (user_id, action, ts, device) at a fixed rate, reproducibly from a seed.",
	Description: "Events have the fields `user_id` (int), `action` (string), `ts` (timestamp) and " +
		"`device` (string). User ids are uniform from 1 to `users`; actions are `view`, `click`, " +
		"`scroll`, `purchase`, `login`, `logout` and `heartbeat`, skewed towards views and clicks " +
		"(45%, 25%, 15%, 1.5%, 3%, 2.5% and 8%); devices are `ios`, `android` and `web` (40%, 35% and 25%). " +
		"Events are handed out at `rate` per second of processing time, in bursts when the pipeline " +
		"falls behind. Event times are reproducible rather than read from the clock: event i is " +
		"nominally at 2024-05-01T12:00:00Z plus i/`rate` seconds, then moved back by a uniform amount " +
		"up to `disorder`, or, for a `late_fraction` of events, by 3 to 10 minutes instead, to " +
		"exercise watermarks and late data. The same seed yields the same events in the same order " +
		"on every run. Each event's position is its sequence number, from 0. With `format = \"json\"` the source yields " +
		"NDJSON bytes (ts as Unix milliseconds), exactly like a Pulsar topic, so a " +
		"`parse \"json\"` stage must follow. The source is one partition; with `count` it is bounded.",
	Spec: schema.NewSpec(
		schema.Int("rate", "Events per second of processing time; must be more than zero.").Example("1000"),
		schema.Int("count", "Number of events after which the source ends (bounded); 0 means unbounded.").
			WithDefault(0).Example("10000"),
		schema.Int("seed", "Seed of the random generator: the same seed yields the same events.").WithDefault(1),
		schema.Int("users", "Number of distinct user ids events are spread over; must be more than zero.").WithDefault(500),
		schema.Duration("disorder", "Maximum out-of-orderness of event times relative to each other.").
			WithDefault("5s").Example(`"0s"`),
		schema.Float("late_fraction", "Fraction of events, between 0 and 1, whose event time is shifted 3 to 10 minutes into the past.").
			WithDefault(0.01).Example("0"),
		schema.Enum("format", "\"records\" yields typed records; \"json\" yields NDJSON bytes (ts as Unix milliseconds) for a parse \"json\" stage to follow.",
			string(FormatRecords), string(FormatJSON)).WithDefault(string(FormatRecords)),
	),
	Examples: []plugins.Example{
		{Title: "A steady stream of typed events", Config: `source "generate" { rate = 100 }`},
		{Title: "A bounded, reproducible batch of JSON messages", Config: `source "generate" {
  rate          = 10000
  count         = 50000
  seed          = 42
  late_fraction = 0
  format        = "json"
}`},
	},
	Build: build,
}

func build(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	if args.Invalid("format") {
		return nil, nil // the output schema depends on the format: unknown
	}
	s := &Source{
		Rate:         args.Int("rate"),
		Count:        args.Int("count"),
		Seed:         args.Int("seed"),
		Users:        args.Int("users"),
		Disorder:     args.Duration("disorder"),
		LateFraction: args.Float("late_fraction"),
		Format:       Format(args.String("format")),
	}
	var diags hcl.Diagnostics
	check := func(name string, ok bool, detail string) {
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid value for argument %q", name),
				Detail:   detail,
				Subject:  args.Range(name).Ptr(),
			})
		}
	}
	check("rate", s.Rate > 0, fmt.Sprintf("The rate must be more than zero events per second, not %d.", s.Rate))
	check("count", s.Count >= 0, fmt.Sprintf("The count must be zero (unbounded) or more, not %d.", s.Count))
	check("users", s.Users > 0, fmt.Sprintf("The number of users must be more than zero, not %d.", s.Users))
	check("late_fraction", s.LateFraction >= 0 && s.LateFraction <= 1,
		fmt.Sprintf("The late fraction must be between 0 and 1 (e.g. 0.01 for 1%% of events), not %g.", s.LateFraction))
	if diags.HasErrors() {
		return nil, diags
	}
	return s, nil
}

func init() { plugins.Register(Plugin) }
