package config_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/runner/config"
	"github.com/sluice-io/sluice/schema"
)

// checkpointFile is a pipeline file with a checkpoint block whose store
// argument, on line 8, is %s.
const checkpointFile = `pipeline "clicks" {
  source "replay" {}
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
checkpoint { store = %s }
`

func TestCheckpointStore(t *testing.T) {
	tests := []struct {
		store  string // as written in the file
		want   objstore.Location
		diags  []string // "LINE:COL: Summary"
		detail string   // in the first diagnostic
	}{
		{store: `"file:///var/lib/sluice/checkpoints"`, want: objstore.Location{Scheme: "file", Dir: "/var/lib/sluice/checkpoints"}},
		{store: `"checkpoints"`, want: objstore.Location{Scheme: "file", Dir: "/srv/pipelines/checkpoints"}},
		{store: `"../state/ckpt/"`, want: objstore.Location{Scheme: "file", Dir: "/srv/state/ckpt"}},
		{store: `"s3://analytics/checkpoints/?region=eu-west-1&response_checksum_validation=when_required"`,
			want: objstore.Location{Scheme: "s3", Bucket: "analytics", Prefix: "checkpoints", Query: "region=eu-west-1&response_checksum_validation=when_required"}},
		{store: `"ftp://backup.example.com/checkpoints"`, diags: []string{"8:23: Unsupported path scheme"},
			detail: `The checkpoint store supports local folders (file:// or a plain path) and S3 prefixes (s3://), not "ftp://".`},
		{store: `"s3://analytics/checkpoints?region=eu-west-1&endpont=http://127.0.0.1:9000"`, diags: []string{"8:67: Unknown S3 option"},
			detail: `Did you mean "endpoint"?`},
		{store: `"s3:///checkpoints"`, diags: []string{"8:23: Missing S3 bucket"}},
		{store: `""`, diags: []string{"8:22: Empty path"}, detail: "The checkpoint store needs"},
		{store: `"s3://b/ckpt?\u0072egoin=x"`, diags: []string{"8:35: Unknown S3 option"}}, // after an escape
		{store: `["ckpt"]`, diags: []string{"8:22: Incorrect argument type"}},              // one diagnostic, not a second "Empty path"
	}
	opts := &config.Options{Plugins: testSources(t), Stat: func(string) (fs.FileInfo, error) { return nil, nil }}
	for _, tt := range tests {
		t.Run(tt.store, func(t *testing.T) {
			src := config.Source{Name: "/srv/pipelines/p.hcl", Bytes: fmt.Appendf(nil, checkpointFile, tt.store)}
			p, diags := config.LoadSources([]config.Source{src}, opts)
			var got []string
			for _, d := range diags {
				got = append(got, fmt.Sprintf("%d:%d: %s", d.Subject.Start.Line, d.Subject.Start.Column, d.Summary))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.diags) {
				t.Fatalf("diagnostics = %q, want %q", got, tt.diags)
			}
			if tt.detail != "" && !strings.Contains(diags[0].Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", diags[0].Detail, tt.detail)
			}
			c := p.Checkpoint
			if c == nil || c.Location != tt.want {
				t.Fatalf("checkpoint = %+v, want location %+v", c, tt.want)
			}
			if len(tt.diags) == 0 && c.Store != strings.Trim(tt.store, `"`) {
				t.Errorf("Store = %q, want it as written", c.Store)
			}
		})
	}
}

