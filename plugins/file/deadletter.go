package file

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Payload says how a dead letter writes the original bytes of a record.
type Payload string

// The payload encodings of `dead_letter "file"`.
const (
	// PayloadText writes the bytes as a JSON string when they are valid
	// UTF-8, and as base64 otherwise.
	PayloadText Payload = "text"
	// PayloadBase64 always writes the bytes base64-encoded.
	PayloadBase64 Payload = "base64"
)

// DeadLetter is the configuration of a `dead_letter "file"` block: every
// record that could not be processed is appended to an NDJSON file with its
// original bytes, its source position and the reason.
type DeadLetter struct {
	// Path is the file to write, made absolute against the pipeline file's
	// folder when written as a relative path.
	Path string
	// Payload is how the original bytes are written.
	Payload Payload
	// Input is the schema of the records the stages hand on.
	Input schema.Record
}

// Output returns the input unchanged.
func (d *DeadLetter) Output() schema.Record { return d.Input }

// DeadLetterPlugin declares `dead_letter "file"`.
var DeadLetterPlugin = &plugins.Plugin{
	Kind:    plugins.KindDeadLetter,
	Block:   "dead_letter",
	Name:    "file",
	Summary: "Writes records that could not be processed to an NDJSON file, with their original bytes, source position and reason.",
	Spec: schema.NewSpec(
		schema.String("path", "The NDJSON file to write; a relative path is relative to the folder of the pipeline file. A file:// URL is accepted.").
			Example(`"/data/dead/user_activity.ndjson"`),
		schema.Enum("payload", "How the original bytes are written: \"text\" writes them as a JSON string, but only when they are valid UTF-8 (base64 is used anyway otherwise); \"base64\" always encodes them.", string(PayloadText), string(PayloadBase64)).
			WithDefault(string(PayloadText)),
	),
	Examples: []plugins.Example{
		{Title: "Keep unparsable events", Config: `dead_letter "file" { path = "/data/dead/user_activity.ndjson" }`},
		{Title: "Binary payloads", Config: `dead_letter "file" {
  path    = "dead/events.ndjson"
  payload = "base64"
}`},
	},
	Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
		path, diags := resolvePath(b.Args, b.Dir)
		if diags.HasErrors() {
			return nil, diags
		}
		return &DeadLetter{Path: path, Payload: Payload(b.Args.String("payload")), Input: b.Input}, diags
	},
}

func init() { plugins.Register(DeadLetterPlugin) }
