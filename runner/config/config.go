// Package config loads pipeline files into a validated Project: every
// pipeline as an ordered chain of configured plugins with the record schema
// that flows between them, plus the top-level checkpoint, metrics and test
// blocks. Loading never stops at the first problem: it returns every
// diagnostic it finds, positioned in the files.
package config

import (
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

// Project is everything a set of pipeline files declares.
type Project struct {
	Names      []string             // every file loaded, in order, parsed or not
	Files      map[string]*hcl.File // parsed files by name, for diagnostics
	Pipelines  []*Pipeline          // in the order written, file by file
	Checkpoint *Checkpoint          // nil when absent
	Metrics    *Metrics             // nil when absent
	Tests      []*Test
}

// Pipeline returns the pipeline named name, or nil.
func (p *Project) Pipeline(name string) *Pipeline {
	for _, pl := range p.Pipelines {
		if pl.Name == name {
			return pl
		}
	}
	return nil
}

// Pipeline is one `pipeline "NAME" { ... }` block.
type Pipeline struct {
	Name      string
	DefRange  hcl.Range // `pipeline "NAME"`
	NameRange hcl.Range
	Dir       string // folder of the file, for relative paths

	// Chain holds the source and then every processing stage (parse,
	// filter, map, window) in the order written.
	Chain []*Stage
	// Sinks each receive the output of the last stage of Chain.
	Sinks []*Stage
	// DeadLetter receives records that could not be processed; nil when the
	// pipeline declares none (such records are then logged and counted).
	DeadLetter *Stage
	// Checkpoint is what the pipeline takes checkpoints with: its own
	// checkpoint block over the top-level one; nil when it takes none
	// (no block applies, or its own block says enabled = false).
	Checkpoint *Checkpoint

	// Instances is the pipeline's instances argument: 1 runs it as one
	// process owning every source partition; more lets several processes
	// share it as tasks (docs/scaling.md). 0 when not written, which is
	// as 1.
	Instances      int
	InstancesRange hcl.Range

	ownCheckpoint *checkpointBlock // the pipeline's own checkpoint block, if any
}

// Output is the record schema the sinks receive.
func (p *Pipeline) Output() record.Schema {
	if len(p.Chain) == 0 {
		return record.Schema{}
	}
	return p.Chain[len(p.Chain)-1].Output
}

// Stage is one plugin block of a pipeline.
type Stage struct {
	Plugin    *plugins.Plugin
	Name      string // the instance name of a sink (its second label); "" otherwise
	Args      *schema.Values
	Component plugins.Component // nil when the block has errors
	Input     record.Schema     // the records reaching the block
	Output    record.Schema     // the records it hands on
	DefRange  hcl.Range

	decodeFailed bool        // some arguments failed to decode: the component is not kept
	reported     []hcl.Range // where decoding errors of the block pointed
}

// Title renders the stage for messages and graphs, e.g. `sink "file" "out"`.
func (s *Stage) Title() string {
	h := s.Plugin.Block
	if s.Plugin.Labeled() {
		h += ` "` + s.Plugin.Name + `"`
	}
	if s.Name != "" {
		h += ` "` + s.Name + `"`
	}
	return h
}

// Checkpoint holds checkpoint settings (docs/checkpoints.md): those of the
// top-level `checkpoint` block (Project.Checkpoint), or those a pipeline
// runs with (Pipeline.Checkpoint), its own block's arguments over the
// top-level block's.
type Checkpoint struct {
	// Store is the store argument as written: a file:// URL, a plain
	// path or an s3:// URL.
	Store string
	// Location is Store parsed, a relative path resolved against the
	// folder of the file that wrote it; the zero Location when Store has
	// errors.
	Location objstore.Location
	// Every is how often a checkpoint is taken, in processing time.
	Every time.Duration
	// LeaseTimeout is how long a pipeline's lease on its checkpoints
	// outlives the last heartbeat of the process holding it: another
	// process may take the pipeline over once it is that old.
	LeaseTimeout time.Duration
	// DefRange is the header of the block the settings come from: the
	// pipeline's own checkpoint block when it has one, else the top-level
	// block.
	DefRange hcl.Range
}

// Metrics is the top-level `metrics` block: where sluice run serves
// metrics, health, the JSON API and the dashboard (docs/observability.md).
type Metrics struct {
	Listen string // host:port of the endpoint
	// WebConfigFile is the path, resolved against the folder of the file
	// that declares it, of an exporter-toolkit web configuration file (TLS
	// and basic auth); "" serves plain HTTP without authentication.
	WebConfigFile string
	DefRange      hcl.Range
}

// Test is a top-level `test "NAME"` block: run Pipeline on Input (NDJSON)
// and compare its output with Expect.
type Test struct {
	Name     string
	Pipeline string
	Input    string // resolved path
	Expect   string // resolved path
	Ordered  bool
	// CrashAfter, above 0, crashes the run after its CrashAfter-th
	// checkpoint and runs it again from that checkpoint (crash_after).
	CrashAfter int
	DefRange   hcl.Range
}

var metricsSpec = schema.NewSpec(
	schema.String("listen", "The host:port the endpoint (metrics, health, JSON API, dashboard) listens on. An address other than loopback needs web_config_file with TLS and basic auth, or lint warns.").WithDefault("127.0.0.1:9464").Example(`"127.0.0.1:9464"`),
	schema.String("web_config_file", "A Prometheus exporter-toolkit web configuration file (tls_server_config, basic_auth_users with bcrypt hashes), relative to this file's folder; without it the endpoint is plain HTTP without authentication.").AsOptional().Example(`"web.yml"`),
)

var testSpec = schema.NewSpec(
	schema.String("pipeline", "The name of the pipeline under test.").Example(`"user_activity"`),
	schema.String("input", "An NDJSON file fed to the pipeline in place of its source, relative to this file's folder.").Example(`"testdata/user_events.ndjson"`),
	schema.String("expect", "An NDJSON file with the expected output rows, relative to this file's folder.").Example(`"testdata/user_activity.expected.ndjson"`),
	schema.Bool("ordered", "Compare rows in order; by default rows emitted by one window close may come in any order.").WithDefault(false),
	schema.Int("crash_after", "Crash the run after its Nth checkpoint (a checkpoint every few rows), as kill -9 would, then run it again from that checkpoint: the rows committed across both runs must equal the expected ones, checking exactly-once output offline.").AsOptional().Example(`2`),
)

// rootBlocks lists the block types allowed at the top level of a file.
var rootBlocks = []string{"pipeline", "checkpoint", "metrics", "test"}
