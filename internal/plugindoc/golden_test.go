package plugindoc_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/plugindoc"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/schema"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/plugins.md with the current output")

// checkGolden compares got with the file at path, or rewrites the file with
// -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/plugindoc -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./internal/plugindoc -update to accept it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func build(*plugins.Build) (plugins.Component, hcl.Diagnostics) { return nil, nil }

// fakePlugins declares a small set of plugins covering every kind, every
// argument type, nested and repeated blocks, defaults and examples.
func fakePlugins() []*plugins.Plugin {
	field := schema.NewSpec(
		schema.Enum("type", "The type of the field's values.", "string", "int", "float", "bool", "timestamp"),
		schema.Enum("unit", "How a timestamp is written: a number of seconds, milliseconds, microseconds or nanoseconds since the Unix epoch, or an RFC 3339 string.", "s", "ms", "us", "ns", "rfc3339").WithDefault("ms"),
		schema.Bool("required", "Whether a record without this field is an error.").WithDefault(true),
	)
	return []*plugins.Plugin{
		{
			Kind: plugins.KindSource, Block: "source", Name: "file",
			Summary:     "Reads records from one NDJSON file.",
			Description: "Reads the file once from the start, or follows it as it grows, like `tail -f`.\nThe file is one partition.\n\n## Positions\n\nThe position is the byte offset after the last complete line:\n\n- a restart resumes after the last line covered by a checkpoint;\n- a truncated file is read again from the start, which repeats records that were already delivered before it was truncated.\n\n```hcl\nsource \"file\" {\n  path = \"in.ndjson\"\n}\n```",
			Spec: schema.NewSpec(
				schema.String("path", "The file to read. A relative path is relative to the folder of the pipeline file.").Example(`"events.ndjson"`),
				schema.Bool("follow", "Keep reading as lines are appended, instead of ending at the end of the file.").WithDefault(false),
				schema.ByteSize("max_line", "The longest line accepted; longer lines go to the dead letter.").WithDefault("1MiB"),
			),
			Examples: []plugins.Example{
				{Title: "Read a recorded file once", Config: "source \"file\" {\n  path = \"testdata/events.ndjson\"\n}\n"},
				{Title: "Follow a log", Config: "source \"file\" {\n  path   = \"/var/log/app.ndjson\"\n  follow = true\n}"},
			},
			Build: build,
		},
		{
			Kind: plugins.KindParse, Block: "parse", Name: "json",
			Summary: "Parses each message as one JSON object into typed fields.",
			Spec: schema.NewSpec(
				schema.Block("field", "Declares one field of the output records, read from the JSON member of the same name.", field).Labels("name").Many(),
				schema.Enum("on_error", "What to do with a message that does not parse or has a field of the wrong type.", "drop", "dead_letter", "fail").WithDefault("dead_letter"),
			),
			Examples: []plugins.Example{{Title: "Two fields", Config: "parse \"json\" {\n  field \"user_id\" { type = \"int\" }\n  field \"ts\" {\n    type = \"timestamp\"\n    unit = \"s\"\n  }\n}"}},
			Build:    build,
		},
		{
			Kind: plugins.KindStage, Block: "filter", Name: "filter",
			Summary: "Keeps the records for which an expression is true.",
			Spec: schema.NewSpec(
				schema.Expr("where", "A boolean expression over the record's fields; records for which it is false are dropped.").Example(`"action != 'heartbeat'"`).Example(`"amount > 0 && currency == \"EUR\""`).Example(`"user_id % 10 == 0"`),
			),
			Examples: []plugins.Example{{Config: "filter { where = \"action != 'heartbeat'\" }"}},
			Build:    build,
		},
		{
			Kind: plugins.KindStage, Block: "window", Name: "tumbling",
			Summary: "Aggregates records in fixed, non-overlapping event-time windows aligned to the Unix epoch, closing each window when the watermark passes its end.",
			Spec: schema.NewSpec(
				schema.String("event_time", "The timestamp field that places a record in a window."),
				schema.Duration("size", "The length of every window.").Example(`"1m"`),
				schema.Duration("watermark", "How far behind the largest event time seen the watermark stays: the allowed out-of-orderness.").WithDefault("0s"),
				schema.List("group_by", schema.TypeString, "Fields whose values make up the key of a window's group.").WithDefault([]string{}),
				schema.Map("aggregate", schema.TypeExpr, "Output columns, each computed by an aggregate function such as count() or sum(x).").WithDefault(map[string]string{"events": "count()", "total sum": "sum(amount)"}),
				schema.EnumList("emit_on", "When results are emitted.", "close", "update").WithDefault([]string{"close"}),
				schema.List("percentiles", schema.TypeFloat, "Quantiles reported by approx_percentile columns.").WithDefault([]string{"0.5", "0.99"}),
				schema.Float("accuracy", "Relative error of the approximate sketches.").WithDefault(0.01),
				schema.Int("max_groups", "The most groups kept open at once; 0 means no limit.").WithDefault(0),
				schema.Block("late", "Where records that arrive after their window closed go.", schema.NewSpec(
					schema.Enum("action", "Drop late records or send them to the dead letter.", "drop", "dead_letter").WithDefault("drop"),
					schema.Block("sample", "Logs some late records.", schema.NewSpec(
						schema.Int("every", "Log one late record out of this many.").WithDefault(100),
					)),
				)),
				schema.Block("trace", "Turns on tracing of the window's state; takes no arguments.", schema.NewSpec()).AsOptional(),
			),
			Build: build,
		},
		{
			Kind: plugins.KindSink, Block: "sink", Name: "console",
			Summary:  "Prints records to standard output.",
			Contract: &plugins.SinkContract{Changes: plugins.ChangesAppend, Delivery: plugins.AtLeastOnce, DeliveryNote: "a replay prints rows again"},
			Spec: schema.NewSpec(
				schema.Enum("format", "How to print records: an aligned table or one JSON object per line.", "table", "json").WithDefault("table"),
				schema.String("title", "A line printed before every batch, with ${ and %{ kept as written.").AsOptional(),
			),
			Examples: []plugins.Example{{Title: "Debug output", Config: `sink "console" "debug" {}`}},
			Build:    build,
		},
		{
			Kind: plugins.KindDeadLetter, Block: "dead_letter", Name: "discard",
			Summary: "Drops every record sent to the dead letter.",
			Spec:    schema.NewSpec(),
			Build:   build,
		},
	}
}

