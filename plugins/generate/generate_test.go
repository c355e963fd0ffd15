package generate

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/plugintest"
)

func TestBuild(t *testing.T) {
	typed := record.Schema{Columns: []record.Column{
		{Name: "user_id", Type: record.ColumnInt},
		{Name: "action", Type: record.ColumnString},
		{Name: "ts", Type: record.ColumnTimestamp},
		{Name: "device", Type: record.ColumnString},
	}}
	tests := []struct {
		name   string
		src    string
		want   *Source
		output record.Schema
		diags  []string
	}{
		{
			name:   "defaults",
			src:    `source "generate" { rate = 100 }`,
			want:   &Source{Rate: 100, Seed: 1, Users: 500, Disorder: 5 * time.Second, LateFraction: 0.01, Format: FormatRecords},
			output: typed,
		},
		{
			name: "everything",
			src: `source "generate" {
  rate          = 5
  count         = 10
  seed          = 7
  users         = 3
  disorder      = "0s"
  late_fraction = 1
  format        = "json"
}`,
			want:   &Source{Rate: 5, Count: 10, Seed: 7, Users: 3, LateFraction: 1, Format: FormatJSON},
			output: record.RawSchema(),
		},
		{
			name:  "missing rate",
			src:   `source "generate" {}`,
			diags: []string{"1:1: Missing required argument"},
		},
		{
			name: "bad numbers",
			src: `source "generate" {
  rate          = 0
  count         = -1
  users         = 0
  late_fraction = 1.5
}`,
			diags: []string{
				`2:19: Invalid value for argument "rate"`,
				`3:19: Invalid value for argument "count"`,
				`4:19: Invalid value for argument "users"`,
				`5:19: Invalid value for argument "late_fraction"`,
			},
		},
		{
			name: "negative late fraction",
			src: `source "generate" {
  rate          = 1
  late_fraction = -0.1
}`,
			diags: []string{`3:19: Invalid value for argument "late_fraction"`},
		},
		{
			name: "bad format",
			src: `source "generate" {
  rate   = 1
  format = "avro"
}`,
			diags: []string{`3:12: Invalid value for argument "format"`},
		},
		{
			name:  "fractional rate",
			src:   `source "generate" { rate = 1.5 }`,
			diags: []string{`1:28: Invalid value for argument "rate"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Expect(t, Plugin, tt.src, record.Schema{}, tt.diags, tt.want)
			if c == nil {
				return
			}
			if out := c.Output(); !reflect.DeepEqual(out, tt.output) {
				t.Fatalf("output = %v, want %v", out, tt.output)
			}
		})
	}
}

func TestExamples(t *testing.T) {
	for _, ex := range Plugin.Examples {
		if _, diags := plugintest.Build(Plugin, ex.Config, record.Schema{}); len(diags) > 0 {
			t.Errorf("example %q: %s", ex.Title, diags.Error())
		}
	}
}
