package pulsar

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// The subscription types of `subscription_type`.
const (
	Exclusive = "exclusive"  // one consumer; a second one is refused
	Failover  = "failover"   // one active consumer per partition, others on standby
	Shared    = "shared"     // messages spread over the consumers, any order
	KeyShared = "key_shared" // messages spread over the consumers by key, in order per key
)

// The values of `start` and `end`.
const (
	Earliest = "earliest"
	Latest   = "latest"
)

// Source is the configuration of a `source "pulsar"` block.
type Source struct {
	Conn Connection
	// Topics are the topics read, fully qualified
	// ("persistent://public/default/events"), in the order written; nil
	// when TopicsPattern is set.
	Topics []string
	// TopicsPattern is a regular expression over the topic names of one
	// namespace, fully qualified; "" when Topics is set.
	TopicsPattern string
	// Subscription is the subscription's name.
	Subscription string
	// SubscriptionType is Exclusive, Failover, Shared or KeyShared.
	SubscriptionType string
	// SubscriptionTypeRange is where subscription_type is written, name
	// and value, or the block header when it is not.
	SubscriptionTypeRange hcl.Range
	// Start is where a new subscription starts: Earliest or Latest.
	Start string
	// End is Latest for a bounded read, "" for an unbounded one.
	End string
	// ReceiverQueueSize is how many messages the client prefetches per
	// partition.
	ReceiverQueueSize int
	// PartitionFields are the fields the producer makes each message's key
	// of (partitioned_by), so that records with equal values of them are
	// in one partition; nil when not declared.
	PartitionFields []string
	// at is where the arguments are written, for diagnostics.
	at sourceRanges
}

// sourceRanges are where a source's arguments are written, name and value,
// or the block header for those that are not.
type sourceRanges struct {
	topicsPattern, end, partitionedBy hcl.Range
}

// The metadata columns of every message (record.Schema.Meta), readable in
// expressions as pulsar.key and so on, and by a window's event_time.
const (
	MetaTopic       = "pulsar.topic"        // the partition's topic name
	MetaKey         = "pulsar.key"          // the message key; null without one
	MetaProperties  = "pulsar.properties"   // the message properties
	MetaPublishTime = "pulsar.publish_time" // when the broker received the message
	MetaEventTime   = "pulsar.event_time"   // the producer's event time; null when unset
)

// sourceRecord is the schema of the source's records.
var sourceRecord = record.Schema{Raw: true, Meta: []record.Column{
	{Name: MetaTopic, Type: record.ColumnString},
	{Name: MetaKey, Type: record.ColumnString},
	{Name: MetaProperties, Type: record.ColumnStringMap},
	{Name: MetaPublishTime, Type: record.ColumnTimestamp},
	{Name: MetaEventTime, Type: record.ColumnTimestamp},
}}

// Output returns raw bytes, one record per message to be parsed by the next
// stage, with the message's metadata columns.
func (s *Source) Output() record.Schema { return sourceRecord }