// testSources returns the bundled plugins plus two test sources: "replay",
// which can resume from checkpoints unless mode = "spread" (its
// CheckResumable says so at the argument), and "once", which cannot.
func testSources(t *testing.T) *plugins.Environment {
	t.Helper()
	env := plugins.Global().Clone()
	for _, p := range []*plugins.Plugin{
		{Kind: plugins.KindSource, Block: "source", Name: "replay", Summary: "A test source that can resume.",
			Spec:  schema.NewSpec(schema.Enum("mode", "How it reads.", "ordered", "spread").WithDefault("ordered")),
			Build: func(b *plugins.Build) (plugins.Component, hcl.Diagnostics) { return replaySource{args: b.Args}, nil }},
		{Kind: plugins.KindSource, Block: "source", Name: "once", Summary: "A test source that cannot resume.",
			Spec:  schema.NewSpec(),
			Build: func(*plugins.Build) (plugins.Component, hcl.Diagnostics) { return onceSource{}, nil }},
	} {
		if err := env.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// errNotRead is what the test sources' Open returns: the loader never
// opens a source.
var errNotRead = errors.New("a test source is never read")

type onceSource struct{}

func (onceSource) Output() record.Schema { return record.RawSchema() }

func (onceSource) Open(context.Context, *plugins.Runtime) (plugins.Reader, error) {
	return nil, errNotRead
}

type replaySource struct{ args *schema.Values }

func (replaySource) Output() record.Schema { return record.RawSchema() }

func (replaySource) Open(context.Context, *plugins.Runtime) (plugins.Reader, error) {
	return nil, errNotRead
}

func (s replaySource) CheckResumable() hcl.Diagnostics {
	if s.args.String("mode") != "spread" {
		return nil
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Spread reads cannot resume", Detail: "mode = \"spread\" cannot resume.", Subject: s.args.Range("mode").Ptr()}}
}

// TestPipelineCheckpoint checks how a pipeline's own checkpoint block
// resolves against the top-level one, and that a pipeline taking
// checkpoints needs a source that can resume.
func TestPipelineCheckpoint(t *testing.T) {
	const top = "checkpoint {\n  store = \"/srv/top\"\n  every = \"5s\"\n}\n"
	pipeline := func(name, source, own string) string {
		return fmt.Sprintf("pipeline %q {\n  source %s\n  sink \"console\" \"out\" {}\n%s}\n", name, source, own)
	}
	type want struct {
		store        string // Location.Dir; "-" for no checkpoints
		every, lease time.Duration
	}
	tests := []struct {
		name  string
		src   string
		want  want
		diags []string // "LINE:COL: Summary"
	}{
		{name: "top-level only", src: top + pipeline("p", `"replay" {}`, ""),
			want: want{"/srv/top", 5 * time.Second, 30 * time.Second}},
		{name: "own block overrides some arguments", src: top + pipeline("p", `"replay" {}`, "  checkpoint { lease_timeout = \"2s\" }\n"),
			want: want{"/srv/top", 5 * time.Second, 2 * time.Second}},
		{name: "own block overrides the store", src: top + pipeline("p", `"replay" {}`, "  checkpoint {\n    store = \"own\"\n  }\n"),
			want: want{"/srv/pipelines/own", 5 * time.Second, 30 * time.Second}},
		{name: "own block without a top-level one", src: pipeline("p", `"replay" {}`, "  checkpoint {\n    store = \"own\"\n    every = \"1m\"\n  }\n"),
			want: want{"/srv/pipelines/own", time.Minute, 30 * time.Second}},
		{name: "no block", src: pipeline("p", `"once" {}`, ""), want: want{store: "-"}},
		{name: "opted out", src: top + pipeline("p", `"once" {}`, "  checkpoint { enabled = false }\n"), want: want{store: "-"}},
		{name: "opted out with arguments", src: top + pipeline("p", `"once" {}`, "  checkpoint {\n    enabled = false\n    every = \"1s\"\n  }\n"),
			want: want{store: "-"}, diags: []string{"10:13: Argument without effect"}},
		{name: "own block without a store anywhere", src: pipeline("p", `"replay" {}`, "  checkpoint { every = \"1s\" }\n"),
			want: want{"", time.Second, 30 * time.Second}, diags: []string{"4:3: Missing checkpoint store"}},
		{name: "source that cannot resume", src: top + pipeline("p", `"once" {}`, ""),
			want: want{"/srv/top", 5 * time.Second, 30 * time.Second}, diags: []string{"6:3: Source cannot resume from a checkpoint"}},
		{name: "configuration that cannot resume", src: top + pipeline("p", `"replay" { mode = "spread" }`, ""),
			want: want{"/srv/top", 5 * time.Second, 30 * time.Second}, diags: []string{"6:28: Spread reads cannot resume"}},
		{name: "two own blocks", src: top + pipeline("p", `"replay" {}`, "  checkpoint {}\n  checkpoint {}\n"),
			want: want{"/srv/top", 5 * time.Second, 30 * time.Second}, diags: []string{"9:3: Duplicate checkpoint block in a pipeline"}},
		{name: "enabled at the top level", src: "checkpoint {\n  store = \"/srv/top\"\n  enabled = false\n}\n" + pipeline("p", `"replay" {}`, ""),
			want: want{"/srv/top", 10 * time.Second, 30 * time.Second}, diags: []string{"3:3: Unsupported argument"}},
		{name: "zero lease timeout", src: top + pipeline("p", `"replay" {}`, "  checkpoint { lease_timeout = \"0s\" }\n"),
			want: want{"/srv/top", 5 * time.Second, 0}, diags: []string{"8:32: Invalid value for argument \"lease_timeout\""}},
	}
	opts := &config.Options{Plugins: testSources(t)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project, diags := config.LoadSources([]config.Source{{Name: "/srv/pipelines/p.hcl", Bytes: []byte(tt.src)}}, opts)
			var got []string
			for _, d := range diags {
				got = append(got, fmt.Sprintf("%d:%d: %s", d.Subject.Start.Line, d.Subject.Start.Column, d.Summary))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.diags) {
				t.Fatalf("diagnostics = %q, want %q\n%s", got, tt.diags, tt.src)
			}
			c := project.Pipelines[0].Checkpoint
			switch {
			case tt.want.store == "-":
				if c != nil {
					t.Fatalf("checkpoint = %+v, want none", c)
				}
			case c == nil:
				t.Fatal("no checkpoint settings")
			case c.Location.Dir != tt.want.store || c.Every != tt.want.every || c.LeaseTimeout != tt.want.lease:
				t.Fatalf("checkpoint = %+v, want %+v", c, tt.want)
			}
		})
	}
}

