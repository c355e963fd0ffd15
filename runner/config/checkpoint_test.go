package config_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/runner/config"
)

// checkpointFile is a pipeline file with a checkpoint block whose store
// argument, on line 8, is %s.
const checkpointFile = `pipeline "clicks" {
  source "file" { path = "events.ndjson" }
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
	opts := &config.Options{Stat: func(string) (fs.FileInfo, error) { return nil, nil }}
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
