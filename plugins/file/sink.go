package file

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Sink is the configuration of a `sink "file" "NAME"` block: records are
// written to an NDJSON file (created or truncated at start), one JSON
// object per record, with timestamps written as RFC 3339 strings in UTC
// with milliseconds.
type Sink struct {
	// Path is the file to write, made absolute against the pipeline file's
	// folder when written as a relative path.
	Path string
	// Input is the schema of the records the sink receives.
	Input record.Schema
	// Changelog is the changelog argument: every row gets an op field,
	// its kind; changelogAt is where it is written.
	Changelog   bool
	changelogAt hcl.Range
}

// Output returns the sink's input unchanged.
func (s *Sink) Output() record.Schema { return s.Input }

// AppliesChanges is ChangesLog with changelog = true, else ChangesAppend,
// positioned at the changelog argument (zero when it is not written).
func (s *Sink) AppliesChanges() (plugins.ChangeMode, hcl.Range) {
	return plugins.AppendMode(s.Changelog, s.changelogAt)
}

// written is the schema of the lines: the input, with op last under
// changelog = true.
func (s *Sink) written() record.Schema { return record.Logged(s.Input, s.Changelog) }

// opRows returns b as the lines show it: with its kinds as an op column
// under changelog = true (view is reused), else b itself.
func (s *Sink) opRows(b *record.Batch, view *record.Batch) *record.Batch {
	return record.LoggedRows(b, view, s.Input, s.Changelog)
}

// SinkPlugin declares `sink "file" "NAME"`.
var SinkPlugin = &plugins.Plugin{
	Kind:     plugins.KindSink,
	Contract: &plugins.SinkContract{Changes: plugins.ChangesAppend, Delivery: plugins.ExactlyOnce, DeliveryNote: "with a checkpoint block; at-least-once without"},
	Block:    "sink",
	Name:     "file",
	Summary:  "Writes records to an NDJSON file, one JSON object per line.",
	Description: "Each record becomes one JSON object whose keys are the field names in order. " +
		"Timestamps are written as RFC 3339 strings in UTC with milliseconds, " +
		"e.g. \"2024-05-01T12:00:00.000Z\". " +
		"The file is created, with any missing parent folders, when the pipeline starts; " +
		"an existing file is truncated, as it holds the output of one run. " +
		"When the pipeline runs as tasks, each task writes a file of its own, named with `-tTASK` before the extension " +
		"(`out/user_activity-t3.ndjson` for task 3), and commits it with its own epochs; " +
		"a task's checkpoint names its own file only, and a restart refuses the manifest of another task.",
	Spec: schema.NewSpec(
		schema.String("path", "The NDJSON file to write; a relative path is relative to the folder of the pipeline file. A file:// URL is accepted.").
			Example(`"out/user_activity.ndjson"`),
		schema.Bool("changelog", "Write every row with an \"op\" field, its kind: \"insert\", \"update\" or \"delete\". A pipeline whose window re-emits results (allowed_lateness, emit = \"every D\") may write to this sink only with changelog = true; a reader folds the rows into the final results (docs/event-time.md, \"Row kinds and sink contracts\").").
			WithDefault(false),
	),
	Examples: []plugins.Example{
		{Title: "Write results to a file", Config: `sink "file" "results" { path = "out/user_activity.ndjson" }`},
	},
	Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
		path, diags := resolvePath(b.Args, b.Dir)
		if diags.HasErrors() {
			return nil, diags
		}
		sk := &Sink{Path: path, Input: b.Input, Changelog: b.Args.Bool("changelog")}
		if a := b.Args.Attr("changelog"); a != nil {
			sk.changelogAt = a.Range // for diagnostics; absent, the block's header
		}
		return sk, diags
	},
}

func init() { plugins.Register(SinkPlugin) }