// TestCheckpointPerPipeline loads two pipelines with one top-level block:
// the one that cannot resume opts out, and the other keeps its
// checkpoints; without the opt-out only the pipeline that cannot resume
// is refused.
func TestCheckpointPerPipeline(t *testing.T) {
	const src = `checkpoint { store = "/srv/top" }
pipeline "resumes" {
  source "replay" {}
  sink "console" "out" {}
}
pipeline "generated" {
  source "once" {}
  sink "console" "out" {}
  %s
}
`
	opts := &config.Options{Plugins: testSources(t)}
	project, diags := config.LoadSources([]config.Source{{Name: "/srv/p.hcl", Bytes: fmt.Appendf(nil, src, "checkpoint { enabled = false }")}}, opts)
	if len(diags) > 0 {
		t.Fatal(diags.Error())
	}
	if project.Pipeline("resumes").Checkpoint == nil || project.Pipeline("generated").Checkpoint != nil {
		t.Fatalf("checkpoints: resumes %+v, generated %+v", project.Pipeline("resumes").Checkpoint, project.Pipeline("generated").Checkpoint)
	}
	_, diags = config.LoadSources([]config.Source{{Name: "/srv/p.hcl", Bytes: fmt.Appendf(nil, src, "")}}, opts)
	if len(diags) != 1 || diags[0].Subject.Start.Line != 7 ||
		!strings.Contains(diags[0].Detail, `source "once" cannot resume from a checkpoint`) || !strings.Contains(diags[0].Detail, "checkpoint { enabled = false }") {
		t.Fatalf("want one error at the source of pipeline generated, got %s", diags.Error())
	}
}
