package plugindoc_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/internal/plugindoc"
	"github.com/sluice-io/sluice/plugins"
	_ "github.com/sluice-io/sluice/plugins/all"
)

// TestPluginsMarkdownUpToDate keeps docs/plugins.md in step with the plugin
// declarations: it regenerates the reference of every registered plugin and
// compares it with the committed file; -update rewrites the file.
func TestPluginsMarkdownUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "plugins.md")
	got := plugindoc.Markdown(plugins.Global())
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v\ndocs/plugins.md is stale: run go test ./internal/plugindoc -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/plugins.md is stale: run go test ./internal/plugindoc -update\n%s", firstDifference(got, want))
	}
}

// firstDifference describes the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if i >= len(g) || i >= len(w) || !bytes.Equal(gl, wl) {
			return fmt.Sprintf("first difference at line %d:\n  generated: %q\n  committed: %q", i+1, gl, wl)
		}
	}
	return ""
}
