package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestTextRangeOf checks that a sub-string of a decoded string literal maps
// back to the exact columns of the file, through escapes and heredocs.
func TestTextRangeOf(t *testing.T) {
	tests := []struct {
		name string
		src  string // one attribute "a"
		find string // the sub-string to locate in the decoded value
		want string // "line:col-line:col" of the range
	}{
		{"plain", `a = "acton == 'click'"`, "acton", "1:6-1:11"},
		{"after escaped quote", `a = "x == \"q\" && acton"`, "acton", "1:20-1:25"},
		{"after unicode escape", `a = "\u00e9 acton"`, "acton", "1:13-1:18"},
		{"after multibyte rune", `a = "é acton"`, "acton", "1:8-1:13"},
		{"after template escape", `a = "$${x} acton"`, "acton", "1:12-1:17"},
		{"heredoc", "a = <<EOT\nx == 1 &&\n  acton\nEOT\n", "acton", "3:3-3:8"},
		{"flush heredoc", "a = <<-EOT\n    x == 1 &&\n      acton\n    EOT\n", "acton", "3:7-3:12"},
		{"flush heredoc first line", "a = <<-EOT\n    acton\n    EOT\n", "acton", "2:5-2:10"},
		{"computed string", `a = lower("ACTON")`, "acton", "1:5-1:19"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := hclsyntax.ParseConfig([]byte(tt.src), "t.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			attr := f.Body.(*hclsyntax.Body).Attributes["a"]
			val, diags := attr.Expr.Value(nil)
			if diags.HasErrors() {
				if tt.name != "computed string" {
					t.Fatal(diags)
				}
				return
			}
			text := textOf(val.AsString(), attr.Expr, func(string) []byte { return f.Bytes })
			i := strings.Index(text.Value, tt.find)
			if i < 0 {
				t.Fatalf("%q not in %q", tt.find, text.Value)
			}
			r := text.RangeOf(i, i+len(tt.find))
			got := fmt.Sprintf("%d:%d-%d:%d", r.Start.Line, r.Start.Column, r.End.Line, r.End.Column)
			if got != tt.want {
				t.Errorf("RangeOf(%q) = %s, want %s", tt.find, got, tt.want)
			}
			if src := string(f.Bytes[r.Start.Byte:r.End.Byte]); tt.name != "after unicode escape" && !strings.Contains(tt.name, "escape") && src != tt.find {
				t.Errorf("range covers %q, want %q", src, tt.find)
			}
		})
	}
}
