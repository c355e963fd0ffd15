package filter

import (
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/plugintest"
)

var events = plugintest.Events

var summaries = plugintest.Summaries

func TestBuild(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		raw   bool // the input is unparsed bytes
		diags []string
	}{
		{name: "valid", src: `filter { where = "action != 'heartbeat'" }`},
		{name: "timestamp", src: `filter { where = "ts > now() - duration('1h')" }`},
		{name: "missing where", src: `filter {}`, diags: []string{"1:1: Missing required argument"}},
		{name: "unknown field", src: `filter { where = "acton == 'x'" }`, diags: []string{"1:19: Unknown field in expression"}},
		{name: "not a bool", src: `filter { where = "user_id + 1" }`, diags: []string{"1:19: Condition is not a bool"}},
		{name: "type error", src: `filter { where = "user_id == 'x'" }`, diags: []string{"1:27: Type error in expression"}},
		{name: "raw input", src: `filter { where = "action != 'x'" }`, raw: true, diags: []string{"1:19: Unknown field in expression"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := events
			if tt.raw {
				input = record.RawSchema()
			}
			c, diags := plugintest.Build(Plugin, tt.src, input)
			if got := summaries(diags); !reflect.DeepEqual(got, tt.diags) {
				t.Fatalf("diagnostics = %q, want %q", got, tt.diags)
			}
			if len(tt.diags) > 0 {
				// With errors the filter is still returned, without a
				// program, so that later stages can be checked.
				// plugintest does not build a block that failed to decode.
				if f, ok := c.(*Filter); c != nil && (!ok || f.Where != nil || !reflect.DeepEqual(f.Output(), input)) {
					t.Fatalf("component = %#v, want a filter without a program passing its input", c)
				}
				return
			}
			f := c.(*Filter)
			if f.Where == nil || f.Where.Type != record.ColumnBool {
				t.Fatalf("program = %#v, want a bool program", f.Where)
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