// SourcePlugin declares `source "pulsar"`.
var SourcePlugin = &plugins.Plugin{
	Kind:    plugins.KindSource,
	Block:   "source",
	Name:    "pulsar",
	Summary: "Consumes Apache Pulsar topics through a subscription, one raw record per message.",
	Description: "Each message is one record of raw bytes (its payload), so a `parse` stage must follow.\n\n" +
		"**Partitions.** Each partition of each topic is its own event-time partition: the watermark waits for the slowest one, " +
		"and a partition that stays silent stops holding it back after the window's idle timeout. " +
		"Partitions are numbered when the pipeline starts, in the order the topics are written and then by partition index " +
		"(a non-partitioned topic is one partition); with `topics_pattern`, by topic name. " +
		"In an unbounded read, a topic or partition created while the pipeline runs is read too, as a further partition, once the client discovers it (within a minute).\n\n" +
		"**Acknowledgement.** A message is acknowledged only once the records it produced have reached the sinks: " +
		"when every window it went into has been emitted and written (or it was filtered out, rejected or late). " +
		"Exclusive and failover subscriptions acknowledge cumulatively, shared and key_shared ones message by message. " +
		"So a restart never loses a message; without checkpoints it may deliver again the messages that were not yet acknowledged. " +
		"With exclusive and failover subscriptions, a message the broker delivers again after a reconnection is recognized and skipped.\n\n" +
		"**Bounded reads.** With `end = \"latest\"` the source reads, in every partition, up to the last message present when the pipeline starts, " +
		"then ends (like Spark's `endingOffsets`): every open window closes and the pipeline stops. " +
		"A partition that delivers nothing for 5 seconds after the start is taken as already read to its end, " +
		"as happens when the subscription acknowledged everything in an earlier run. " +
		"Bounded reads expect this pipeline to be the subscription's only consumer.\n\n" +
		"**Several instances.** With `subscription_type = \"failover\"` and `instances` above 1 in the pipeline block, several sluice processes share the pipeline as *tasks*: " +
		"task `i` is partition `i` of every topic listed (which must all have the same number of partitions; a non-partitioned topic is task `0`), " +
		"the broker makes one process the active consumer of each partition, and each task has its own window state, checkpoints and lease, " +
		"so a task moves from one process to another with its state. `topics_pattern`, `end` and several non-partitioned topics cannot run as tasks. " +
		"`partitioned_by` declares the fields the producer makes each message's key of (e.g. `key = \"user_id\"` in a `sink \"pulsar\"`, or `sluice produce --key user_id`), " +
		"so that every record with the same values of them is in one partition: windows whose `group_by` includes those fields then give the same results as one process would. " +
		"See docs/pulsar.md, \"Running several instances\".\n\n" +
		"**Message metadata.** Expressions of the stages that follow can read each message's metadata: " +
		"`pulsar.key` (the message key, null without one), `pulsar.properties` (a map: `pulsar.properties[\"region\"]` is \"\" when absent, " +
		"`\"region\" in pulsar.properties` tests for it), `pulsar.topic` (the partition's full topic name), " +
		"`pulsar.publish_time` (when the broker received the message) and `pulsar.event_time` (the event time the producer set, null without one). " +
		"A window can take its event time from them, e.g. `event_time = \"pulsar.publish_time\"`. " +
		"They are not fields of the records: sinks do not write them and windows do not emit them; copy one into a field with `map`, " +
		"e.g. `set = { key = \"pulsar.key\" }`. Inside expressions a null metadata value reads as \"\" or the zero time.",
	Spec: schema.NewSpec(append(connectionFields(),
		schema.List("topics", schema.TypeString, "The topics to read: a name such as \"events\" (in public/default), \"tenant/namespace/events\" or \"persistent://tenant/namespace/events\". Write topics or topics_pattern.").
			AsOptional().Example(`["persistent://public/default/user-events"]`),
		schema.String("topics_pattern", "A regular expression selecting the topics of one namespace to read, e.g. \"persistent://public/default/events-.*\". Write topics or topics_pattern.").
			AsOptional().Example(`"persistent://public/default/events-.*"`),
		schema.String("subscription", "The name of the subscription; the broker keeps its position between runs.").
			Example(`"sluice-user-activity"`),
		schema.Enum("subscription_type", "How the subscription's messages are spread over consumers: exclusive (one consumer), failover (one active consumer per partition, the others on standby), shared or key_shared (spread over every consumer; shared loses the order).",
			Exclusive, Failover, Shared, KeyShared).WithDefault(Failover),
		schema.Enum("start", "Where a new subscription starts: at the earliest message kept, or after the latest one. An existing subscription resumes from its position.",
			Earliest, Latest).WithDefault(Latest),
		schema.Enum("end", "Write \"latest\" for a bounded read that ends after the last message present in each partition when the pipeline starts. Without it the source reads forever.",
			Latest).AsOptional(),
		schema.Int("receiver_queue_size", "How many messages the client fetches ahead, per partition.").
			WithDefault(1000).Example("5000"),
		schema.List("partitioned_by", schema.TypeString, "The fields of the records (after parsing) that the producer makes each message's key of, so that every record with the same values of them is in one partition, e.g. [\"user_id\"]. Lets the pipeline run as tasks on several instances with windows grouped by these fields.").
			AsOptional().Example(`["user_id"]`),
	)...),
	Examples: []plugins.Example{
		{Title: "Consume a topic", Config: `source "pulsar" {
  service_url  = "pulsar://pulsar.example.com:6650"
  topics       = ["persistent://public/default/user-events"]
  subscription = "sluice-user-activity"
}`},
		{Title: "Read everything present once, with a token", Config: `source "pulsar" {
  service_url       = "pulsar+ssl://pulsar.example.com:6651"
  topics_pattern    = "persistent://acme/prod/events-.*"
  subscription      = "sluice-backfill"
  subscription_type = "exclusive"
  start             = "earliest"
  end               = "latest"
  auth {
    token_file = "/var/run/secrets/pulsar/token"
  }
}`},
	},
	Build: buildSource,
}

