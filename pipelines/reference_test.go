package pipelines

import (
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a.ndjson`:     `"/tmp/a.ndjson"`,
		`/tmp/"q"\x`:        `"/tmp/\"q\"\\x"`,
		`/tmp/${HOME}/%{x}`: `"/tmp/$${HOME}/%%{x}"`,
		"a\nb":              `"a\nb"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestReference(t *testing.T) {
	src := Reference(`source "file" { path = "/d/events.ndjson" }`, "/d/out.ndjson")
	for _, s := range []string{`source "file" { path = "/d/events.ndjson" }`, `path = "/d/out.ndjson"`, `unit = "ms"`, `watermark  = "2m"`, `where = "action != 'heartbeat'"`} {
		if !strings.Contains(src, s) {
			t.Errorf("pipeline lacks %s:\n%s", s, src)
		}
	}
}
