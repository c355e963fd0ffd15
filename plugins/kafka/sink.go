package kafka

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// The values of `partitioner`.
const (
	PartitionerMurmur2     = "murmur2"      // by key like the Java client; records without a key stick to a partition per batch
	PartitionerRoundRobin  = "round_robin"  // one partition after the other, keys ignored
	PartitionerLeastBackup = "least_backup" // the partition with the fewest records waiting, keys ignored
)

// The values of `compression`.
const (
	CompressionNone   = "none"
	CompressionGzip   = "gzip"
	CompressionSnappy = "snappy"
	CompressionLZ4    = "lz4"
	CompressionZstd   = "zstd"
)

// The values of `acks`.
const (
	AcksAll    = "all"
	AcksLeader = "leader"
	AcksNone   = "none"
)

// Sink is the configuration of a `sink "kafka" "NAME"` block: every record
// is produced as one Kafka record whose value is the record as a JSON
// object.
type Sink struct {
	Conn Connection
	// Topic is the topic written.
	Topic string
	// Key computes each record's key; nil for the default.
	Key *expression.Program
	// WindowKey holds the columns of the default key of window results,
	// those of the input's Key; nil when Key is set or the records have no
	// key.
	WindowKey []int
	// Partitioner, Compression and Acks are one of their constants.
	Partitioner string
	Compression string
	Acks        string
	// Idempotent enables the idempotent producer.
	Idempotent bool
	// Linger is how long a partition's batch may wait to fill.
	Linger time.Duration
	// MaxMessageBytes bounds one batch of records as the broker stores it,
	// as the topic's max.message.bytes does.
	MaxMessageBytes int64
	// TransactionMaxBytes bounds the rows of one checkpoint interval,
	// which a run with checkpoints keeps in the checkpoint until they are
	// committed.
	TransactionMaxBytes int64
	// TransactionalID identifies the sink's producer across runs with
	// checkpoints; the group of the same name records the epochs
	// committed.
	TransactionalID string
	// Headers are set on every record; nil when none are written.
	Headers map[string]string
	// Pipeline is the pipeline's name, the first part of default keys.
	Pipeline string
	// Input is the schema of the records the sink receives.
	Input record.Schema
	// partitionerAt is where partitioner is written; zero when it is not.
	partitionerAt hcl.Range
}

// Output returns the sink's input unchanged.
func (s *Sink) Output() record.Schema { return s.Input }

// AppliesChanges is ChangesUpsert when records have a key (key, or the
// default key of window results) placed by murmur2, so that every row of a
// key, tombstones included, lands in one partition in order; else
// ChangesAppend: records without a key cannot be updated nor deleted, and
// round_robin and least_backup (positioned at partitioner) spread a key's
// rows over partitions, where a consumer or compaction may keep an older
// one.
func (s *Sink) AppliesChanges() (plugins.ChangeMode, hcl.Range) {
	switch {
	case s.Partitioner != PartitionerMurmur2:
		return plugins.ChangesAppend, s.partitionerAt
	case s.Key == nil && s.WindowKey == nil:
		return plugins.ChangesAppend, hcl.Range{}
	}
	return plugins.ChangesUpsert, hcl.Range{}
}

