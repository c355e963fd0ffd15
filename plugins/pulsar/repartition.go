package pulsar

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// Repartition is the configuration of a `repartition "pulsar"` block: a
// shuffle of the records through a partitioned topic, routed by Key. The
// half of the pipeline before it publishes (OpenPublisher), the half after
// it reads the topic as tasks (OpenTasks).
type Repartition struct {
	Conn Connection
	// Topic is the shuffle's topic, fully qualified and persistent.
	Topic string
	// Partitions is the topic's partition count: the tasks of the half
	// after the block.
	Partitions int
	// Key are the fields records are routed by, and KeyIndex their
	// columns in Input.
	Key      []string
	KeyIndex []int
	// Subscription is the failover subscription of the half after.
	Subscription string
	// AdminURL is the base URL of the cluster's admin REST API, which
	// creates the topic.
	AdminURL string
	// WatermarkInterval is how often each publisher sends its watermark.
	WatermarkInterval time.Duration
	// ReceiverQueueSize is how many messages the half after prefetches per
	// partition.
	ReceiverQueueSize int
	// Combine lets the first window after the block combine before the
	// shuffle (plugins.CrossingRepartitioner).
	Combine bool
	// Pipeline is the pipeline's name; Input the records reaching the
	// block, which are also those leaving it.
	Pipeline string
	Input    record.Schema

	keyAt, blockAt hcl.Range
	setup          *topicSetup // shared by the opens of one process
}

// Output returns the block's input: records cross the shuffle unchanged.
func (r *Repartition) Output() record.Schema { return r.Input }

// RepartitionKey returns the fields records are routed by and where they
// are written.
func (r *Repartition) RepartitionKey() ([]string, hcl.Range) { return r.Key, r.keyAt }

var (
	_ plugins.Repartitioner         = (*Repartition)(nil)
	_ plugins.CrossingRepartitioner = (*Repartition)(nil)
)

// Crossing returns the block publishing and reading rows of schema s (the
// partial rows of a window combining before the shuffle), routed by the
// same key fields; it shares the block's topic setup.
func (r *Repartition) Crossing(s record.Schema) plugins.Repartitioner {
	c := *r
	c.Input = s
	c.KeyIndex = make([]int, len(r.Key))
	for i, k := range r.Key {
		c.KeyIndex[i] = s.Index(k) // -1 is refused when a publisher opens
	}
	return &c
}

// Combines reports whether the block lets the window after it combine
// before the shuffle (combine).
func (r *Repartition) Combines() bool { return r.Combine }

// The admin ports derived from the default binary-protocol ports.
const (
	defaultBinaryPort = "6650"
	defaultTLSPort    = "6651"
	defaultAdminPort  = "8080"
	defaultAdminTLS   = "8443"
	maxPartitions     = 4096
)