// testEnvironment registers the fake plugins in a new environment, in the
// given order of indexes (all of them, in order, when none are given).
func testEnvironment(t *testing.T, order ...int) *plugins.Environment {
	t.Helper()
	ps := fakePlugins()
	if len(order) == 0 {
		for i := range ps {
			order = append(order, i)
		}
	}
	env := plugins.NewEnvironment()
	for _, i := range order {
		if err := env.Register(ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func TestWriteListGolden(t *testing.T) {
	tests := []struct {
		name string
		env  *plugins.Environment
	}{
		{"list", testEnvironment(t)},
		{"list_sinks_only", testEnvironment(t, 4)},
		{"list_empty", plugins.NewEnvironment()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := plugindoc.WriteList(&buf, tt.env); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", tt.name+".golden"), buf.Bytes())
		})
	}
}

func TestWritePluginGolden(t *testing.T) {
	for _, p := range testEnvironment(t).Plugins() {
		name := "plugin_" + p.Block + "_" + p.Name
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := plugindoc.WritePlugin(&buf, p); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", name+".golden"), buf.Bytes())
		})
	}
}

func TestMarkdownGolden(t *testing.T) {
	checkGolden(t, filepath.Join("testdata", "plugins.md.golden"), plugindoc.Markdown(testEnvironment(t)))
}

func TestMarkdownIgnoresRegistrationOrder(t *testing.T) {
	want := plugindoc.Markdown(testEnvironment(t))
	got := plugindoc.Markdown(testEnvironment(t, 5, 3, 1, 4, 0, 2))
	if !bytes.Equal(got, want) {
		t.Errorf("Markdown depends on registration order:\n--- reversed\n%s\n--- in order\n%s", got, want)
	}
}

// TestTextWidth checks that no line of the plain-text output is wider than
// 100 columns, so that it reads well in a terminal.
func TestTextWidth(t *testing.T) {
	env := testEnvironment(t)
	var buf bytes.Buffer
	if err := plugindoc.WriteList(&buf, env); err != nil {
		t.Fatal(err)
	}
	for _, p := range env.Plugins() {
		if err := plugindoc.WritePlugin(&buf, p); err != nil {
			t.Fatal(err)
		}
	}
	for i, line := range strings.Split(buf.String(), "\n") {
		if len(line) > 100 {
			t.Errorf("line %d is %d columns wide: %q", i+1, len(line), line)
		}
		if strings.TrimRight(line, " \t") != line {
			t.Errorf("line %d has trailing space: %q", i+1, line)
		}
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrors(t *testing.T) {
	env := testEnvironment(t)
	tests := []struct {
		name  string
		write func() error
	}{
		{"WriteList", func() error { return plugindoc.WriteList(failingWriter{}, env) }},
		{"WritePlugin", func() error { return plugindoc.WritePlugin(failingWriter{}, env.Plugins()[0]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.write(); !errors.Is(err, errWrite) {
				t.Errorf("got error %v, want %v", err, errWrite)
			}
		})
	}
}