func buildSource(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	conn, diags := buildConnection(args, b.Dir)
	s := &Source{
		Conn:                  conn,
		Subscription:          args.String("subscription"),
		SubscriptionType:      args.String("subscription_type"),
		SubscriptionTypeRange: argRange(args, "subscription_type"),
		Start:                 args.String("start"),
		End:                   args.String("end"),
		ReceiverQueueSize:     int(args.Int("receiver_queue_size")),
		at: sourceRanges{
			topicsPattern: argRange(args, "topics_pattern"),
			end:           argRange(args, "end"),
			partitionedBy: argRange(args, "partitioned_by"),
		},
	}
	diags = append(diags, s.buildTopics(args)...)
	diags = append(diags, s.buildPartitionedBy(args)...)
	if args.Has("subscription") && strings.TrimSpace(s.Subscription) == "" {
		diags = append(diags, errorAt(args.Range("subscription"), "Empty subscription",
			"The subscription names the cursor the broker keeps for this pipeline, e.g. \"sluice-user-activity\"."))
	}
	if !args.Invalid("receiver_queue_size") && s.ReceiverQueueSize <= 0 {
		diags = append(diags, errorAt(args.Range("receiver_queue_size"), "Invalid receiver queue size",
			fmt.Sprintf("receiver_queue_size must be more than zero, e.g. 1000; got %d.", s.ReceiverQueueSize)))
	}
	if s.End == Latest && s.Start == Latest && !args.Invalid("start") {
		diags = append(diags, warningAt(argRange(args, "end"), "Bounded read of a subscription starting at latest",
			"A new subscription that starts at latest is positioned after the last message, so a read that ends at the latest message reads nothing. Write start = \"earliest\" (an existing subscription resumes from its position either way)."))
	}
	// The source's output (raw messages and their metadata) does not depend
	// on its arguments: returned even with errors, it lets the loader check
	// the stages after it (sluice test loads a source whose env() it cannot
	// resolve: config.Options.Offline).
	return s, diags
}

var _ plugins.Resumable = (*Source)(nil)

// CheckResumable refuses shared and key_shared subscriptions, positioned at
// subscription_type: a checkpoint records, per partition, the last message
// read, which only means something when one consumer reads each partition
// in order. Open refuses them with the same text in a run that takes
// checkpoints.
func (s *Source) CheckResumable() hcl.Diagnostics {
	if s.SubscriptionType == Exclusive || s.SubscriptionType == Failover {
		return nil
	}
	return hcl.Diagnostics{errorAt(s.SubscriptionTypeRange, "Subscription type cannot resume from a checkpoint",
		fmt.Sprintf("Checkpoints need subscription_type = %q or %q, whose partitions are read in order by one consumer; %q spreads them over consumers. "+
			"Use %q or %q, or opt the pipeline out of checkpoints with checkpoint { enabled = false } inside the pipeline block.",
			Exclusive, Failover, s.SubscriptionType, Exclusive, Failover))}
}