// RepartitionPlugin declares `repartition "pulsar"`.
var RepartitionPlugin = &plugins.Plugin{
	Kind:    plugins.KindStage,
	Block:   "repartition",
	Name:    "pulsar",
	Summary: "Shuffles records through a partitioned Pulsar topic, routed by key, so that the windows after it may group by other fields than the source's partitions.",
	Description: "The block splits the pipeline in two halves joined by `topic`. The half before it publishes every record to the partition its `key` fields choose " +
		"(a hash of their values, the same in every process and run), so every record of one key lands in one partition. " +
		"The half after it reads the topic on the failover subscription `subscription` as tasks, one per partition, " +
		"whatever the pipeline's `instances`: the broker shares the partitions among the sluice processes that run the pipeline, " +
		"and each window after the block keeps its state per partition, so its `group_by` must include every `key` field. " +
		"Records cross unchanged, metadata columns (such as `pulsar.key`) included.\n\n" +
		"**The topic.** sluice creates it, with `partitions` partitions, through the admin REST API at `admin_url` when it does not exist, " +
		"and refuses to run when it exists with another partition count (changing the count would send keys to other partitions: use a new topic). " +
		"On a cluster whose `allowAutoTopicCreationType` is `partitioned`, create the topic beforehand (`pulsar-admin topics create-partitioned-topic TOPIC -p N`): " +
		"a lookup of a missing topic there creates it with the namespace's default count. " +
		"The records are written in a binary form of the block's record schema: when the schema changes (a field added before the block), " +
		"drain the topic first or use a new one; a reader of another schema fails with an error naming both.\n\n" +
		"**Exactly once.** Each task of the half before publishes under a producer name of its own (`sluice-PIPELINE-TASK`) with a sequence id per record, " +
		"which the checkpoints of the half before record: after a crash the replay publishes the same records under the same ids, and the broker drops those it already stored. " +
		"A topic of one partition beside it, `TOPIC-sluice-state`, created with it, records where each task started numbering and whether it completed a checkpoint since, " +
		"so that a task that crashes before its first checkpoint numbers the same records the same way when it starts again. " +
		"This needs deduplication on the topic: sluice enables it on the topic when it creates it; when the cluster refuses topic policies it logs a warning, " +
		"and the namespace must have it (`pulsar-admin namespaces set-deduplication TENANT/NAMESPACE --enable`).\n\n" +
		"**Event time.** Every `watermark_interval`, and at the end of a bounded input, each task of the half before sends its watermark to every partition, " +
		"computed from the records it published with the `watermark` delay and `idle_timeout` of the first window after the block. " +
		"A task after the block follows the least watermark of the tasks before it, leaving out those idle for `idle_timeout`, " +
		"and a record is never behind a watermark that was sent after it. Lateness is thus judged as the window would judge it on the source's partitions. " +
		"A bounded input ends once every task before the block has sent its end (a bounded pipeline runs as one process).\n\n" +
		"**Combining.** When the window right after the block merges exactly (its aggregates are count, min, max, count_distinct, approx_count_distinct, max_by, min_by, or sum and avg of integers; it is not a session window, keeps no records and emits once per window), " +
		"each task before the block aggregates its records per window and group, and the topic carries those partial rows, routed by the same key, which the window after the block merges: " +
		"far fewer messages for the same results. The markers then carry the watermark of that pre-aggregation. `combine = false` shuffles the records themselves.\n\n" +
		"The connection settings (`service_url`, `auth`, `tls`, timeouts) are those of `source \"pulsar\"`.",
	Spec: schema.NewSpec(append(connectionFields(),
		schema.String("topic", "The shuffle's topic: a name such as \"clicks-by-user\" (in public/default), \"tenant/namespace/clicks-by-user\" or \"persistent://tenant/namespace/clicks-by-user\". Use a topic of its own for each pipeline.").
			Example(`"persistent://public/default/clicks-by-user"`),
		schema.Int("partitions", "The topic's number of partitions, from 1 to 4096: the number of tasks after the block, which bounds how many processes share that half.").
			Example("8"),
		schema.List("key", schema.TypeString, "The fields records are routed by: every record with the same values of them goes to one partition. Every window after the block must group by all of them.").
			Example(`["user_id"]`),
		schema.String("subscription", "The failover subscription the half after the block reads the topic on. Defaults to \"sluice-repartition-\" followed by the pipeline's name.").
			AsOptional().Example(`"sluice-repartition-clicks"`),
		schema.String("admin_url", "The base URL of the cluster's admin REST API, which creates the topic. Defaults to the first host of service_url on port 8080 (http) for pulsar://HOST:6650, or 8443 (https) for pulsar+ssl://HOST:6651; required with other ports.").
			AsOptional().Example(`"https://pulsar.example.com:8443"`),
		schema.Duration("watermark_interval", "How often each task before the block sends its watermark to every partition; the windows after the block close at most this late.").
			WithDefault("200ms").Example(`"1s"`),
		schema.Int("receiver_queue_size", "How many messages the half after the block fetches ahead, per partition.").
			WithDefault(1000).Example("5000"),
		schema.Bool("combine", "Let the window right after the block aggregate before the shuffle when merging its partial results is exact, so that the topic carries one partial row per window, group and source partition instead of every record. false shuffles the records themselves.").
			WithDefault(true),
	)...),
	Examples: []plugins.Example{
		{Title: "Shuffle by user before a window grouped by user", Config: `repartition "pulsar" {
  service_url = "pulsar://pulsar.example.com:6650"
  topic       = "persistent://public/default/events-by-user"
  partitions  = 8
  key         = ["user_id"]
}`},
		{Title: "Over TLS with a token and an admin URL of its own", Config: `repartition "pulsar" {
  service_url        = "pulsar+ssl://pulsar.example.com:6651"
  admin_url          = "https://pulsar-admin.example.com"
  topic              = "acme/prod/events-by-device"
  partitions         = 16
  key                = ["device", "action"]
  subscription       = "sluice-events-by-device"
  watermark_interval = "1s"
  auth {
    token_env = "PULSAR_TOKEN"
  }
}`},
	},
	Build: buildRepartition,
}

