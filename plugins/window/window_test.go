package window

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/plugintest"
)

// standard is the record schema the plugin examples are written for.
var standard = plugintest.Events

func pluginNamed(t *testing.T, k Kind) *plugins.Plugin {
	t.Helper()
	p, ok := plugins.Global().Lookup("window", string(k))
	if !ok {
		t.Fatalf("window %q is not registered", k)
	}
	return p
}

// render gives each diagnostic as "Summary @ file:line:col-line:col".
func render(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		s := d.Summary
		if r := d.Subject; r != nil {
			s += fmt.Sprintf(" @ %s:%d:%d-%d:%d", r.Filename, r.Start.Line, r.Start.Column, r.End.Line, r.End.Column)
		}
		out = append(out, s)
	}
	return out
}

func TestRegistered(t *testing.T) {
	for _, p := range Plugins() {
		if err := plugins.NewEnvironment().Register(p); err != nil {
			t.Errorf("%s: %v", p.Header(), err)
		}
		if len(p.Examples) == 0 || p.Description == "" {
			t.Errorf("%s: missing examples or description", p.Header())
		}
	}
}

func TestExamples(t *testing.T) {
	for _, k := range Kinds {
		p := pluginNamed(t, k)
		for _, ex := range p.Examples {
			t.Run(string(k)+"/"+ex.Title, func(t *testing.T) {
				c, diags := plugintest.Build(p, ex.Config, standard)
				if len(diags) > 0 {
					t.Fatalf("diagnostics: %q", render(diags))
				}
				if c.(*Window).Kind != k {
					t.Errorf("kind = %s", c.(*Window).Kind)
				}
			})
		}
	}
}