// SinkPlugin declares `sink "kafka" "NAME"`.
var SinkPlugin = &plugins.Plugin{
	Kind:     plugins.KindSink,
	Contract: &plugins.SinkContract{Changes: plugins.ChangesUpsert, ChangesNote: "by record key, for consumers and compacted topics that keep the latest record of a key: an update is a record with the same key, a delete a tombstone (the key and a null value); records without a key, or spread by partitioner = \"round_robin\" or \"least_backup\", cannot apply updates", Delivery: plugins.ExactlyOnce, DeliveryNote: "with a checkpoint block (Kafka transactions, read_committed consumers); at-least-once without"},
	Block:    "sink",
	Name:     "kafka",
	Summary:  "Produces records to an Apache Kafka topic, one JSON object per Kafka record; exactly once with checkpoints.",
	Description: "Each record becomes one Kafka record whose value is the record as a JSON object, keys in field order, " +
		"with timestamps as RFC 3339 strings in UTC with milliseconds.\n\n" +
		"**Delivery.** Without a checkpoint block, records are produced with the idempotent producer as they come, " +
		"and a batch counts as written once every broker acknowledgement arrived: at least once " +
		"(a crash may produce again the records of windows not yet acknowledged to the source). " +
		"With a checkpoint block, the rows of each checkpoint interval are kept in the checkpoint and produced in one Kafka transaction " +
		"once the checkpoint is durable; the same transaction commits the checkpoint's epoch as the offset of the consumer group " +
		"named `transactional_id`, so a restart knows whether the epoch was published and publishes it only if not. " +
		"A `read_committed` consumer sees every row exactly once; a `read_uncommitted` one may also see rows of aborted attempts. " +
		"A restarted producer fences the previous one (same transactional id): one process per pipeline. " +
		"When the pipeline runs as tasks, each task numbers its own epochs and has its own transactional id and epoch group, " +
		"`transactional_id` followed by `.tTASK` (`sluice.user_activity.counts.t3`): a restarted task fences only the previous owner of that task.\n\n" +
		"**Record key.** With `key`, each record's key is that expression's value, written as text (timestamps as Unix milliseconds); " +
		"a null value leaves the record without a key. Without `key`, window results get a deterministic key made of the pipeline's name, " +
		"`window_start` in Unix milliseconds and the window's `group_by` fields, joined with `|`, e.g. `user_activity|1714564800000|login`; " +
		"other records have no key. The `murmur2` partitioner places keys as the Java client (and Kafka Streams) does.\n\n" +
		"**Changelog.** The updates of a window (`emit = \"every ...\"`, `allowed_lateness`) are records with the key of the row they replace; " +
		"a delete row (a session replaced by a merge, docs/event-time.md) is a tombstone: the key and a null value, " +
		"which a compacted topic (`cleanup.policy=compact`) and a consumer keeping the latest record per key take as the key's removal. " +
		"Tombstones are produced in order with the other rows, in the same transaction with checkpoints. " +
		"Applying a changelog needs a key on every row and `partitioner = \"murmur2\"` (the default), which keeps a key's records in one partition, in order; " +
		"lint refuses a pipeline emitting updates into a sink without either.",
	Spec: schema.NewSpec(append(connectionFields(),
		schema.String("topic", "The topic to write.").Example(`"user-activity"`),
		schema.Expr("key", "An expression computing each record's key from the record, e.g. \"action\" or \"device + '/' + action\". Window results have a deterministic key by default.").
			AsOptional().Example(`"action"`),
		schema.Enum("partitioner", "How records are spread over the topic's partitions: murmur2 hashes the key as the Java client does (records without a key fill one partition per batch); round_robin and least_backup ignore keys.",
			PartitionerMurmur2, PartitionerRoundRobin, PartitionerLeastBackup).WithDefault(PartitionerMurmur2),
		schema.Enum("compression", "How batches are compressed.", CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd).
			WithDefault(CompressionLZ4),
		schema.Enum("acks", "Which acknowledgement a batch waits for: all in-sync replicas, the leader only, or none. leader and none need idempotent = false and are refused with checkpoints.",
			AcksAll, AcksLeader, AcksNone).WithDefault(AcksAll),
		schema.Bool("idempotent", "Use the idempotent producer, so that a retried batch is not stored twice. Checkpoints need it.").WithDefault(true),
		schema.Duration("linger", "How long a partition's batch may wait for more records before it is sent.").
			WithDefault("5ms").Example(`"20ms"`),
		schema.ByteSize("max_message_bytes", "The largest batch of records sent at once, as the topic's max.message.bytes; a single record larger than this fails the pipeline.").
			WithDefault("1MB").Example(`"4MB"`),
		schema.ByteSize("transaction_max_bytes", "With checkpoints: the most bytes of rows one checkpoint interval may produce; they are kept in the checkpoint until committed. More fails the pipeline: take checkpoints more often or raise this.").
			WithDefault("64MB").Example(`"256MB"`),
		schema.String("transactional_id", "With checkpoints: the producer's transactional id, and the name of the consumer group recording the epochs committed. Default: sluice.PIPELINE.NAME.").
			AsOptional().Example(`"sluice.user_activity.counts"`),
		schema.Map("headers", schema.TypeString, "Headers set on every record.").
			AsOptional().Example(`{ producer = "sluice" }`),
	)...),
	Examples: []plugins.Example{
		{Title: "Produce window results", Config: `sink "kafka" "counts" {
  brokers = ["kafka-1.example.com:9092"]
  topic   = "user-activity"
}`},
		{Title: "Keyed records, zstd, over SASL PLAIN and TLS", Config: `sink "kafka" "by_device" {
  brokers     = ["kafka.example.com:9093"]
  topic       = "device-events"
  key         = "device"
  compression = "zstd"
  linger      = "20ms"
  sasl {
    mechanism = "PLAIN"
    username  = "sluice"
    password  = env("KAFKA_PASSWORD", "")
  }
  tls {}
}`},
	},
	Build: buildSink,
}

