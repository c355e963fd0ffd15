// Package elasticsearch declares `sink "elasticsearch" "NAME"`, which writes
// each record as one document to Elasticsearch (or OpenSearch) with the
// _bulk API, under a deterministic id by default, so that a replay after a
// crash overwrites documents instead of duplicating them. With checkpoints
// it flushes and checks every document before a checkpoint is taken
// (plugins.Committer), so the index ends equal to an uninterrupted run's.
package elasticsearch

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/expression"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// The actions of `action`.
const (
	ActionIndex  = "index"  // write the document, replacing one with the same id
	ActionCreate = "create" // write it unless one with the same id exists
	ActionUpdate = "update" // merge it into the stored one (doc_as_upsert)
)

// Sink is the configuration of a `sink "elasticsearch" "NAME"` block.
type Sink struct {
	// Title is the block's title, `sink "elasticsearch" "NAME"`, the
	// Stage of the rows it sends to the dead letter.
	Title string
	// URLs are the nodes' base URLs, used in turn.
	URLs []string
	// Index is the index name template.
	Index []IndexPart
	// ID computes each document's id; nil for the default.
	ID *expression.Program
	// KeyID holds the columns of the default id, those of the input's Key;
	// nil when ID is set or the records have no key (the server then
	// assigns ids).
	KeyID []int
	// Action is ActionIndex, ActionCreate or ActionUpdate.
	Action string
	// Auth holds the credentials; nil without an auth block.
	Auth *Auth
	// TLS holds the TLS settings; nil without a tls block.
	TLS *TLS
	// FlushBytes and FlushInterval send a bulk request once this many
	// bytes wait, or once the oldest waiting document is that old.
	FlushBytes    int64
	FlushInterval time.Duration
	// Retry bounds the retries of requests and of documents the cluster
	// is too busy to take.
	Retry Retry
	// Gzip compresses request bodies.
	Gzip bool
	// RefreshOnCommit refreshes the indices written at each commit.
	RefreshOnCommit bool
	// OpenSearch accepts a server that is not Elasticsearch (no
	// X-Elastic-Product header) once its root endpoint says it is
	// OpenSearch.
	OpenSearch bool
	// Input is the schema of the records the sink receives.
	Input record.Schema
	// actionAt is where action is written; zero when it is not.
	actionAt hcl.Range
}

// AppliesChanges is ChangesUpsert when each document has a deterministic
// id (the default of window results, or id) and is replaced by the next
// row with its id; else ChangesAppend: action = "create" keeps the first
// document of an id (positioned at action), and documents without an id
// cannot be updated or deleted.
func (s *Sink) AppliesChanges() (plugins.ChangeMode, hcl.Range) {
	switch {
	case s.Action == ActionCreate:
		return plugins.ChangesAppend, s.actionAt
	case s.ID == nil && s.KeyID == nil:
		return plugins.ChangesAppend, hcl.Range{}
	}
	return plugins.ChangesUpsert, hcl.Range{}
}

// Auth is the auth block: exactly one method is set.
type Auth struct {
	Username, Password string
	APIKey             string
	BearerToken        string
}

// TLS is the tls block.
type TLS struct {
	CAFile, CertFile, KeyFile string
	AllowInsecure             bool
}

