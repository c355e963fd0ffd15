package kafka

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// The values of `start` and `end`.
const (
	Earliest = "earliest"
	Latest   = "latest"
)

// The values of `isolation`.
const (
	ReadCommitted   = "read_committed"
	ReadUncommitted = "read_uncommitted"
)

// Source is the configuration of a `source "kafka"` block.
type Source struct {
	Conn Connection
	// Topics are the topics read, in the order written; nil when
	// TopicsPattern is set.
	Topics []string
	// TopicsPattern is a regular expression over topic names; "" when
	// Topics is set.
	TopicsPattern string
	// Group is the consumer group: its committed offsets are where a
	// run without a checkpoint starts, and the source commits the offsets
	// of the records done there.
	Group string
	// Start is where a partition without a committed offset starts:
	// Earliest or Latest.
	Start string
	// End is Latest for a bounded read, "" for an unbounded one.
	End string
	// Isolation is ReadCommitted or ReadUncommitted.
	Isolation string
}

// The metadata columns of every record (record.Schema.Meta), readable in
// expressions as kafka.key and so on, and by a window's event_time.
const (
	MetaTopic     = "kafka.topic"     // the record's topic
	MetaPartition = "kafka.partition" // its partition number
	MetaOffset    = "kafka.offset"    // its offset in the partition
	MetaKey       = "kafka.key"       // the record key; null without one
	MetaHeaders   = "kafka.headers"   // the record headers (the last value of a repeated one)
	MetaTimestamp = "kafka.timestamp" // the record's timestamp
)

// sourceRecord is the schema of the source's records.
var sourceRecord = record.Schema{Raw: true, Meta: []record.Column{
	{Name: MetaTopic, Type: record.ColumnString},
	{Name: MetaPartition, Type: record.ColumnInt},
	{Name: MetaOffset, Type: record.ColumnInt},
	{Name: MetaKey, Type: record.ColumnString},
	{Name: MetaHeaders, Type: record.ColumnStringMap},
	{Name: MetaTimestamp, Type: record.ColumnTimestamp},
}}

// Output returns raw bytes, one record per Kafka record to be parsed by the
// next stage, with the record's metadata columns.
func (s *Source) Output() record.Schema { return sourceRecord }

// SourcePlugin declares `source "kafka"`.
var SourcePlugin = &plugins.Plugin{
	Kind:    plugins.KindSource,
	Block:   "source",
	Name:    "kafka",
	Summary: "Reads Apache Kafka topics, one raw record per Kafka record.",
	Description: "Each Kafka record is one record of raw bytes (its value), so a `parse` stage must follow.\n\n" +
		"**Partitions.** Each partition of each topic is its own event-time partition: the watermark waits for the slowest one, " +
		"and a partition that stays silent stops holding it back after the window's idle timeout. " +
		"Partitions are numbered when the pipeline starts by topic name, then partition number. " +
		"With `topics_pattern`, a topic created while an unbounded pipeline runs is read too, as a further partition.\n\n" +
		"**Consumer group and offsets.** Without a checkpoint block and without `end`, the source joins the consumer `group`: " +
		"the group spreads the partitions over the processes reading it and moves them on a rebalance. " +
		"The offset of a record is committed to the group only once the records it produced have reached the sinks " +
		"(every window it went into was emitted and written, or it was filtered out, rejected or late), " +
		"so a crash or a rebalance never loses a record; records not yet committed are read again (at least once). " +
		"With a checkpoint block, or with `end = \"latest\"`, the source assigns itself every partition and reads them alone, " +
		"as a checkpointed Pulsar pipeline does: offsets are recorded in the checkpoint and committed to the group once it is durable; " +
		"run one process per pipeline. " +
		"A partition without a committed offset starts at `start`.\n\n" +
		"**Bounded reads.** With `end = \"latest\"` the source reads every partition up to its end offset when the pipeline starts " +
		"(its last stable offset with `isolation = \"read_committed\"`), then ends: every open window closes and the pipeline stops. " +
		"If no record arrives for 5 seconds while some partitions have not reached their end (records removed by compaction or retention), " +
		"those are taken as read to their end.\n\n" +
		"**Record metadata.** Expressions of the stages that follow can read `kafka.key` (null without a key), " +
		"`kafka.headers` (a map: `kafka.headers[\"region\"]` is \"\" when absent), `kafka.topic`, `kafka.partition`, `kafka.offset` " +
		"and `kafka.timestamp`. A window can take its event time from `kafka.timestamp`. " +
		"They are not fields of the records: copy one into a field with `map`, e.g. `set = { key = \"kafka.key\" }`.",
	Spec: schema.NewSpec(append(connectionFields(),
		schema.List("topics", schema.TypeString, "The topics to read. Write topics or topics_pattern.").
			AsOptional().Example(`["user-events"]`),
		schema.String("topics_pattern", "A regular expression selecting the topics to read, matched against whole topic names, e.g. \"events-.*\". Write topics or topics_pattern.").
			AsOptional().Example(`"events-.*"`),
		schema.String("group", "The consumer group: where offsets are committed, and where a run without a checkpoint starts.").
			Example(`"sluice-user-activity"`),
		schema.Enum("start", "Where a partition without a committed offset starts: at its earliest record, or after its latest one.",
			Earliest, Latest).WithDefault(Latest),
		schema.Enum("end", "Write \"latest\" for a bounded read that ends at the end offset each partition has when the pipeline starts. Without it the source reads forever.",
			Latest).AsOptional(),
		schema.Enum("isolation", "Which records of transactions are read: read_committed skips those of open and aborted transactions; read_uncommitted reads every record.",
			ReadCommitted, ReadUncommitted).WithDefault(ReadCommitted),
	)...),
	Examples: []plugins.Example{
		{Title: "Consume a topic in a group", Config: `source "kafka" {
  brokers = ["kafka-1.example.com:9092", "kafka-2.example.com:9092"]
  topics  = ["user-events"]
  group   = "sluice-user-activity"
}`},
		{Title: "Read everything present once, over SCRAM and TLS", Config: `source "kafka" {
  brokers        = ["kafka.example.com:9093"]
  topics_pattern = "events-.*"
  group          = "sluice-backfill"
  start          = "earliest"
  end            = "latest"
  sasl {
    mechanism = "SCRAM-SHA-512"
    username  = "sluice"
    password  = env("KAFKA_PASSWORD", "")
  }
  tls {
    ca_file = "/etc/ssl/kafka-ca.pem"
  }
}`},
	},
	Build: buildSource,
}

