package console

import (
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/plugins/plugintest"
)

var events = plugintest.Events

func TestBuild(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		want  *Sink
		diags []string
	}{
		{name: "default", src: `sink "console" "debug" {}`, want: &Sink{Format: FormatTable, Input: events}},
		{name: "json", src: `sink "console" "debug" { format = "json" }`, want: &Sink{Format: FormatJSON, Input: events}},
		{name: "bad format", src: `sink "console" "debug" { format = "jsno" }`, diags: []string{`1:35: Invalid value for argument "format"`}},
		{name: "unknown argument", src: `sink "console" "debug" { fromat = "json" }`, diags: []string{`1:26: Unsupported argument`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Expect(t, Plugin, tt.src, events, tt.diags, tt.want)
			if c == nil {
				return
			}
			if !reflect.DeepEqual(c.Output(), events) {
				t.Fatalf("output = %v, want %v", c.Output(), events)
			}
		})
	}
}

func TestExamples(t *testing.T) {
	for _, ex := range Plugin.Examples {
		if _, diags := plugintest.Build(Plugin, ex.Config, events); len(diags) > 0 {
			t.Errorf("example %q: %s", ex.Title, diags.Error())
		}
	}
}
