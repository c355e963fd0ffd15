package file

import (
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Source is the configuration of a `source "file"` block: one NDJSON file,
// read as one partition, each line yielding one raw record.
type Source struct {
	// Path is the file to read, made absolute against the pipeline file's
	// folder when written as a relative path.
	Path string
	// Follow keeps reading as the file grows (like `tail -f`); when false the
	// source is bounded and ends at the end of the file.
	Follow bool
	// PollInterval is how often a followed file is checked for new data.
	PollInterval time.Duration
}

// Output returns raw bytes: one record per line, to be parsed by the next
// stage.
func (s *Source) Output() record.Schema { return record.RawSchema() }

var _ plugins.Resumable = (*Source)(nil)

// CheckResumable reports nothing: in every configuration the reader
// resumes from the byte offset of the last line a checkpoint covered.
func (s *Source) CheckResumable() hcl.Diagnostics { return nil }

// SourcePlugin declares `source "file"`.
var SourcePlugin = &plugins.Plugin{
	Kind:    plugins.KindSource,
	Block:   "source",
	Name:    "file",
	Summary: "Reads one NDJSON file, one raw record per line, bounded or following the file as it grows.",
	Description: "The file is a single partition. Each line is one record of raw bytes, " +
		"so a `parse` stage must follow. Without `follow` the source is bounded: when the " +
		"last line has been read, event time jumps to the end and every open window closes. " +
		"With `follow = true` it keeps reading as lines are appended, like `tail -f`.",
	Spec: schema.NewSpec(
		schema.String("path", "The NDJSON file to read; a relative path is relative to the folder of the pipeline file. A file:// URL is accepted.").
			Example(`"testdata/user_events.ndjson"`).Example(`"/var/log/app/events.ndjson"`),
		schema.Bool("follow", "Keep reading as the file grows, like tail -f. When false the source is bounded and ends at the end of the file.").
			WithDefault(false),
		schema.Duration("poll_interval", "How often a followed file is checked for new lines. Only meaningful with follow = true.").
			WithDefault("250ms").Example(`"1s"`),
	),
	Examples: []plugins.Example{
		{Title: "Read a recorded file once", Config: `source "file" { path = "testdata/user_events.ndjson" }`},
		{Title: "Follow a growing log file", Config: `source "file" {
  path          = "/var/log/app/events.ndjson"
  follow        = true
  poll_interval = "1s"
}`},
	},
	Build: buildSource,
}

func buildSource(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	path, diags := resolvePath(args, b.Dir)
	s := &Source{Path: path, Follow: args.Bool("follow"), PollInterval: args.Duration("poll_interval")}
	if a := args.Attr("poll_interval"); a != nil {
		switch {
		case s.PollInterval <= 0:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid poll interval",
				Detail:   "The poll interval must be more than zero, e.g. \"250ms\" or \"1s\".",
				Subject:  a.Range.Ptr(),
			})
		case !s.Follow:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Argument has no effect",
				Detail:   "poll_interval is only used when follow = true; set follow = true or remove poll_interval.",
				Subject:  hcl.RangeBetween(a.NameRange, a.Range).Ptr(),
			})
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

func init() { plugins.Register(SourcePlugin) }
