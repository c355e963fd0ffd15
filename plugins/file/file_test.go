package file

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

var events = plugintest.Events

// summaries renders diagnostics as "line:col: Summary" for comparison.
var summaries = plugintest.Summaries

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSource(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  *Source
		diags []string
	}{
		{
			name: "defaults",
			src:  `source "file" { path = "in.ndjson" }`,
			want: &Source{Path: abs(t, "in.ndjson"), PollInterval: 250 * time.Millisecond},
		},
		{
			name: "follow",
			src: `source "file" {
  path          = "/var/log/a.ndjson"
  follow        = true
  poll_interval = "1s"
}`,
			want: &Source{Path: "/var/log/a.ndjson", Follow: true, PollInterval: time.Second},
		},
		{
			name: "file URL",
			src:  `source "file" { path = "file:///data/x.ndjson" }`,
			want: &Source{Path: "/data/x.ndjson", PollInterval: 250 * time.Millisecond},
		},
		{
			name:  "missing path",
			src:   `source "file" {}`,
			diags: []string{"1:1: Missing required argument"},
		},
		{
			name:  "empty path",
			src:   `source "file" { path = "" }`,
			diags: []string{"1:24: Empty path"},
		},
		{
			name:  "other scheme",
			src:   `source "file" { path = "s3://bucket/x" }`,
			diags: []string{"1:25: Unsupported path scheme"},
		},
		{
			name:  "directory",
			src:   `source "file" { path = "data/" }`,
			diags: []string{"1:24: Path is a directory"},
		},
		{
			name: "zero poll interval",
			src: `source "file" {
  path          = "a"
  follow        = true
  poll_interval = "0s"
}`,
			diags: []string{"4:19: Invalid poll interval"},
		},
		{
			name: "poll interval without follow",
			src: `source "file" {
  path          = "a"
  poll_interval = "1s"
}`,
			want:  &Source{Path: abs(t, "a"), PollInterval: time.Second},
			diags: []string{"3:3: Argument has no effect"},
		},
		{
			name:  "unknown argument",
			src:   `source "file" { paht = "a" }`,
			diags: []string{"1:17: Unsupported argument", "1:1: Missing required argument"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Expect(t, SourcePlugin, tt.src, record.Schema{}, tt.diags, tt.want)
			if c == nil {
				return
			}
			if out := c.Output(); !out.Raw {
				t.Fatalf("output = %v, want raw bytes", out)
			}
		})
	}
}

func TestSinks(t *testing.T) {
	tests := []struct {
		name   string
		plugin *plugins.Plugin
		src    string
		want   plugins.Component
		diags  []string
	}{
		{
			name:   "sink",
			plugin: SinkPlugin,
			src:    `sink "file" "out" { path = "/tmp/out.ndjson" }`,
			want:   &Sink{Path: "/tmp/out.ndjson", Input: events},
		},
		{
			name:   "sink relative",
			plugin: SinkPlugin,
			src:    `sink "file" "out" { path = "out/x.ndjson" }`,
			want:   &Sink{Path: abs(t, "out/x.ndjson"), Input: events},
		},
		{
			name:   "sink empty path",
			plugin: SinkPlugin,
			src:    `sink "file" "out" { path = " " }`,
			diags:  []string{"1:28: Empty path"},
		},
		{
			name:   "dead letter default payload",
			plugin: DeadLetterPlugin,
			src:    `dead_letter "file" { path = "/d.ndjson" }`,
			want:   &DeadLetter{Path: "/d.ndjson", Payload: PayloadText, Input: events},
		},
		{
			name:   "dead letter base64",
			plugin: DeadLetterPlugin,
			src: `dead_letter "file" {
  path    = "/d.ndjson"
  payload = "base64"
}`,
			want: &DeadLetter{Path: "/d.ndjson", Payload: PayloadBase64, Input: events},
		},
		{
			name:   "dead letter bad payload",
			plugin: DeadLetterPlugin,
			src: `dead_letter "file" {
  path    = "/d.ndjson"
  payload = "binary"
}`,
			diags: []string{`3:13: Invalid value for argument "payload"`},
		},
		{
			name:   "dead letter scheme",
			plugin: DeadLetterPlugin,
			src:    `dead_letter "file" { path = "pulsar://x" }`,
			diags:  []string{"1:30: Unsupported path scheme"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Expect(t, tt.plugin, tt.src, events, tt.diags, tt.want)
			if c == nil {
				return
			}
			if out := c.Output(); !reflect.DeepEqual(out, events) {
				t.Fatalf("output = %v, want the input %v", out, events)
			}
		})
	}
}

// TestExamples builds every documented example.
func TestExamples(t *testing.T) {
	for _, p := range []*plugins.Plugin{SourcePlugin, SinkPlugin, DeadLetterPlugin} {
		for _, ex := range p.Examples {
			input := events
			if p.Kind == plugins.KindSource {
				input = record.Schema{}
			}
			if _, diags := plugintest.Build(p, ex.Config, input); len(diags) > 0 {
				t.Errorf("%s example %q: %s", p.Header(), ex.Title, diags.Error())
			}
		}
	}
}