func buildSink(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	conn, diags := buildConnection(args, b.Dir)
	s := &Sink{
		Conn:                conn,
		Topic:               args.String("topic"),
		Partitioner:         args.String("partitioner"),
		Compression:         args.String("compression"),
		Acks:                args.String("acks"),
		Idempotent:          args.Bool("idempotent"),
		Linger:              args.Duration("linger"),
		MaxMessageBytes:     args.ByteSize("max_message_bytes"),
		TransactionMaxBytes: args.ByteSize("transaction_max_bytes"),
		TransactionalID:     args.String("transactional_id"),
		Pipeline:            b.Pipeline,
		Input:               b.Input,
	}
	if s.TransactionalID == "" {
		s.TransactionalID = "sluice." + b.Pipeline + "." + args.Label(1)
	}
	if a := args.Attr("partitioner"); a != nil {
		s.partitionerAt = a.Range
	}
	if !args.Invalid("topic") {
		if err := checkTopicName(s.Topic); err != nil {
			diags = append(diags, errorAt(args.Range("topic"), "Invalid topic name", err.Error()+"."))
		}
	}
	if args.Has("key") {
		prog, ds := expression.Compile(args.Text("key"), b.Input, "the record key \"key\"")
		diags = append(diags, ds...)
		s.Key = prog
	} else {
		s.WindowKey = b.Input.KeyColumns()
	}
	diags = append(diags, s.checkProducer(args)...)
	s.Headers = map[string]string{}
	for _, e := range args.Elems("headers") {
		if strings.TrimSpace(e.Key) == "" {
			diags = append(diags, errorAt(e.KeyRange, "Empty header name", "A record header needs a name."))
		}
		s.Headers[e.Key] = e.Text.Value
	}
	if len(s.Headers) == 0 {
		s.Headers = nil
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// checkProducer checks acks against idempotent, and the sizes and linger.
func (s *Sink) checkProducer(args *schema.Values) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if s.Acks != AcksAll && s.Idempotent && !args.Invalid("acks") {
		diags = append(diags, errorAt(argRange(args, "acks"), "acks needs idempotent = false",
			fmt.Sprintf("The idempotent producer waits for every in-sync replica; acks = %q needs idempotent = false (a retried batch may then be stored twice).", s.Acks)))
	}
	if !args.Invalid("linger") && s.Linger < 0 {
		diags = append(diags, errorAt(args.Range("linger"), "Invalid linger", "linger is zero or more, e.g. \"5ms\"."))
	}
	for _, name := range []string{"max_message_bytes", "transaction_max_bytes"} {
		if !args.Invalid(name) && args.ByteSize(name) <= 0 {
			diags = append(diags, errorAt(args.Range(name), "Invalid size", fmt.Sprintf("%s must be more than zero, e.g. \"1MB\".", name)))
		}
	}
	if !args.Invalid("max_message_bytes") && s.MaxMessageBytes > 1<<30 {
		diags = append(diags, errorAt(args.Range("max_message_bytes"), "Invalid size", "max_message_bytes is at most 1GiB."))
	}
	if args.Has("transactional_id") && strings.TrimSpace(s.TransactionalID) == "" {
		diags = append(diags, errorAt(args.Range("transactional_id"), "Empty transactional id", "transactional_id names the sink's producer, e.g. \"sluice.user_activity.counts\"."))
	}
	return diags
}

func init() { plugins.Register(SinkPlugin) }