func buildRepartition(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	conn, diags := buildConnection(args, b.Dir)
	r := &Repartition{
		Conn:              conn,
		Partitions:        int(args.Int("partitions")),
		Subscription:      args.String("subscription"),
		WatermarkInterval: args.Duration("watermark_interval"),
		ReceiverQueueSize: int(args.Int("receiver_queue_size")),
		Combine:           args.Bool("combine"),
		Pipeline:          b.Pipeline,
		Input:             b.Input,
		keyAt:             argRange(args, "key"),
		blockAt:           args.DefRange,
		setup:             &topicSetup{},
	}
	if !args.Has("subscription") {
		r.Subscription = "sluice-repartition-" + b.Pipeline
	} else if strings.TrimSpace(r.Subscription) == "" {
		diags = append(diags, errorAt(args.Range("subscription"), "Empty subscription",
			"The subscription names the cursor the broker keeps for the half after the block, e.g. \"sluice-repartition-clicks\"; remove it for the default."))
	}
	diags = append(diags, r.buildTopic(args)...)
	diags = append(diags, r.buildKey(args, b.Input)...)
	diags = append(diags, r.buildAdminURL(args)...)
	if !args.Invalid("partitions") && (r.Partitions < 1 || r.Partitions > maxPartitions) {
		diags = append(diags, errorAt(args.Range("partitions"), "Invalid partition count",
			fmt.Sprintf("partitions must be from 1 to %d, e.g. 8; got %d.", maxPartitions, r.Partitions)))
	}
	if !args.Invalid("watermark_interval") && r.WatermarkInterval <= 0 {
		diags = append(diags, errorAt(args.Range("watermark_interval"), "Invalid watermark interval",
			"watermark_interval must be more than zero, e.g. \"200ms\"."))
	}
	if !args.Invalid("receiver_queue_size") && r.ReceiverQueueSize <= 0 {
		diags = append(diags, errorAt(args.Range("receiver_queue_size"), "Invalid receiver queue size",
			fmt.Sprintf("receiver_queue_size must be more than zero, e.g. 1000; got %d.", r.ReceiverQueueSize)))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return r, diags
}

// buildTopic checks topic: a persistent topic of the form
// tenant/namespace/topic.
func (r *Repartition) buildTopic(args *schema.Values) hcl.Diagnostics {
	name, diags := buildTopic(args)
	if name == "" {
		return diags
	}
	domain, rest, _ := strings.Cut(name, "://")
	switch {
	case domain != "persistent":
		return hcl.Diagnostics{errorAt(args.Range("topic"), "Non-persistent shuffle topic",
			fmt.Sprintf("%s keeps no messages a consumer has not received and cannot deduplicate, so a shuffle through it may lose or repeat records; use a persistent:// topic.", name))}
	case strings.Count(rest, "/") != 2:
		return hcl.Diagnostics{errorAt(args.Range("topic"), "Invalid topic name",
			fmt.Sprintf("%s names a cluster; write persistent://<tenant>/<namespace>/<topic>.", name))}
	}
	r.Topic = name
	return nil
}

// buildKey checks key: fields of the input, each once, of a type records
// can be grouped by.
func (r *Repartition) buildKey(args *schema.Values, in record.Schema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	elems := args.Elems("key")
	if len(elems) == 0 && !args.Invalid("key") {
		return hcl.Diagnostics{errorAt(args.Range("key"), "No key fields",
			"key names the fields records are routed by, e.g. key = [\"user_id\"]; list at least one.")}
	}
	seen := map[string]hcl.Range{}
	for _, e := range elems {
		t := e.Text
		subject := valueRange(t)
		i := in.Index(t.Value)
		switch {
		case i < 0:
			detail := fmt.Sprintf("No field named %q reaches this repartition block.", t.Value) + schema.DidYouMean(t.Value, in.Names())
			if len(in.Columns) > 0 {
				detail += " Known fields: " + strings.Join(in.Names(), ", ") + "."
			} else {
				detail += " The records here are raw bytes: put the block after a parse stage."
			}
			diags = append(diags, errorAt(subject, "Unknown key field", detail))
			continue
		case in.Columns[i].Type == record.ColumnStringMap:
			diags = append(diags, errorAt(subject, "Key field cannot be grouped",
				fmt.Sprintf("%q is a %s, which records cannot be grouped by; route by a string, int, float, bool or timestamp field.", t.Value, in.Columns[i].Type)))
			continue
		}
		if first, dup := seen[t.Value]; dup {
			diags = append(diags, errorAt(subject, "Duplicate key field",
				fmt.Sprintf("%q is already listed in key at %s; list each field once.", t.Value, schema.At(first))))
			continue
		}
		seen[t.Value] = subject
		r.Key = append(r.Key, t.Value)
		r.KeyIndex = append(r.KeyIndex, i)
	}
	return diags
}

// valueRange is the range of a string inside its quotes, or the quoted
// value when it is empty.
func valueRange(t schema.Text) hcl.Range {
	if t.Value == "" {
		return t.Range
	}
	return t.RangeOf(0, len(t.Value))
}

var adminURLPattern = regexp.MustCompile(`^https?://[^/\s]+(/.*)?$`)

// buildAdminURL checks admin_url, or derives it from service_url.
func (r *Repartition) buildAdminURL(args *schema.Values) hcl.Diagnostics {
	if args.Has("admin_url") {
		u := strings.TrimRight(strings.TrimSpace(args.String("admin_url")), "/")
		if !adminURLPattern.MatchString(u) {
			return hcl.Diagnostics{errorAt(args.Range("admin_url"), "Invalid admin URL",
				fmt.Sprintf("admin_url must be an http:// or https:// URL of the cluster's admin REST API, e.g. \"http://pulsar.example.com:8080\"; got %q.", args.String("admin_url")))}
		}
		r.AdminURL = u
		return nil
	}
	u, err := deriveAdminURL(r.Conn.ServiceURL)
	if err != nil {
		return hcl.Diagnostics{errorAt(argRange(args, "service_url"), "Cannot derive the admin URL",
			err.Error()+" Write admin_url, the base URL of the cluster's admin REST API, e.g. admin_url = \"http://pulsar.example.com:8080\".")}
	}
	r.AdminURL = u
	return nil
}

// deriveAdminURL returns the admin URL of a service URL on the default
// ports: pulsar://HOST:6650 gives http://HOST:8080 and
// pulsar+ssl://HOST:6651 gives https://HOST:8443; the first host counts.
func deriveAdminURL(serviceURL string) (string, error) {
	scheme, hosts, ok := strings.Cut(serviceURL, "://")
	if !ok {
		return "", fmt.Errorf("service_url %q is not a URL.", serviceURL)
	}
	first, _, _ := strings.Cut(strings.Trim(hosts, "/"), ",")
	port, adminScheme, adminPort := defaultBinaryPort, "http", defaultAdminPort
	if scheme == "pulsar+ssl" {
		port, adminScheme, adminPort = defaultTLSPort, "https", defaultAdminTLS
	}
	host, p, err := net.SplitHostPort(first)
	if err != nil {
		host, p = first, port // no port: the default one
	}
	if p != port || host == "" {
		return "", fmt.Errorf("The admin URL is derived only from a service_url on port %s (%s://HOST:%s), and %q is not.", port, scheme, port, serviceURL)
	}
	return (&url.URL{Scheme: adminScheme, Host: net.JoinHostPort(host, adminPort)}).String(), nil
}

func init() { plugins.Register(RepartitionPlugin) }
