package config_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/runner/config"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must never panic, and every
// diagnostic must name the file it is about. The seed corpus is every example
// pipeline and every lint test case.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"../../pipelines/*.hcl", "../../testdata/lint/*.hcl"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("pipeline \"p\" {\n  map { set = { x = \"\\u00e9\" } }\n}\n"))
	f.Add([]byte("pipeline \"p\" { filter { where = <<-EOT\n    a ==\n    EOT\n } }"))
	opts := &config.Options{
		Getenv: func(string) (string, bool) { return "", false },
		Stat:   func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		_, diags := config.LoadSources([]config.Source{{Name: "fuzz.hcl", Bytes: src}}, opts)
		for _, d := range diags {
			if d.Subject == nil || d.Subject.Filename != "fuzz.hcl" {
				t.Fatalf("diagnostic without a file: %s: %s", d.Summary, d.Detail)
			}
			if d.Subject.Start.Byte > len(src) || d.Subject.End.Byte > len(src) || d.Subject.Start.Byte > d.Subject.End.Byte {
				t.Fatalf("diagnostic range %s outside the %d-byte input: %s", d.Subject, len(src), d.Summary)
			}
		}
	})
}