// Retry is the retry block.
type Retry struct {
	MaxRetries     int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// Output returns the sink's input unchanged.
func (s *Sink) Output() record.Schema { return s.Input }

// The defaults of the arguments.
const (
	DefaultURL            = "http://127.0.0.1:9200"
	DefaultFlushBytes     = "5MiB"
	DefaultFlushInterval  = "1s"
	DefaultMaxRetries     = 8
	DefaultInitialBackoff = "100ms"
	DefaultMaxBackoff     = "10s"
)

// Plugin declares `sink "elasticsearch" "NAME"`.
var Plugin = &plugins.Plugin{
	Kind:        plugins.KindSink,
	Contract:    &plugins.SinkContract{Changes: plugins.ChangesUpsert, ChangesNote: "by document id: an update replaces the document with its id, a delete deletes it (a bulk delete action; a document already gone is no error); action = \"create\" and documents without an id cannot apply updates", Delivery: plugins.Idempotent, DeliveryNote: "documents are indexed under deterministic ids, so a replay rewrites the same documents"},
	Block:       "sink",
	Name:        "elasticsearch",
	Summary:     "Writes records as documents to Elasticsearch (or OpenSearch) with the bulk API, idempotently by id, flushed with checkpoints.",
	Description: description,
	Spec:        spec(),
	Examples: []plugins.Example{
		{Title: "Events in daily indices, under an id of their own", Config: `sink "elasticsearch" "search" {
  urls  = ["https://es.example.com:9200"]
  index = "user-events-{ts|yyyy.MM.dd}"
  id    = "string(user_id) + '-' + string(ts)"
  auth {
    username = "sluice"
    password = env("ES_PASSWORD", "changeme")
  }
}`},
		{Title: "Latest event per user, merged into existing documents, gzip", Config: `sink "elasticsearch" "users" {
  urls        = ["http://127.0.0.1:9200"]
  index       = "users"
  id          = "string(user_id)"
  action      = "update"
  compression = "gzip"
}`},
	},
	Build: build,
}

// description documents the sink; it is rendered into docs/plugins.md.
const description = "Each record becomes one JSON document, keys in field order, timestamps as RFC 3339 strings in UTC with milliseconds " +
	"(which Elasticsearch's dynamic mapping maps as `date`).\n\n" +
	"**Index.** `index` names the index, and may take parts from each record: `{column}` inserts a string, int or bool column, " +
	"`{column|yyyy.MM.dd}` a timestamp formatted in UTC with the pattern letters yyyy, yy, MM, dd, HH, mm and ss (Flink's syntax): " +
	"`\"clicks-{window_start|yyyy.MM.dd}\"` writes daily indices.\n\n" +
	"**Ids.** Window results get a deterministic id by default: the values of `window_start` and the window's `group_by` fields, " +
	"joined with `|` (timestamps as Unix milliseconds), e.g. `1714564800000|login`. " +
	"A replay after a crash, and the updates of `emit = \"every ...\"` and `allowed_lateness`, overwrite the same document. " +
	"`id` sets an expression instead. Records without a key and without `id` get ids from Elasticsearch, and a replay duplicates them (lint warns).\n\n" +
	"**Changelog.** A delete row of a window (a session replaced by a merge, docs/event-time.md) becomes a bulk `delete` action for its document id, " +
	"in order with the other rows, so the index ends with the final results; a document already gone (404) is not an error. " +
	"Sinks with `action = \"create\"`, or writing documents without an id, cannot apply updates and deletes: lint refuses a pipeline emitting them into such a sink.\n\n" +
	"**Failures.** A document Elasticsearch refuses (a field whose type conflicts with the index's mapping, say) goes to the dead letter " +
	"with Elasticsearch's reason, and the pipeline goes on. Requests the cluster is too busy for (429) or cannot serve (5xx), " +
	"connection failures and documents refused with 429 are retried with backoff, `retry`; when the retries run out the pipeline fails.\n\n" +
	"**Delivery.** Documents are sent in bulk requests of about `flush_bytes`, or after `flush_interval`. " +
	"At each checkpoint the sink sends what waits and checks every document's result, so the checkpoint covers acknowledged documents only; " +
	"with deterministic ids the index ends as an uninterrupted run leaves it. Without a checkpoint block, delivery is at least once " +
	"(idempotent with deterministic ids)."

// spec declares the arguments. Each call returns fresh fields.
func spec() *schema.Spec {
	auth := schema.NewSpec(
		schema.String("username", "The user of HTTP basic authentication; requires password.").AsOptional().Example(`"elastic"`),
		schema.String("password", "The password of username.").AsOptional().Example(`env("ES_PASSWORD")`),
		schema.String("api_key", "An API key, as Elasticsearch returns it encoded (the base64 of id:key), sent as \"Authorization: ApiKey …\".").
			AsOptional().Example(`env("ES_API_KEY")`),
		schema.String("bearer_token", "A token sent as \"Authorization: Bearer …\" (a service account token, an OAuth token).").
			AsOptional().Example(`file("/var/run/secrets/es/token")`),
	)
	tls := schema.NewSpec(
		schema.String("ca_file", "A PEM file of the certificate authorities trusted to sign the server's certificate; without it the system's are trusted. A relative path is relative to the pipeline file's folder.").
			AsOptional().Example(`"/etc/ssl/es-ca.pem"`),
		schema.String("cert_file", "A PEM client certificate for mutual TLS; requires key_file.").AsOptional().Example(`"/etc/sluice/es-client.pem"`),
		schema.String("key_file", "The PEM private key of cert_file.").AsOptional().Example(`"/etc/sluice/es-client-key.pem"`),
		schema.Bool("allow_insecure", "Accept a server certificate that is not trusted or does not name the host. For tests only.").WithDefault(false),
	)
	retry := schema.NewSpec(
		schema.Int("max_retries", "How many times a request, or a document refused with 429, is sent again before the pipeline fails.").
			WithDefault(DefaultMaxRetries),
		schema.Duration("initial_backoff", "The wait before the first retry; it doubles at each retry.").WithDefault(DefaultInitialBackoff),
		schema.Duration("max_backoff", "The longest wait between two retries.").WithDefault(DefaultMaxBackoff),
	)
	return schema.NewSpec(
		schema.List("urls", schema.TypeString, "The base URLs of the cluster's nodes, http:// or https://, used in turn.").
			WithDefault([]string{DefaultURL}).Example(`["https://es1.example.com:9200", "https://es2.example.com:9200"]`),
		schema.String("index", "The index to write. {column} inserts a string, int or bool column; {column|yyyy.MM.dd} a timestamp in UTC (yyyy, yy, MM, dd, HH, mm, ss).").
			Example(`"user-activity"`).Example(`"user-activity-{window_start|yyyy.MM.dd}"`),
		schema.Expr("id", "An expression computing each document's id, e.g. \"string(user_id)\". Window results have a deterministic id by default.").
			AsOptional().Example(`"device + '/' + string(user_id)"`),
		schema.Enum("action", "How a document is written: \"index\" replaces the document with the same id, \"create\" keeps an existing one, \"update\" merges the fields into it (creating it when missing).",
			ActionIndex, ActionCreate, ActionUpdate).WithDefault(ActionIndex),
		schema.Block("auth", "How to authenticate: username and password, api_key or bearer_token. Keep secrets out of the file with env() or file().", auth).AsOptional(),
		schema.Block("tls", "TLS settings of https:// URLs.", tls).AsOptional(),
		schema.ByteSize("flush_bytes", "Send a bulk request once the documents waiting reach about this size.").WithDefault(DefaultFlushBytes).Example(`"10MiB"`),
		schema.Duration("flush_interval", "Send the documents waiting once the oldest has waited this long. Without a checkpoint block, documents are also acknowledged to the source at this pace.").
			WithDefault(DefaultFlushInterval).Example(`"5s"`),
		schema.Block("retry", "How requests are retried when the cluster is busy (429), unavailable (5xx) or cannot be reached.", retry).AsOptional(),
		schema.Enum("compression", "How request bodies are compressed.", "none", "gzip").WithDefault("none"),
		schema.Bool("refresh_on_commit", "Refresh the indices written at each checkpoint, so that searches see the documents at once instead of within the index's refresh interval.").
			WithDefault(false),
		schema.Bool("opensearch", "Write to OpenSearch: accept a server without Elasticsearch's product header once its root endpoint reports the opensearch distribution.").
			WithDefault(false),
	)
}

func init() { plugins.Register(Plugin) }

// build checks the decoded arguments against the input schema.
func build(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	s := &Sink{
		Title:           fmt.Sprintf("sink %q %q", "elasticsearch", args.Label(1)),
		Action:          args.String("action"),
		FlushBytes:      args.ByteSize("flush_bytes"),
		FlushInterval:   args.Duration("flush_interval"),
		Gzip:            args.String("compression") == "gzip",
		RefreshOnCommit: args.Bool("refresh_on_commit"),
		OpenSearch:      args.Bool("opensearch"),
		Input:           b.Input,
	}
	if a := args.Attr("action"); a != nil {
		s.actionAt = a.Range
	}
	var diags hcl.Diagnostics
	if b.Input.Raw {
		diags = append(diags, errorAt(args.DefRange, "Records are not parsed",
			`sink "elasticsearch" writes typed records as JSON documents; add a parse stage (parse "json" or parse "csv") before it.`))
		return nil, diags
	}
	urls, ds := buildURLs(args)
	s.URLs, diags = urls, append(diags, ds...)
	if !args.Invalid("index") {
		t := args.Text("index")
		parts, err := parseIndex(t.Value, b.Input)
		if err != nil {
			diags = append(diags, indexDiag(t, err))
		}
		s.Index = parts
	}
	diags = append(diags, buildID(s, args)...)
	s.Auth, ds = buildAuth(args.Block("auth"))
	diags = append(diags, ds...)
	s.TLS, ds = buildTLS(args.Block("tls"), b.Dir)
	diags = append(diags, ds...)
	s.Retry, ds = buildRetry(args.Block("retry"))
	diags = append(diags, ds...)
	if !args.Invalid("flush_bytes") && s.FlushBytes <= 0 {
		diags = append(diags, errorAt(args.Range("flush_bytes"), "Invalid flush size", "flush_bytes must be more than zero, e.g. \"5MiB\"."))
	}
	if !args.Invalid("flush_interval") && s.FlushInterval <= 0 {
		diags = append(diags, errorAt(args.Range("flush_interval"), "Invalid flush interval", "flush_interval must be more than zero, e.g. \"1s\"."))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// buildID checks id against action and the input's key.
func buildID(s *Sink, args *schema.Values) hcl.Diagnostics {
	if args.Has("id") {
		prog, diags := expression.Compile(args.Text("id"), s.Input, "the document id \"id\"")
		s.ID = prog
		return diags
	}
	s.KeyID = s.Input.KeyColumns()
	if s.KeyID != nil {
		return nil
	}
	if s.Action == ActionUpdate {
		return hcl.Diagnostics{errorAt(args.Range("action"), "Update without an id",
			"action = \"update\" merges each record into the document with its id, and these records have no key (window results have one); set id, e.g. id = \"string(user_id)\".")}
	}
	return hcl.Diagnostics{warningAt(args.DefRange, "Documents get ids from Elasticsearch",
		"These records have no key (window results have one) and no id is set, so Elasticsearch assigns ids and a replay after a crash writes duplicates; set id to an expression that identifies a record.")}
}

// buildURLs checks that every URL is an http:// or https:// URL with a host.
func buildURLs(args *schema.Values) ([]string, hcl.Diagnostics) {
	var (
		out   []string
		diags hcl.Diagnostics
	)
	for _, e := range args.Elems("urls") {
		u, err := url.Parse(strings.TrimSpace(e.Text.Value))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			diags = append(diags, errorAt(e.Range, "Invalid URL",
				fmt.Sprintf("%q is not a node URL; write http://host:9200 or https://host:9200.", e.Text.Value)))
			continue
		}
		out = append(out, strings.TrimRight(u.String(), "/"))
	}
	if len(out) == 0 && !diags.HasErrors() {
		diags = append(diags, errorAt(args.Range("urls"), "No URL", "List at least one node, e.g. urls = [\"http://127.0.0.1:9200\"]."))
	}
	return out, diags
}

// buildAuth checks that an auth block holds exactly one method.
func buildAuth(a *schema.Values) (*Auth, hcl.Diagnostics) {
	if a == nil {
		return nil, nil
	}
	au := &Auth{Username: a.String("username"), Password: a.String("password"), APIKey: a.String("api_key"), BearerToken: a.String("bearer_token")}
	var methods []string
	for _, m := range []string{"username", "api_key", "bearer_token"} {
		if a.Has(m) {
			methods = append(methods, m)
		}
	}
	var diags hcl.Diagnostics
	switch {
	case len(methods) == 0 && a.Has("password"):
		diags = append(diags, errorAt(argRange(a, "password"), "Password without a user", "password needs username; write both."))
	case len(methods) == 0:
		diags = append(diags, errorAt(a.DefRange, "No authentication method",
			"An auth block needs username and password, api_key or bearer_token, e.g. api_key = env(\"ES_API_KEY\")."))
	case len(methods) > 1:
		diags = append(diags, errorAt(argRange(a, methods[1]), "Several authentication methods",
			fmt.Sprintf("An auth block takes one method, but this one has %s; keep one.", strings.Join(methods, " and "))))
	case methods[0] == "username" && !a.Has("password"):
		diags = append(diags, errorAt(argRange(a, "username"), "User without a password", "username needs password; write both."))
	case methods[0] != "username" && a.Has("password"):
		diags = append(diags, errorAt(argRange(a, "password"), "Password without a user", "password goes with username, not with "+methods[0]+"."))
	}
	for _, m := range append(methods, "password") {
		if a.Has(m) && strings.TrimSpace(a.String(m)) == "" {
			diags = append(diags, errorAt(a.Range(m), "Empty credential", fmt.Sprintf("The argument %q of the auth block is empty.", m)))
		}
	}
	return au, diags
}

// buildTLS reads the tls block; relative paths are made absolute against dir.
func buildTLS(t *schema.Values, dir string) (*TLS, hcl.Diagnostics) {
	if t == nil {
		return nil, nil
	}
	c := &TLS{CAFile: resolve(t.String("ca_file"), dir), CertFile: resolve(t.String("cert_file"), dir),
		KeyFile: resolve(t.String("key_file"), dir), AllowInsecure: t.Bool("allow_insecure")}
	switch {
	case t.Has("cert_file") && !t.Has("key_file"):
		return c, hcl.Diagnostics{errorAt(argRange(t, "cert_file"), "Client certificate without a key", "cert_file needs key_file; write both or neither.")}
	case t.Has("key_file") && !t.Has("cert_file"):
		return c, hcl.Diagnostics{errorAt(argRange(t, "key_file"), "Client key without a certificate", "key_file needs cert_file; write both or neither.")}
	}
	return c, nil
}

// buildRetry reads the retry block, or its defaults without one.
func buildRetry(r *schema.Values) (Retry, hcl.Diagnostics) {
	out := Retry{MaxRetries: DefaultMaxRetries}
	out.InitialBackoff, _ = time.ParseDuration(DefaultInitialBackoff)
	out.MaxBackoff, _ = time.ParseDuration(DefaultMaxBackoff)
	if r == nil {
		return out, nil
	}
	out = Retry{MaxRetries: int(r.Int("max_retries")), InitialBackoff: r.Duration("initial_backoff"), MaxBackoff: r.Duration("max_backoff")}
	var diags hcl.Diagnostics
	if out.MaxRetries < 0 && !r.Invalid("max_retries") {
		diags = append(diags, errorAt(r.Range("max_retries"), "Invalid retry count", "max_retries must be zero or more."))
	}
	for _, n := range []string{"initial_backoff", "max_backoff"} {
		if !r.Invalid(n) && r.Duration(n) <= 0 {
			diags = append(diags, errorAt(r.Range(n), "Invalid backoff", n+" must be more than zero, e.g. \"100ms\"."))
		}
	}
	if !diags.HasErrors() && out.MaxBackoff < out.InitialBackoff {
		diags = append(diags, errorAt(r.Range("max_backoff"), "Backoff limit below the first backoff", "max_backoff must be at least initial_backoff."))
	}
	return out, diags
}

// resolve makes a relative path absolute against dir; "" stays "".
func resolve(path, dir string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	p := filepath.Join(dir, path)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

func errorAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

func warningAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// argRange is the range of a written argument, name included, or the
// block header when it is absent.
func argRange(args *schema.Values, name string) hcl.Range {
	if a := args.Attr(name); a != nil {
		return hcl.RangeBetween(a.NameRange, a.Range)
	}
	return args.DefRange
}
