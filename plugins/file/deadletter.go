package file

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"

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
	Input record.Schema
}

// Output returns the input unchanged.
func (d *DeadLetter) Output() record.Schema { return d.Input }

// DeadLetterPlugin declares `dead_letter "file"`.
var DeadLetterPlugin = &plugins.Plugin{
	Kind:    plugins.KindDeadLetter,
	Block:   "dead_letter",
	Name:    "file",
	Summary: "Writes records that could not be processed to an NDJSON file, with their original bytes, source position and reason.",
	Description: "The file is an audit log: lines are appended to it, and it is created with any missing parent folders when it does not exist. " +
		"Each line is one JSON object such as\n\n" +
		"```json\n" +
		`{"time":"2024-05-01T12:00:00.000Z","pipeline":"user_activity","stage":"parse \"json\"","reason":"field \"user_id\": want int, got string \"x\"","partition":0,"offset":1234,"payload":"{\"user_id\":\"x\"}"}` + "\n" +
		"```\n\n" +
		"where `time` is when the record was rejected (RFC 3339, UTC, milliseconds), `stage` the block that rejected it, " +
		"`partition` and `offset` its position in the source (a file's byte offset), and `payload` its original bytes. " +
		"When the bytes are written base64-encoded, the key is `payload_base64` instead of `payload`. " +
		"When the pipeline runs as tasks, a `task` key follows `pipeline` (`\"task\":\"3\"`), since each task numbers its partitions from 0; " +
		"the tasks append to the same file, each line in one write.",
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