func buildSource(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	conn, diags := buildConnection(args, b.Dir)
	s := &Source{
		Conn:      conn,
		Group:     args.String("group"),
		Start:     args.String("start"),
		End:       args.String("end"),
		Isolation: args.String("isolation"),
	}
	diags = append(diags, s.buildTopics(args)...)
	if args.Has("group") && strings.TrimSpace(s.Group) == "" {
		diags = append(diags, errorAt(args.Range("group"), "Empty group",
			"The group names where the pipeline's offsets are committed, e.g. \"sluice-user-activity\"."))
	}
	if s.End == Latest && s.Start == Latest && !args.Invalid("start") {
		diags = append(diags, warningAt(argRange(args, "end"), "Bounded read starting at latest",
			"A partition without a committed offset starts after its latest record, so a read that ends at the latest record reads nothing there. Write start = \"earliest\"."))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// buildTopics checks topics and topics_pattern: exactly one is written.
func (s *Source) buildTopics(args *schema.Values) hcl.Diagnostics {
	switch hasTopics, hasPattern := args.Has("topics"), args.Has("topics_pattern"); {
	case hasTopics && hasPattern:
		return hcl.Diagnostics{errorAt(argRange(args, "topics_pattern"), "Both topics and topics_pattern",
			fmt.Sprintf("%s reads either the topics listed in topics or those matching topics_pattern, not both; remove one.", describe(args)))}
	case !hasTopics && !hasPattern:
		return hcl.Diagnostics{errorAt(args.DefRange, "No topics",
			fmt.Sprintf("%s needs topics, e.g. topics = [\"user-events\"], or topics_pattern, e.g. topics_pattern = \"events-.*\".", describe(args)))}
	case hasPattern:
		text := args.Text("topics_pattern")
		if _, err := regexp.Compile(anchored(text.Value)); err != nil || strings.TrimSpace(text.Value) == "" {
			detail := "topics_pattern is empty; write a regular expression such as \"events-.*\"."
			if err != nil {
				detail = fmt.Sprintf("topics_pattern is not a valid regular expression: %v.", err)
			}
			return hcl.Diagnostics{errorAt(args.Range("topics_pattern"), "Invalid topics pattern", detail)}
		}
		s.TopicsPattern = text.Value
		return nil
	}
	var diags hcl.Diagnostics
	elems := args.Elems("topics")
	if len(elems) == 0 && !args.Invalid("topics") {
		diags = append(diags, errorAt(args.Range("topics"), "No topics", "The topics list is empty; name at least one topic, e.g. [\"user-events\"]."))
	}
	seen := map[string]hcl.Range{}
	for _, e := range elems {
		name := e.Text.Value
		if err := checkTopicName(name); err != nil {
			diags = append(diags, errorAt(e.Range, "Invalid topic name", err.Error()+"."))
			continue
		}
		if first, dup := seen[name]; dup {
			diags = append(diags, errorAt(e.Range, "Duplicate topic", fmt.Sprintf("%s is already listed at %s; remove this one.", name, schema.At(first))))
			continue
		}
		seen[name] = e.Range
		s.Topics = append(s.Topics, name)
	}
	return diags
}

// anchored makes a topics pattern match whole topic names.
func anchored(pattern string) string { return "^(?:" + pattern + ")$" }

// topicChars matches the characters Kafka allows in a topic name.
var topicChars = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// checkTopicName checks a topic name as the brokers do: at most 249
// characters among letters, digits, '.', '_' and '-', and not "." or "..".
func checkTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("the topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a topic name", name)
	case len(name) > 249:
		return fmt.Errorf("a topic name has at most 249 characters; %q has %d", name[:20]+"…", len(name))
	case !topicChars.MatchString(name):
		return fmt.Errorf("%q is not a topic name: use letters, digits, '.', '_' and '-'", name)
	}
	return nil
}

var _ plugins.Resumable = (*Source)(nil)

// CheckResumable returns nil: every configuration resumes from a
// checkpoint, reading every partition itself (see the plugin description).
func (s *Source) CheckResumable() hcl.Diagnostics { return nil }

func init() { plugins.Register(SourcePlugin) }
