package postgres

import (
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/plugins/plugintest"
	"github.com/sluice-io/sluice/record"
)

// TestBuild checks the arguments against the records, without a server.
func TestBuild(t *testing.T) {
	const dsn = `dsn = "postgres://sluice@localhost:5432/analytics"`
	keyless := plugintest.Events
	raw := record.RawSchema()
	withMap := record.Schema{Columns: []record.Column{{Name: "props", Type: record.ColumnStringMap}}}
	reserved := windowRows.With(record.Column{Name: "sluice_ordinal", Type: record.ColumnInt})
	tests := []struct {
		name  string
		body  string
		in    record.Schema
		diags []string // "line:col: Summary"
		key   []string
		table []string
	}{
		{"window results upsert by their key", `table = "t"`, windowRows, nil, []string{"window_start", "action"}, []string{"t"}},
		{"schema-qualified table", `table = "analytics.user_activity"`, windowRows, nil, windowRows.Key, []string{"analytics", "user_activity"}},
		{"explicit key", `table = "t"
  key = ["user_id", "ts"]`, keyless, nil, []string{"user_id", "ts"}, []string{"t"}},
		{"insert without a key", `table = "t"
  mode = "insert"`, keyless, nil, nil, []string{"t"}},
		{"insert of window results without a key", `table = "t"
  mode = "insert"
  key = []`, windowRows, nil, []string{}, []string{"t"}},
		{"upsert needs a key", `table = "t"`, keyless, []string{"1:1: Upsert without a key"}, nil, nil},
		{"upsert with an empty key", `table = "t"
  key = []`, windowRows, []string{"4:9: Upsert without a key"}, nil, nil},
		{"unknown key column", `table = "t"
  key = ["user", "ts"]`, keyless, []string{"4:10: Unknown key column"}, nil, nil},
		{"duplicate key column", `table = "t"
  key = ["ts", "ts"]`, keyless, []string{"4:16: Duplicate key column"}, nil, nil},
		{"bad table names", `table = "a.b.c"`, windowRows, []string{"3:11: Invalid table name"}, nil, nil},
		{"empty table part", `table = "a."`, windowRows, []string{"3:11: Invalid table name"}, nil, nil},
		{"table name too long", `table = "` + strings.Repeat("x", 64) + `"`, windowRows, []string{"3:11: Table name too long"}, nil, nil},
		{"unparsed records", `table = "t"`, raw, []string{"1:1: Records are not parsed"}, nil, nil},
		{"unsupported type", `table = "t"
  mode = "insert"`, withMap, []string{"1:1: Column type not supported"}, nil, nil},
		{"reserved field name", `table = "t"`, reserved, []string{"1:1: Reserved column name"}, nil, nil},
		{"limits", `table = "t"
  batch_size = 0
  max_retries = -1
  flush_interval = "0s"`, windowRows, []string{
			`4:16: Invalid value for argument "batch_size"`,
			`5:17: Invalid value for argument "max_retries"`,
			`6:20: Invalid value for argument "flush_interval"`,
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "sink \"postgres\" \"out\" {\n  " + dsn + "\n  " + tt.body + "\n}"
			c, diags := plugintest.Build(Plugin, src, tt.in)
			if got := plugintest.Summaries(diags); !slices.Equal(got, tt.diags) {
				t.Fatalf("diagnostics %q, want %q\n%s", got, tt.diags, diags.Error())
			}
			if tt.diags != nil {
				return
			}
			s := c.(*Sink)
			if !slices.Equal(s.Key, tt.key) || !slices.Equal(s.Table, tt.table) {
				t.Errorf("key %q table %q, want %q %q", s.Key, s.Table, tt.key, tt.table)
			}
		})
	}
}

// TestBuildRefusesABadDSN keeps the password out of the message.
func TestBuildRefusesABadDSN(t *testing.T) {
	src := "sink \"postgres\" \"out\" {\n  dsn = \"postgres://u:secret@host:notaport/db\"\n  table = \"t\"\n}"
	_, diags := plugintest.Build(Plugin, src, windowRows)
	if got := plugintest.Summaries(diags); !slices.Equal(got, []string{"2:9: Invalid connection string"}) {
		t.Fatalf("diagnostics %q", got)
	}
	if strings.Contains(diags.Error(), "secret") {
		t.Errorf("the message shows the password: %s", diags.Error())
	}
}

// TestStageName keeps staging table names within PostgreSQL's 63 bytes.
func TestStageName(t *testing.T) {
	long := strings.Repeat("é", 31) // 62 bytes
	tests := []struct{ name, want string }{
		{"user_activity", "user_activity__sluice_stage"},
		{strings.Repeat("a", 49), strings.Repeat("a", 49) + "__sluice_stage"},
	}
	for _, tt := range tests {
		if got := stageName(tt.name); got != tt.want {
			t.Errorf("stageName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, name := range []string{strings.Repeat("a", 50), strings.Repeat("b", 63), long} {
		got := stageName(name)
		if len(got) > maxIdentifier || !strings.Contains(got, "__sluice_stage_") || got == stageName(name+"x") {
			t.Errorf("stageName(%q) = %q (%d bytes)", name, got, len(got))
		}
	}
}
