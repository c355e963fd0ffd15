package pulsar

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// The compressions of `compression`.
const (
	CompressionNone = "none"
	CompressionLZ4  = "lz4"
	CompressionZSTD = "zstd"
)

// Sink is the configuration of a `sink "pulsar" "NAME"` block: every record
// is published as one message whose payload is the record as a JSON object.
type Sink struct {
	Conn Connection
	// Topic is the topic written, fully qualified.
	Topic string
	// Key computes each message's key; nil for the default.
	Key *expression.Program
	// WindowKey holds the columns of the default key of window results,
	// those of the input's Key (window_start and the group_by fields). It
	// is nil when Key is set or the records have no key.
	WindowKey []int
	// Compression is CompressionNone, CompressionLZ4 or CompressionZSTD.
	Compression string
	// Batching packs several messages into one broker entry, up to
	// BatchingMaxMessages or BatchingMaxDelay.
	Batching            bool
	BatchingMaxMessages int
	BatchingMaxDelay    time.Duration
	// Properties are set on every message; nil when none are written.
	Properties map[string]string
	// Pipeline is the pipeline's name, the first part of default keys.
	Pipeline string
	// Input is the schema of the records the sink receives.
	Input record.Schema
}

// Output returns the sink's input unchanged.
func (s *Sink) Output() record.Schema { return s.Input }

// OpProperty is the message property holding each row's kind: "insert",
// "update" or "delete" (record.RowKind).
const OpProperty = "sluice-op"

// AppliesChanges is ChangesUpsert when messages have a key (key, or the
// default key of window results), else ChangesAppend: a message without
// a key cannot replace nor delete another.
func (s *Sink) AppliesChanges() (plugins.ChangeMode, hcl.Range) {
	if s.Key == nil && s.WindowKey == nil {
		return plugins.ChangesAppend, hcl.Range{}
	}
	return plugins.ChangesUpsert, hcl.Range{}
}

// SinkPlugin declares `sink "pulsar" "NAME"`.
var SinkPlugin = &plugins.Plugin{
	Kind:     plugins.KindSink,
	Contract: &plugins.SinkContract{Changes: plugins.ChangesUpsert, ChangesNote: "by message key, for readers and compacted topics that keep the latest message of a key: an update is a message with the same key, a delete a message with the key and an empty payload, as Pulsar compaction expects; every message has a property sluice-op (insert, update, delete); messages without a key cannot apply updates", Delivery: plugins.AtLeastOnce, DeliveryNote: "a replay after a restart sends the rows again"},
	Block:    "sink",
	Name:     "pulsar",
	Summary:  "Publishes records to an Apache Pulsar topic, one JSON object per message.",
	Description: "Each record becomes one message whose payload is the record as a JSON object, keys in field order, " +
		"with timestamps as RFC 3339 strings in UTC with milliseconds, e.g. \"2024-05-01T12:00:00.000Z\". " +
		"A batch of records counts as written once the broker has stored every message of it, " +
		"so the source acknowledges its own messages only after that.\n\n" +
		"**Message key.** With `key`, each message's key is that expression's value, written as text " +
		"(timestamps as Unix milliseconds); a null value leaves the message without a key. " +
		"Without `key`, window results get a deterministic key made of the pipeline's name, `window_start` in Unix milliseconds " +
		"and the window's `group_by` fields in order, joined with `|`, e.g. `user_activity|1714564800000|login` " +
		"(timestamps as Unix milliseconds, a null as nothing): the updates of `emit = \"every ...\"` and the final row of a window share a key, " +
		"and a window replayed after a restart gets the same one. " +
		"A `map` after the window that replaces or drops one of those fields leaves the results without a default key. " +
		"Other records have no key by default.\n\n" +
		"**Changelog.** Every message has the property `sluice-op`: `insert`, `update` or `delete`, the row's kind (docs/event-time.md, \"Row kinds and sink contracts\"). " +
		"An update (`emit = \"every ...\"`, `allowed_lateness`) is a message with the key of the row it replaces. " +
		"A delete (a session replaced by a merge) is a message with the key and an empty payload (a null value), " +
		"which topic compaction and a reader keeping the latest message per key take as the key's removal: " +
		"`pulsar-admin topics compact` (or a namespace's `compaction-threshold`) then keeps the final results only. " +
		"Applying a changelog needs a key on every row: lint refuses a pipeline emitting updates into a sink whose records have none, " +
		"and a delete row whose `key` is null fails the pipeline.",
	Spec: schema.NewSpec(append(connectionFields(),
		schema.String("topic", "The topic to write: a name such as \"events\" (in public/default), \"tenant/namespace/events\" or \"persistent://tenant/namespace/events\".").
			Example(`"persistent://public/default/user-activity"`),
		schema.Expr("key", "An expression computing each message's key from the record, e.g. \"action\" or \"device + '/' + action\". Window results have a deterministic key by default.").
			AsOptional().Example(`"action"`),
		schema.Enum("compression", "How message payloads are compressed.", CompressionNone, CompressionLZ4, CompressionZSTD).
			WithDefault(CompressionLZ4),
		schema.Bool("batching", "Pack several messages into one broker entry, which is much faster for small records.").
			WithDefault(true),
		schema.Int("batching_max_messages", "The most messages in one batch.").WithDefault(1000),
		schema.Duration("batching_max_delay", "How long a message may wait for its batch to fill.").
			WithDefault("10ms").Example(`"50ms"`),
		schema.Map("properties", schema.TypeString, "Properties set on every message.").
			AsOptional().Example(`{ producer = "sluice", env = "prod" }`),
	)...),
	Examples: []plugins.Example{
		{Title: "Publish window results", Config: `sink "pulsar" "results" {
  service_url = "pulsar://pulsar.example.com:6650"
  topic       = "persistent://public/default/user-activity"
}`},
		{Title: "Keyed records, compressed with zstd", Config: `sink "pulsar" "by_device" {
  service_url = "pulsar+ssl://pulsar.example.com:6651"
  topic       = "acme/prod/user-events"
  key         = "device"
  compression = "zstd"
  properties  = { producer = "sluice" }
  auth {
    token_env = "PULSAR_TOKEN"
  }
}`},
	},
	Build: buildSink,
}

