package mapping

import (
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/plugintest"
)

var events = plugintest.Events

var summaries = plugintest.Summaries

// cols builds a record from alternating names and types.
func cols(spec ...any) record.Schema {
	var r record.Schema
	for i := 0; i < len(spec); i += 2 {
		r.Columns = append(r.Columns, record.Column{Name: spec[i].(string), Type: spec[i+1].(record.ColumnType)})
	}
	return r
}

func TestBuild(t *testing.T) {
	const (
		i  = record.ColumnInt
		s  = record.ColumnString
		ts = record.ColumnTimestamp
		b  = record.ColumnBool
		f  = record.ColumnFloat
	)
	tests := []struct {
		name   string
		src    string
		output record.Schema
		set    []string // the assigned names, in order
		diags  []string
	}{
		{
			name:   "replace in place",
			src:    `map { set = { action = "lower(action)" } }`,
			output: events,
			set:    []string{"action"},
		},
		{
			name:   "retype in place and append",
			src:    `map { set = { user_id = "string(user_id)", ratio = "user_id / 2", mobile = "device == 'ios'" } }`,
			output: cols("user_id", s, "action", s, "ts", ts, "device", s, "ratio", f, "mobile", b),
			set:    []string{"user_id", "ratio", "mobile"},
		},
		{
			name:   "sets read the input",
			src:    `map { set = { action = "user_id", other = "action + '!'" } }`,
			output: cols("user_id", i, "action", i, "ts", ts, "device", s, "other", s),
			set:    []string{"action", "other"},
		},
		{
			name:   "drop",
			src:    `map { drop = ["device", "ts"] }`,
			output: cols("user_id", i, "action", s),
		},
		{
			name: "set and drop",
			src: `map {
  set  = { hour = "ts.Hour()" }
  drop = ["ts"]
}`,
			output: cols("user_id", i, "action", s, "device", s, "hour", i),
			set:    []string{"hour"},
		},
		{
			name:  "nothing",
			src:   `map {}`,
			diags: []string{"1:1: Nothing to map"},
		},
		{
			name:  "empty set",
			src:   `map { set = {} }`,
			diags: []string{"1:1: Nothing to map"},
		},
		{
			name: "bad keys",
			src: `map {
  set = {
    "user id" = "1"
    "in"      = "2"
    ok        = "3"
  }
}`,
			diags: []string{"3:5: Invalid field name", "4:5: Invalid field name"},
		},
		{
			name: "expression errors",
			src: `map {
  set = {
    a = "lower(actoin)"
    b = "user_id + action"
  }
}`,
			diags: []string{"3:16: Unknown field in expression", "4:18: Type error in expression"},
		},
		{
			name:  "unknown drop",
			src:   `map { drop = ["device", "devise", "nope"] }`,
			diags: []string{"1:25: Unknown field", "1:35: Unknown field"},
		},
		{
			name: "set and dropped",
			src: `map {
  set  = { action = "lower(action)", x = "1" }
  drop = ["action", "x"]
}`,
			diags: []string{"3:11: Field both set and dropped", "3:21: Field both set and dropped"},
		},
		{
			name:  "duplicate drop",
			src:   `map { drop = ["device", "device"] }`,
			diags: []string{"1:25: Duplicate field in drop"},
		},
		{
			name:  "every field dropped",
			src:   `map { drop = ["user_id", "action", "ts", "device"] }`,
			diags: []string{"1:14: Every field dropped"},
		},
		{
			name:  "not a list",
			src:   `map { drop = "device" }`,
			diags: []string{"1:14: Incorrect argument type"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := plugintest.Build(Plugin, tt.src, events)
			if got := summaries(diags); !reflect.DeepEqual(got, tt.diags) {
				t.Fatalf("diagnostics = %q, want %q", got, tt.diags)
			}
			if len(tt.diags) > 0 {
				if c != nil {
					t.Fatalf("component = %#v, want nil", c)
				}
				return
			}
			if !reflect.DeepEqual(c.Output(), tt.output) {
				t.Fatalf("output = %v, want %v", c.Output(), tt.output)
			}
			var set []string
			for _, a := range c.(*Map).Set {
				set = append(set, a.Name)
			}
			if !reflect.DeepEqual(set, tt.set) {
				t.Fatalf("set = %q, want %q", set, tt.set)
			}
			if !reflect.DeepEqual(c.(*Map).Input, events) {
				t.Fatalf("input changed: %v", c.(*Map).Input)
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
