package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/runner/config"
)

// offlinePipeline reads Pulsar and writes a file, both configured from the
// environment and a file, with %s written inside the map stage.
const offlinePipeline = `pipeline "clicks" {
  source "pulsar" {
    service_url  = env("TEST_PULSAR_URL")
    topics       = ["clicks"]
    subscription = "clicks"
    tls {
      ca_file = file("missing-ca-path.txt")
    }
  }
  parse "json" {
    field "action" { type = "string" }
  }
  map { set = { %s } }
  sink "file" "out" { path = env("TEST_OUT") }
  dead_letter "file" { path = "${env("TEST_DEAD_DIR")}/dead.ndjson" }
}
`

// TestOffline loads a pipeline whose source, sink and dead letter need
// environment variables and a file that are missing: offline (sluice
// test) that is no error, but everything else is still checked.
func TestOffline(t *testing.T) {
	tests := []struct {
		name    string
		offline bool
		set     string   // the map's set argument
		diags   []string // "LINE:COL: Summary"
	}{
		{name: "offline", offline: true, set: `kind = "lower(action)"`},
		{name: "online", set: `kind = "lower(action)"`, diags: []string{
			"3:20: Error in function call", "7:17: Error in function call",
			"14:30: Error in function call", "15:34: Error in function call"}},
		{name: "offline still checks the stages", offline: true, set: `kind = "lower(acton)"`, diags: []string{"13:31: Unknown field in expression"}},
		{name: "offline still checks env in the stages", offline: true, set: `kind = env("TEST_KIND")`, diags: []string{"13:24: Error in function call"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &config.Options{Offline: tt.offline, Getenv: func(string) (string, bool) { return "", false }}
			src := config.Source{Name: "/srv/p.hcl", Bytes: fmt.Appendf(nil, offlinePipeline, tt.set)}
			project, diags := config.LoadSources([]config.Source{src}, opts)
			var got []string
			for _, d := range diags {
				got = append(got, fmt.Sprintf("%d:%d: %s", d.Subject.Start.Line, d.Subject.Start.Column, d.Summary))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.diags) {
				t.Fatalf("diagnostics = %q, want %q\n%s", got, tt.diags, diags.Error())
			}
			if !tt.offline || len(tt.diags) > 0 {
				return
			}
			p := project.Pipelines[0]
			if src := p.Chain[0]; src.Component != nil || !src.Output.Raw || len(src.Output.Meta) == 0 {
				t.Errorf("source: component %v (want none: it cannot run as written), output %s (want raw with metadata)", src.Component, src.Output)
			}
			if p.Sinks[0].Component != nil || p.DeadLetter.Component != nil {
				t.Errorf("the sink and the dead letter cannot run as written, yet have components")
			}
			if p.Chain[1].Component == nil || p.Chain[2].Component == nil || !strings.HasPrefix(p.Output().String(), "{action string, kind string}") {
				t.Errorf("stages after the source: %v %v, output %s", p.Chain[1].Component, p.Chain[2].Component, p.Output())
			}
		})
	}
}
