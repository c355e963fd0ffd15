package config_test

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/plugins"
	_ "github.com/sluice-io/sluice/plugins/all"
	"github.com/sluice-io/sluice/runner/config"
)

// TestPluginConformance is the suite every registered plugin passes: its
// declaration is valid and documented, and every example in its docs decodes
// and lints clean inside a pipeline whose records are the standard test
// schema (user_id int, action string, ts timestamp, device string).
func TestPluginConformance(t *testing.T) {
	all := plugins.Global().Plugins()
	if len(all) < 12 {
		t.Fatalf("only %d plugins registered", len(all))
	}
	for _, p := range all {
		t.Run(strings.ReplaceAll(p.Header(), `"`, ""), func(t *testing.T) {
			if err := p.Spec.Validate(); err != nil {
				t.Errorf("spec: %v", err)
			}
			if !strings.HasSuffix(p.Summary, ".") || len(p.Summary) < 20 {
				t.Errorf("summary %q is not a sentence", p.Summary)
			}
			for _, f := range p.Spec.Fields {
				if !strings.HasSuffix(strings.TrimSpace(f.Doc), ".") {
					t.Errorf("argument %q: doc %q does not end with a period", f.Name, f.Doc)
				}
			}
			if len(p.Examples) == 0 {
				t.Fatal("no examples")
			}
			for i, ex := range p.Examples {
				if ex.Title == "" {
					t.Errorf("example %d has no title", i)
				}
				src := wrapExample(p, ex.Config)
				_, diags := config.LoadSources([]config.Source{{Name: "example.hcl", Bytes: []byte(src)}}, &config.Options{
					Getenv: func(string) (string, bool) { return "", false },
					Stat:   func(string) (fs.FileInfo, error) { return fakeFile{}, nil },
				})
				if len(diags) > 0 {
					t.Errorf("example %q does not lint clean:\n%s\n%s", ex.Title, src, diags.Error())
				}
			}
		})
	}
}

// wrapExample puts one example block into a pipeline that gives it what it
// needs: a typed source for stages and sinks, a raw one for parsers.
func wrapExample(p *plugins.Plugin, block string) string {
	var b strings.Builder
	b.WriteString("pipeline \"conformance\" {\n")
	switch p.Kind {
	case plugins.KindSource:
		b.WriteString(block + "\n")
	case plugins.KindParse:
		b.WriteString("source \"file\" {\n path = \"events.ndjson\"\n}\n" + block + "\n")
	default:
		b.WriteString("source \"generate\" {\n rate = 10\n}\n")
		if p.Kind == plugins.KindStage {
			b.WriteString(block + "\n")
		}
	}
	if p.Kind == plugins.KindSink {
		b.WriteString(block + "\n")
	} else {
		b.WriteString("sink \"console\" \"out\" {}\n")
	}
	if p.Kind == plugins.KindDeadLetter {
		b.WriteString(block + "\n")
	} else {
		b.WriteString("dead_letter \"file\" {\n path = \"dead.ndjson\"\n}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

type fakeFile struct{}

func (fakeFile) Name() string       { return "fake" }
func (fakeFile) Size() int64        { return 1 }
func (fakeFile) Mode() fs.FileMode  { return 0o644 }
func (fakeFile) ModTime() time.Time { return time.Time{} }
func (fakeFile) IsDir() bool        { return false }
func (fakeFile) Sys() any           { return nil }