func buildSink(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	conn, diags := buildConnection(args, b.Dir)
	s := &Sink{
		Conn:                conn,
		Compression:         args.String("compression"),
		Batching:            args.Bool("batching"),
		BatchingMaxMessages: int(args.Int("batching_max_messages")),
		BatchingMaxDelay:    args.Duration("batching_max_delay"),
		Pipeline:            b.Pipeline,
		Input:               b.Input,
	}
	topic, ds := buildTopic(args)
	s.Topic = topic
	diags = append(diags, ds...)
	if args.Has("key") {
		prog, ds := expression.Compile(args.Text("key"), b.Input, "the message key \"key\"")
		diags = append(diags, ds...)
		s.Key = prog
	} else {
		s.WindowKey = b.Input.KeyColumns()
	}
	diags = append(diags, checkBatching(args, s.Batching)...)
	props, ds := buildProperties(args)
	s.Properties = props
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// buildTopic checks the topic argument of a sink or dead letter.
func buildTopic(args *schema.Values) (string, hcl.Diagnostics) {
	if args.Invalid("topic") {
		return "", nil
	}
	name, err := topicName(args.String("topic"))
	if err != nil {
		return "", hcl.Diagnostics{errorAt(args.Range("topic"), "Invalid topic name", err.Error()+".")}
	}
	return name, nil
}

// checkBatching checks the batching arguments.
func checkBatching(args *schema.Values, batching bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if !args.Invalid("batching_max_messages") && args.Int("batching_max_messages") <= 0 {
		diags = append(diags, errorAt(args.Range("batching_max_messages"), "Invalid batch size",
			fmt.Sprintf("batching_max_messages must be more than zero, e.g. 1000; got %d.", args.Int("batching_max_messages"))))
	}
	if !args.Invalid("batching_max_delay") && args.Duration("batching_max_delay") <= 0 {
		diags = append(diags, errorAt(args.Range("batching_max_delay"), "Invalid batching delay",
			"batching_max_delay must be more than zero, e.g. \"10ms\"."))
	}
	if !batching {
		for _, name := range []string{"batching_max_messages", "batching_max_delay"} {
			if args.Has(name) {
				diags = append(diags, warningAt(argRange(args, name), "Argument has no effect",
					fmt.Sprintf("%s is only used when batching = true; set batching = true or remove %s.", name, name)))
			}
		}
	}
	return diags
}

// buildProperties checks the properties map.
func buildProperties(args *schema.Values) (map[string]string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	elems := args.Elems("properties")
	if len(elems) == 0 {
		return nil, nil
	}
	props := make(map[string]string, len(elems))
	for _, e := range elems {
		if strings.TrimSpace(e.Key) == "" {
			diags = append(diags, errorAt(e.KeyRange, "Empty property name", "A message property needs a name."))
			continue
		}
		if e.Key == OpProperty {
			diags = append(diags, errorAt(e.KeyRange, "Reserved property name", "The sink sets the property "+OpProperty+" of every message to the row's kind (insert, update or delete); name this property otherwise."))
			continue
		}
		props[e.Key] = e.Text.Value
	}
	return props, diags
}

func init() { plugins.Register(SinkPlugin) }
