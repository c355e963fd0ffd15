package elasticsearch

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// windows is the schema of one-minute window results per action.
var windows = record.Schema{
	Columns: []record.Column{
		{Name: "window_start", Type: record.ColumnTimestamp},
		{Name: "window_end", Type: record.ColumnTimestamp},
		{Name: "action", Type: record.ColumnString},
		{Name: "events", Type: record.ColumnInt},
		{Name: "rate", Type: record.ColumnFloat},
	},
	Key: []string{"window_start", "action"},
}

func TestBuildDiagnostics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   string
		input record.Schema
		want  []string
	}{
		{"minimal", `sink "elasticsearch" "s" { index = "clicks" }`, windows, nil},
		{"daily indices", `sink "elasticsearch" "s" { index = "clicks-{window_start|yyyy.MM.dd}" }`, windows, nil},
		{"unknown column", `sink "elasticsearch" "s" { index = "clicks-{window_stat|yyyy.MM.dd}" }`, windows, []string{"1:45: Unknown column in index"}},
		{"unknown pattern", `sink "elasticsearch" "s" { index = "clicks-{window_start|yyyy.QQ}" }`, windows, []string{"1:63: Unknown date pattern"}},
		{"timestamp without pattern", `sink "elasticsearch" "s" { index = "c-{window_start}" }`, windows, []string{"1:40: Timestamp without a date pattern"}},
		{"pattern on a string", `sink "elasticsearch" "s" { index = "c-{action|yyyy}" }`, windows, []string{"1:46: Date pattern on a column that is not a timestamp"}},
		{"float column", `sink "elasticsearch" "s" { index = "c-{rate}" }`, windows, []string{"1:40: Float column in index"}},
		{"upper case", `sink "elasticsearch" "s" { index = "Clicks" }`, windows, []string{"1:37: Index name not lowercase"}},
		{"unclosed brace", `sink "elasticsearch" "s" { index = "c-{action" }`, windows, []string{"1:39: Unclosed brace in index"}},
		{"bad url", `sink "elasticsearch" "s" {
  index = "c"
  urls  = ["es.example.com:9200"]
}`, windows, []string{"3:12: Invalid URL"}},
		{"update without key or id", `sink "elasticsearch" "s" {
  index  = "c"
  action = "update"
}`, plugintest.Events, []string{"3:12: Update without an id"}},
		{"no key: a warning", `sink "elasticsearch" "s" { index = "c" }`, plugintest.Events, []string{"1:1: Documents get ids from Elasticsearch"}},
		{"id expression", `sink "elasticsearch" "s" {
  index = "c"
  id    = "string(user_id)"
}`, plugintest.Events, nil},
		{"id expression with an unknown field", `sink "elasticsearch" "s" {
  index = "c"
  id    = "usr_id"
}`, plugintest.Events, []string{"3:12: Unknown field in expression"}},
		{"two auth methods", `sink "elasticsearch" "s" {
  index = "c"
  auth {
    username = "elastic"
    password = "x"
    api_key  = "k"
  }
}`, windows, []string{"6:5: Several authentication methods"}},
		{"user without password", `sink "elasticsearch" "s" {
  index = "c"
  auth {
    username = "elastic"
  }
}`, windows, []string{"4:5: User without a password"}},
		{"cert without key", `sink "elasticsearch" "s" {
  index = "c"
  tls {
    cert_file = "c.pem"
  }
}`, windows, []string{"4:5: Client certificate without a key"}},
		{"bad backoff", `sink "elasticsearch" "s" {
  index = "c"
  retry {
    initial_backoff = "2s"
    max_backoff     = "1s"
  }
}`, windows, []string{"5:23: Backoff limit below the first backoff"}},
		{"raw records", `sink "elasticsearch" "s" { index = "c" }`, record.RawSchema(), []string{"1:1: Records are not parsed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := plugintest.Build(Plugin, tc.src, tc.input)
			if got := plugintest.Summaries(diags); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("diagnostics %q, want %q (%v)", got, tc.want, diags)
			}
		})
	}
}

func TestIndexNames(t *testing.T) {
	b := record.NewBatch(windows, 2)
	ts := time.Date(2026, 11, 25, 23, 59, 0, 0, time.UTC).UnixMilli()
	plugintest.AppendRow(b, record.Origin{}, ts, ts+60_000, "Click|x", 3, 1.5)
	plugintest.AppendRow(b, record.Origin{}, nil, nil, nil, nil, nil)
	for _, tc := range []struct {
		template string
		want     string
		null     string
	}{
		{"clicks", "clicks", ""},
		{"clicks-{window_start|yyyy.MM.dd}", "clicks-2026.11.25", ""},
		{"c-{window_end|yy-MM-dd_HH.mm.ss}", "c-26-11-26_00.00.00", ""},
		{"c-{action}-{events}", "c-Click|x-3", ""},
	} {
		parts, err := parseIndex(tc.template, windows)
		if err != nil {
			t.Fatalf("%s: %v", tc.template, err.summary)
		}
		got, null := appendIndex(nil, parts, b, 0)
		if string(got) != tc.want || null != "" {
			t.Errorf("%s: %q (null %q), want %q", tc.template, got, null, tc.want)
		}
		if _, null := appendIndex(nil, parts, b, 1); null == "" && staticIndex(parts) == "" {
			t.Errorf("%s: a null column named an index", tc.template)
		}
	}
}

func TestKeyIDs(t *testing.T) {
	schema := record.Schema{Columns: []record.Column{
		{Name: "window_start", Type: record.ColumnTimestamp},
		{Name: "a", Type: record.ColumnString},
		{Name: "b", Type: record.ColumnString},
	}, Key: []string{"window_start", "a", "b"}}
	b := record.NewBatch(schema, 4)
	plugintest.AppendRow(b, record.Origin{}, 1714564800000, "x|y", "z")
	plugintest.AppendRow(b, record.Origin{}, 1714564800000, "x", "y|z")
	plugintest.AppendRow(b, record.Origin{}, 1714564800000, nil, `\N`)
	plugintest.AppendRow(b, record.Origin{}, 1714564800000, `\N`, nil)
	cols := schema.KeyColumns()
	want := []string{`1714564800000|x\|y|z`, `1714564800000|x|y\|z`, `1714564800000|\N|\\N`, `1714564800000|\\N|\N`}
	seen := map[string]bool{}
	for row, w := range want {
		got := string(appendKeyID(nil, cols, b, row))
		if got != w {
			t.Errorf("row %d: id %q, want %q", row, got, w)
		}
		if seen[got] {
			t.Errorf("row %d: id %q shared by two keys", row, got)
		}
		seen[got] = true
		if again := string(appendKeyID(nil, cols, b, row)); again != got {
			t.Errorf("row %d: id not deterministic: %q then %q", row, got, again)
		}
	}
}