// buildTopics checks topics and topics_pattern: exactly one is written.
func (s *Source) buildTopics(args *schema.Values) hcl.Diagnostics {
	var diags hcl.Diagnostics
	switch hasTopics, hasPattern := args.Has("topics"), args.Has("topics_pattern"); {
	case hasTopics && hasPattern:
		return hcl.Diagnostics{errorAt(argRange(args, "topics_pattern"), "Both topics and topics_pattern",
			fmt.Sprintf("%s reads either the topics listed in topics or those matching topics_pattern, not both; remove one.", describe(args)))}
	case !hasTopics && !hasPattern:
		return hcl.Diagnostics{errorAt(args.DefRange, "No topics",
			fmt.Sprintf("%s needs topics, e.g. topics = [\"persistent://public/default/events\"], or topics_pattern, e.g. topics_pattern = \"persistent://public/default/events-.*\".", describe(args)))}
	case hasPattern:
		text := args.Text("topics_pattern")
		name, err := topicName(text.Value)
		if err != nil {
			return hcl.Diagnostics{errorAt(args.Range("topics_pattern"), "Invalid topics pattern", err.Error()+".")}
		}
		if _, err := regexp.Compile(name); err != nil {
			return hcl.Diagnostics{errorAt(args.Range("topics_pattern"), "Invalid topics pattern",
				fmt.Sprintf("topics_pattern is not a valid regular expression: %v.", err))}
		}
		s.TopicsPattern = name
		return nil
	}
	elems := args.Elems("topics")
	if len(elems) == 0 && !args.Invalid("topics") {
		diags = append(diags, errorAt(args.Range("topics"), "No topics",
			"The topics list is empty; name at least one topic, e.g. [\"persistent://public/default/events\"]."))
	}
	seen := map[string]hcl.Range{}
	for _, e := range elems {
		name, err := topicName(e.Text.Value)
		if err != nil {
			diags = append(diags, errorAt(e.Range, "Invalid topic name", err.Error()+"."))
			continue
		}
		if first, dup := seen[name]; dup {
			diags = append(diags, errorAt(e.Range, "Duplicate topic",
				fmt.Sprintf("%s is already listed at %s; remove this one.", name, schema.At(first))))
			continue
		}
		seen[name] = e.Range
		s.Topics = append(s.Topics, name)
	}
	return diags
}

// buildPartitionedBy checks partitioned_by: field names, at least one, no
// duplicates. Whether the records have those fields is the loader's to
// check, against the stages that group by them.
func (s *Source) buildPartitionedBy(args *schema.Values) hcl.Diagnostics {
	if !args.Has("partitioned_by") || args.Invalid("partitioned_by") {
		return nil
	}
	elems := args.Elems("partitioned_by")
	if len(elems) == 0 {
		return hcl.Diagnostics{errorAt(args.Range("partitioned_by"), "Empty partitioned_by",
			"partitioned_by lists the fields each message's key is made of, e.g. [\"user_id\"]; remove it if messages are not keyed by fields.")}
	}
	var diags hcl.Diagnostics
	seen := map[string]hcl.Range{}
	for _, e := range elems {
		name := e.Text.Value
		if strings.TrimSpace(name) == "" {
			diags = append(diags, errorAt(e.Range, "Empty field name", "partitioned_by names fields of the records, e.g. \"user_id\"."))
			continue
		}
		if first, dup := seen[name]; dup {
			diags = append(diags, errorAt(e.Range, "Duplicate field",
				fmt.Sprintf("%q is already listed at %s; remove this one.", name, schema.At(first))))
			continue
		}
		seen[name] = e.Range
		s.PartitionFields = append(s.PartitionFields, name)
	}
	return diags
}

var _ plugins.KeyRouted = (*Source)(nil)

// PartitionedBy returns the fields of partitioned_by and where they are
// written; nil when it is not.
func (s *Source) PartitionedBy() ([]string, hcl.Range) {
	return s.PartitionFields, s.at.partitionedBy
}

func init() { plugins.Register(SourcePlugin) }
