package pulsar

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// DeadLetter is the configuration of a `dead_letter "pulsar"` block: every
// record that could not be processed is published with its original bytes
// as payload and where and why it failed as properties.
type DeadLetter struct {
	Conn Connection
	// Topic is the topic written, fully qualified.
	Topic string
	// Pipeline is the pipeline's name, set as the pipeline property.
	Pipeline string
	// Input is the schema of the records the stages hand on.
	Input record.Schema
}

// Output returns the input unchanged.
func (d *DeadLetter) Output() record.Schema { return d.Input }

// DeadLetterPlugin declares `dead_letter "pulsar"`.
var DeadLetterPlugin = &plugins.Plugin{
	Kind:    plugins.KindDeadLetter,
	Block:   "dead_letter",
	Name:    "pulsar",
	Summary: "Publishes records that could not be processed to an Apache Pulsar topic, with their original bytes and the reason.",
	Description: "Each rejected record becomes one message whose payload is the record's original bytes, as the source read them, " +
		"and whose properties say where and why it failed:\n\n" +
		"- `pipeline`: the pipeline's name;\n" +
		"- `stage`: the block that rejected it, e.g. `parse \"json\"`;\n" +
		"- `reason`: why, e.g. `field \"user_id\": want int, got string \"x\"`;\n" +
		"- `partition` and `offset`: its position in the source (for `source \"pulsar\"`, the partition's number and the message's index in this run);\n" +
		"- `time`: when it was rejected, RFC 3339 in UTC with milliseconds.\n\n" +
		"The messages have no key. A batch of dead records counts as written once the broker has stored all of them.",
	Spec: schema.NewSpec(append(connectionFields(),
		schema.String("topic", "The topic to write: a name such as \"dead\" (in public/default), \"tenant/namespace/dead\" or \"persistent://tenant/namespace/dead\".").
			Example(`"persistent://public/default/user-activity-dead"`),
	)...),
	Examples: []plugins.Example{
		{Title: "Keep unparsable events in a topic", Config: `dead_letter "pulsar" {
  service_url = "pulsar://pulsar.example.com:6650"
  topic       = "persistent://public/default/user-activity-dead"
}`},
	},
	Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
		conn, diags := buildConnection(b.Args, b.Dir)
		topic, ds := buildTopic(b.Args)
		diags = append(diags, ds...)
		if diags.HasErrors() {
			return nil, diags
		}
		return &DeadLetter{Conn: conn, Topic: topic, Pipeline: b.Pipeline, Input: b.Input}, diags
	},
}

func init() { plugins.Register(DeadLetterPlugin) }
