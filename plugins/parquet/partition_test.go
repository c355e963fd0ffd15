package parquet

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/plugintest"
)

// allTypes has one column of every type.
var allTypes = record.Schema{Columns: []record.Column{
	{Name: "ts", Type: record.ColumnTimestamp},
	{Name: "n", Type: record.ColumnInt},
	{Name: "x", Type: record.ColumnFloat},
	{Name: "ok", Type: record.ColumnBool},
	{Name: "s", Type: record.ColumnString},
}}

func TestPartitionFolder(t *testing.T) {
	ms := time.Date(2026, 11, 25, 13, 4, 5, 0, time.UTC).UnixMilli()
	tests := []struct {
		entry string
		value any
		want  string
	}{
		{"s", "login", "s=login/"},
		{"s", "a/b=c%d", "s=a%2Fb%3Dc%25d/"},
		{"s", `q"#'*:?\{[]^`, `s=q%22%23%27%2A%3A%3F%5C%7B%5B%5D%5E/`},
		{"s", "tab\there\x7f", "s=tab%09here%7F/"},
		{"s", "ünï cødé } ~", "s=ünï cødé } ~/"},
		{"s", "..", "s=../"},
		{"s", "", "s=__HIVE_DEFAULT_PARTITION__/"},
		{"s", nil, "s=__HIVE_DEFAULT_PARTITION__/"},
		{"n", 42, "n=42/"},
		{"n", -7, "n=-7/"},
		{"n", nil, "n=__HIVE_DEFAULT_PARTITION__/"},
		{"x", 1.0, "x=1.0/"},
		{"x", 2.5, "x=2.5/"},
		{"x", 1e21, "x=1e+21/"},
		{"ok", true, "ok=true/"},
		{"ts", ms, "ts=2026-11-25 13%3A04%3A05/"},
		{"ts", ms + 123, "ts=2026-11-25 13%3A04%3A05.123/"},
		{"ts:date", ms, "ts_date=2026-11-25/"},
		{"ts:hour", ms, "ts_hour=2026-11-25T13/"},
		{"ts:hour", int64(0), "ts_hour=1970-01-01T00/"},
		{"ts:date", -1, "ts_date=1969-12-31/"},
		{"ts:date", nil, "ts_date=__HIVE_DEFAULT_PARTITION__/"},
	}
	for _, tt := range tests {
		t.Run(tt.entry+"/"+strings.ReplaceAll(strings.TrimSuffix(tt.want, "/"), "/", "_"), func(t *testing.T) {
			k, perr := parsePartition(tt.entry, allTypes)
			if perr != nil {
				t.Fatalf("parsePartition(%q): %s", tt.entry, perr.summary)
			}
			b := record.NewBatch(allTypes, 1)
			row := []any{nil, nil, nil, nil, nil}
			row[k.Index] = tt.value
			plugintest.AppendRow(b, record.Origin{}, row...)
			if got := string(k.appendFolder(nil, &b.Columns[k.Index], 0)); got != tt.want {
				t.Errorf("folder = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParsePartition(t *testing.T) {
	in := record.Schema{Columns: append(allTypes.Columns, record.Column{Name: "odd:name", Type: record.ColumnString})}
	tests := []struct {
		entry    string
		wantKey  string
		wantErr  string
		from, to int
		detail   string
	}{
		{entry: "s", wantKey: "s"},
		{entry: "ts:date", wantKey: "ts_date"},
		{entry: "ts:hour", wantKey: "ts_hour"},
		{entry: "odd:name", wantKey: "odd:name"},
		{entry: "", wantErr: "Empty partition column"},
		{entry: "acton", wantErr: "Unknown partition column", from: 0, to: 5},
		{entry: "tss:date", wantErr: "Unknown partition column", from: 0, to: 3, detail: `Did you mean "ts"?`},
		{entry: "ts:day", wantErr: "Unknown partition helper", from: 2, to: 6, detail: `Write "ts:date" or "ts:hour"`},
		{entry: "ts:hours", wantErr: "Unknown partition helper", from: 2, to: 8, detail: `Did you mean "hour"?`},
		{entry: "ts:", wantErr: "Unknown partition helper", from: 2, to: 3},
		{entry: "n:date", wantErr: "Partition helper needs a timestamp", from: 1, to: 6, detail: `"n" is a int column`},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			k, perr := parsePartition(tt.entry, in)
			if tt.wantErr == "" {
				if perr != nil {
					t.Fatalf("error %q", perr.summary)
				}
				if k.Key != tt.wantKey {
					t.Errorf("key = %q, want %q", k.Key, tt.wantKey)
				}
				return
			}
			if perr == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			if perr.summary != tt.wantErr || perr.from != tt.from || perr.to != tt.to {
				t.Errorf("error %q at [%d,%d), want %q at [%d,%d)", perr.summary, perr.from, perr.to, tt.wantErr, tt.from, tt.to)
			}
			if !strings.Contains(perr.detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", perr.detail, tt.detail)
			}
		})
	}
}

// FuzzParsePartition checks that any partition_by entry either parses into
// a key of a column of the schema or reports an error inside the entry.
func FuzzParsePartition(f *testing.F) {
	for _, s := range []string{"s", "ts:date", "ts:hour", "n:date", "ts:", ":", "x:y:z", "", "ts:hour:date"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, perr := parsePartition(s, allTypes)
		if perr != nil {
			if perr.from < 0 || perr.to < perr.from || perr.to > len(s) || perr.summary == "" || (s != "" && perr.detail == "") {
				t.Fatalf("%q: bad error %+v", s, perr)
			}
			return
		}
		if allTypes.Index(k.Column) != k.Index || k.Index < 0 {
			t.Fatalf("%q: key %+v names no column", s, k)
		}
		if k.String() != s {
			t.Fatalf("%q: key renders as %q", s, k.String())
		}
		if k.Transform != Identity && allTypes.Columns[k.Index].Type != record.ColumnTimestamp {
			t.Fatalf("%q: helper on a %s column", s, allTypes.Columns[k.Index].Type)
		}
	})
}

// FuzzEscape checks that escaped folder values never hold a byte Hive
// escapes and unescape to the original.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a/b", "%", "%2F", "x=y", "ünï", "\x00\x1f\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := string(appendEscaped(nil, s))
		for i := 0; i < len(e); i++ {
			if hiveEscaped[e[i]] && e[i] != '%' {
				t.Fatalf("escape(%q) = %q keeps %q", s, e, e[i])
			}
		}
		if strings.ContainsAny(e, "/=") {
			t.Fatalf("escape(%q) = %q holds a separator", s, e)
		}
		if got := unescapeHive(e); got != s {
			t.Fatalf("unescape(escape(%q)) = %q", s, got)
		}
	})
}

func TestSegment(t *testing.T) {
	for in, want := range map[string]string{
		"user_activity": "user_activity",
		"a/b":           "a%2Fb",
		"":              "%",
		".":             "%2E",
		"..":            "%2E%2E",
		"a.b":           "a.b",
	} {
		if got := segment(in); got != want {
			t.Errorf("segment(%q) = %q, want %q", in, got, want)
		}
	}
}

// unescapeHive reverses appendEscaped, as readers such as DuckDB do; a "%" not followed
// by two hex digits is kept as it is.
func unescapeHive(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