func TestBuild(t *testing.T) {
	ts := func(n string) record.Column { return record.Column{Name: n, Type: record.ColumnTimestamp} }
	tests := []struct {
		name string
		src  string
		want Window // Aggregates compared by name and type through Out
	}{{
		name: "tumbling defaults",
		src:  "window \"tumbling\" {\nevent_time = \"ts\"\nsize = \"1m\"\naggregate = { n = \"count()\" }\n}",
		want: Window{Kind: Tumbling, EventTime: "ts", EventTimeIndex: 2, Size: time.Minute, Slide: time.Minute,
			IdleTimeout: 30 * time.Second, EmitOnClose: true, Late: LateDrop,
			Out: record.Schema{Columns: []record.Column{ts("window_start"), ts("window_end"), {Name: "n", Type: record.ColumnInt}}, Key: []string{"window_start"}}},
	}, {
		name: "tumbling with everything",
		src: `window "tumbling" {
  event_time = "ts"
  size = "1h"
  offset = "15m"
  watermark = "2m"
  idle_timeout = "1m"
  group_by = ["device", "action"]
  aggregate = { users = "count_distinct(user_id)", last = "last(action)" }
  emit = "every 10s"
  late = "dead_letter"
}`,
		want: Window{Kind: Tumbling, EventTime: "ts", EventTimeIndex: 2, Size: time.Hour, Slide: time.Hour, Offset: 15 * time.Minute,
			Watermark: 2 * time.Minute, IdleTimeout: time.Minute, GroupBy: []string{"device", "action"}, GroupByIndex: []int{3, 1},
			EmitEvery: 10 * time.Second, Late: LateDeadLetter,
			Out: record.Schema{Columns: []record.Column{ts("window_start"), ts("window_end"),
				{Name: "device", Type: record.ColumnString}, {Name: "action", Type: record.ColumnString},
				{Name: "users", Type: record.ColumnInt}, {Name: "last", Type: record.ColumnString}, {Name: "final", Type: record.ColumnBool}},
				Key: []string{"window_start", "device", "action"}}},
	}, {
		name: "sliding",
		src: `window "sliding" {
  event_time = "ts"
  size = "5m"
  slide = "1m"
  offset = "30s"
  aggregate = { s = "sum(user_id)" }
}`,
		want: Window{Kind: Sliding, EventTime: "ts", EventTimeIndex: 2, Size: 5 * time.Minute, Slide: time.Minute, Offset: 30 * time.Second,
			IdleTimeout: 30 * time.Second, EmitOnClose: true, Late: LateDrop,
			Out: record.Schema{Columns: []record.Column{ts("window_start"), ts("window_end"), {Name: "s", Type: record.ColumnInt}}, Key: []string{"window_start"}}},
	}, {
		name: "sliding with slide equal to size",
		src: `window "sliding" {
  event_time = "ts"
  size = "1m"
  slide = "1m"
  aggregate = { s = "min(ts)" }
}`,
		want: Window{Kind: Sliding, EventTime: "ts", EventTimeIndex: 2, Size: time.Minute, Slide: time.Minute,
			IdleTimeout: 30 * time.Second, EmitOnClose: true, Late: LateDrop,
			Out: record.Schema{Columns: []record.Column{ts("window_start"), ts("window_end"), ts("s")}, Key: []string{"window_start"}}},
	}, {
		name: "session",
		src: `window "session" {
  event_time = "ts"
  gap = "30m"
  group_by = ["user_id"]
  aggregate = { a = "avg(user_id)" }
}`,
		want: Window{Kind: Session, EventTime: "ts", EventTimeIndex: 2, Gap: 30 * time.Minute,
			IdleTimeout: 30 * time.Second, GroupBy: []string{"user_id"}, GroupByIndex: []int{0}, EmitOnClose: true, Late: LateDrop,
			Out: record.Schema{Columns: []record.Column{ts("window_start"), ts("window_end"),
				{Name: "user_id", Type: record.ColumnInt}, {Name: "a", Type: record.ColumnFloat}}, Key: []string{"window_start", "user_id"}}},
	}, {
		name: "session with allowed lateness and updates",
		src: `window "session" {
  event_time = "ts"
  gap = "30m"
  allowed_lateness = "1h"
  group_by = ["user_id"]
  aggregate = { a = "avg(user_id)" }
  emit = "every 1m"
}`,
		want: Window{Kind: Session, EventTime: "ts", EventTimeIndex: 2, Gap: 30 * time.Minute, AllowedLateness: time.Hour,
			IdleTimeout: 30 * time.Second, GroupBy: []string{"user_id"}, GroupByIndex: []int{0}, EmitEvery: time.Minute, Late: LateDrop,
			Out: record.Schema{Columns: []record.Column{ts("window_start"), ts("window_end"),
				{Name: "user_id", Type: record.ColumnInt}, {Name: "a", Type: record.ColumnFloat},
				{Name: "revision", Type: record.ColumnInt}, {Name: "final", Type: record.ColumnBool}}, Key: []string{"window_start", "user_id"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pluginNamed(t, tt.want.Kind)
			c, diags := plugintest.Build(p, tt.src, standard)
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %q", render(diags))
			}
			got := *c.(*Window)
			got.Aggregates = nil
			got.emitAt, got.latenessAt = hcl.Range{}, hcl.Range{}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name   string
		kind   Kind
		body   string // the block body; event_time, size/gap and aggregate are added when absent
		want   []string
		detail string // a part of the first diagnostic's detail
	}{
		{"unknown event time", Tumbling, `event_time = "tss"`,
			[]string{"Unknown field @ test.hcl:2:15-2:18"}, `Did you mean "ts"?`},
		{"unknown event time far from any", Tumbling, `event_time = "created_at"`,
			[]string{"Unknown field @ test.hcl:2:15-2:25"}, "Fields here: user_id, action, ts, device."},
		{"event time not a timestamp", Tumbling, `event_time = "user_id"`,
			[]string{"Event time is not a timestamp @ test.hcl:2:15-2:22"}, `is an int, but event_time needs a timestamp. Declare it with type = "timestamp"`},
		{"zero size", Tumbling, `size = "0s"`,
			[]string{`Invalid value for argument "size" @ test.hcl:2:8-2:12`}, "greater than zero"},
		{"size under a millisecond", Tumbling, `size = "500us"`,
			[]string{"Duration finer than a millisecond @ test.hcl:2:8-2:15"}, `Write for example "1ms"`},
		{"size not whole milliseconds", Sliding, `size = "1500us"` + "\n" + `slide = "1ms"`,
			[]string{"Duration finer than a millisecond @ test.hcl:2:8-2:16"}, `"1500us" is 1.5ms`},
		{"watermark under a millisecond", Session, `watermark = "10ns"`,
			[]string{"Duration finer than a millisecond @ test.hcl:2:13-2:19"}, "watermark must be a whole number of milliseconds"},
		{"tumbling offset not below size", Tumbling, `offset = "1m"`,
			[]string{`Invalid value for argument "offset" @ test.hcl:2:10-2:14`}, "must be less than size (1m)"},
		{"sliding slide above size", Sliding, `slide = "2m"`,
			[]string{`Invalid value for argument "slide" @ test.hcl:2:9-2:13`}, "must not exceed the window size"},
		{"sliding zero slide", Sliding, `slide = "0s"`,
			[]string{`Invalid value for argument "slide" @ test.hcl:2:9-2:13`}, "greater than zero"},
		{"sliding offset not below slide", Sliding, `slide = "10s"` + "\n" + `offset = "10s"`,
			[]string{`Invalid value for argument "offset" @ test.hcl:3:10-3:15`}, "less than slide (10s)"},
		{"session zero gap", Session, `gap = "0s"`,
			[]string{`Invalid value for argument "gap" @ test.hcl:2:7-2:11`}, ""},
		{"zero idle timeout", Session, `idle_timeout = "0s"`,
			[]string{`Invalid value for argument "idle_timeout" @ test.hcl:2:16-2:20`}, ""},
		{"unknown group_by field", Tumbling, `group_by = ["action", "devise"]`,
			[]string{"Unknown field @ test.hcl:2:24-2:30"}, `Did you mean "device"?`},
		{"duplicate group_by field", Tumbling, `group_by = ["action", "device", "action"]`,
			[]string{"Duplicate group_by field @ test.hcl:2:34-2:40"}, "at test.hcl:2:14;"},
		{"aggregate named like a group_by field", Tumbling, `group_by = ["action"]` + "\n" + `aggregate = { action = "count()", n = "count()" }`,
			[]string{"Duplicate output column @ test.hcl:3:15-3:21"}, `"action" is a group_by field`},
		{"aggregate named window_start", Tumbling, `aggregate = { window_start = "min(ts)" }`,
			[]string{"Duplicate output column @ test.hcl:2:15-2:27"}, "every window outputs"},
		{"aggregate named final with emit every", Tumbling, `emit = "every 1s"` + "\n" + `aggregate = { final = "count()" }`,
			[]string{"Duplicate output column @ test.hcl:3:15-3:20"}, `adds a "final" column`},
		{"aggregate named revision with allowed lateness", Sliding, `allowed_lateness = "1m"` + "\n" + `aggregate = { revision = "count()" }`,
			[]string{"Duplicate output column @ test.hcl:3:15-3:23"}, `allowed_lateness adds a "revision" column`},
		{"negative allowed lateness", Tumbling, `allowed_lateness = "-1s"`,
			[]string{`Invalid value for argument "allowed_lateness" @ test.hcl:2:20-2:25`}, ""},
		{"allowed lateness under a millisecond", Session, `allowed_lateness = "1500us"`,
			[]string{"Duration finer than a millisecond @ test.hcl:2:20-2:28"}, "allowed_lateness must be a whole number of milliseconds"},
		{"allowed lateness with processing time", Tumbling, `event_time = "processing_time"` + "\n" + `allowed_lateness = "1m"`,
			[]string{"Allowed lateness with processing time @ test.hcl:3:20-3:24"}, "Remove allowed_lateness."},
		{"keep with allowed lateness", Tumbling, `allowed_lateness = "1m"` + "\n" + `keep = "max(n)"`,
			[]string{"Keep is not available here @ test.hcl:3:8-3:16"}, "cannot take allowed_lateness"},
		{"no aggregates", Tumbling, `aggregate = {}`,
			[]string{"No aggregates @ test.hcl:2:13-2:15"}, ""},
		{"unknown emit", Tumbling, `emit = "sometimes"`,
			[]string{"Invalid emit mode @ test.hcl:2:9-2:18"}, `"on_close"`},
		{"emit without every", Tumbling, `emit = "10s"`,
			[]string{"Invalid emit mode @ test.hcl:2:9-2:12"}, `Did you mean "every 10s"?`},
		{"emit every without space", Tumbling, `emit = "every10s"`,
			[]string{"Invalid emit mode @ test.hcl:2:9-2:17"}, `Did you mean "every 10s"?`},
		{"emit typo", Tumbling, `emit = "on-close"`,
			[]string{"Invalid emit mode @ test.hcl:2:9-2:17"}, `Did you mean "on_close"?`},
		{"emit bad period", Tumbling, `emit = "every  ten seconds "`,
			[]string{"Invalid emit interval @ test.hcl:2:16-2:27"}, "is not a duration"},
		{"emit zero period", Tumbling, `emit = "every 0s"`,
			[]string{"Invalid emit interval @ test.hcl:2:15-2:17"}, "greater than zero"},
		{"late not allowed", Tumbling, `late = "keep"`,
			[]string{`Invalid value for argument "late" @ test.hcl:2:8-2:14`}, ""},
		{"several problems at once", Sliding, "event_time = \"action\"\nsize = \"1m\"\nslide = \"2m\"\ngroup_by = [\"nope\"]\naggregate = { n = \"cnt()\" }\nemit = \"never\"",
			[]string{
				`Invalid value for argument "slide" @ test.hcl:4:9-4:13`,
				"Invalid emit mode @ test.hcl:7:9-7:14",
				"Event time is not a timestamp @ test.hcl:2:15-2:21",
				"Unknown field @ test.hcl:5:14-5:18",
				"Unknown aggregate function @ test.hcl:6:20-6:23",
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "window \"" + string(tt.kind) + "\" {\n" + tt.body + "\n" + defaults(tt.kind, tt.body) + "}\n"
			c, diags := plugintest.Build(pluginNamed(t, tt.kind), src, standard)
			if got := render(diags); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("diagnostics:\n got %q\nwant %q\nsource:\n%s", got, tt.want, src)
			}
			if tt.detail != "" && !strings.Contains(diags[0].Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", diags[0].Detail, tt.detail)
			}
			if _, isWindow := c.(*Window); c != nil && !isWindow {
				t.Errorf("component is a %T", c)
			}
		})
	}
}

// defaults returns the required arguments the body does not write, after it
// so that the body's lines are numbered from 2.
func defaults(k Kind, body string) string {
	var out string
	add := func(name, line string) {
		if !strings.Contains(body, name+" =") {
			out += line + "\n"
		}
	}
	add("event_time", `event_time = "ts"`)
	switch k {
	case Tumbling:
		add("size", `size = "1m"`)
	case Sliding:
		add("size", `size = "1m"`)
		add("slide", `slide = "30s"`)
	case Session:
		add("gap", `gap = "5m"`)
	}
	add("aggregate", `aggregate = { n = "count()" }`)
	return out
}

func TestRawInput(t *testing.T) {
	src := `window "tumbling" {
  event_time = "ts"
  size = "1m"
  group_by = ["action"]
  aggregate = { n = "count()" }
}`
	c, diags := plugintest.Build(pluginNamed(t, Tumbling), src, record.RawSchema())
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %q", render(diags))
	}
	if got := c.Output().String(); got != "{window_start timestamp, window_end timestamp}" {
		t.Errorf("output = %s", got)
	}
}
