package pipetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/sluice-io/sluice/plugins/all"
	"github.com/sluice-io/sluice/runner"
	"github.com/sluice-io/sluice/runner/config"
)

func TestUnified(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want string
	}{
		{"equal", []string{"x", "y"}, []string{"x", "y"}, ""},
		{"one changed", []string{"a", "b", "c"}, []string{"a", "B", "c"},
			"--- want\n+++ got\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"added at end", []string{"a"}, []string{"a", "b"},
			"--- want\n+++ got\n@@ -1 +1,2 @@\n a\n+b\n"},
		{"empty want", nil, []string{"a"},
			"--- want\n+++ got\n@@ -0,0 +1 @@\n+a\n"},
		{"context trimmed", []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, []string{"1", "2", "3", "4", "X", "6", "7", "8", "9"},
			"--- want\n+++ got\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n"},
		{"two hunks", strings.Split("a b c d e f g h i j k l m n o", " "), strings.Split("A b c d e f g h i j k l m n O", " "),
			"--- want\n+++ got\n@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n d\n@@ -12,4 +12,4 @@\n l\n m\n n\n-o\n+O\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unified("want", "got", tt.a, tt.b); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestArrange(t *testing.T) {
	groups := [][]string{{`{"k":2}`, `{"k":1}`}, {`{"k":3}`}}
	tests := []struct {
		name    string
		want    []string
		ordered bool
		equal   bool
	}{
		{"same order", []string{`{"k":2}`, `{"k":1}`, `{"k":3}`}, false, true},
		{"reordered within a close", []string{`{"k":1}`, `{"k":2}`, `{"k":3}`}, false, true},
		{"reordered across closes", []string{`{"k":3}`, `{"k":1}`, `{"k":2}`}, false, false},
		{"ordered needs the exact order", []string{`{"k":1}`, `{"k":2}`, `{"k":3}`}, true, false},
		{"ordered, exact", []string{`{"k":2}`, `{"k":1}`, `{"k":3}`}, true, true},
		{"key order and number spelling do not matter", []string{`{"k":2}`, `{ "k" : 1 }`, `{"k":3}`}, false, true},
		{"missing row", []string{`{"k":2}`, `{"k":1}`}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want, err := arrange(groups, tt.want, tt.ordered)
			if err != nil {
				t.Fatal(err)
			}
			if equal(got, want) != tt.equal {
				t.Errorf("equal = %v, want %v (got %v, want %v)", !tt.equal, tt.equal, got, want)
			}
		})
	}
	if _, _, err := arrange(groups, []string{"not json"}, false); err == nil {
		t.Error("a malformed expected row must be an error")
	}
}

// TestTypedSourceInput: a test of a pipeline whose source yields typed
// records reads its input as JSON objects of those fields; a line that does
// not decode fails the test with its position.
func TestTypedSourceInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("in.ndjson", `{"user_id":1,"action":"view","ts":1000,"device":"ios"}`+"\n"+`{"user_id":2,"action":"click","ts":2000}`+"\n")
	write("bad.ndjson", `{"user_id":"x"}`+"\n")
	write("want.ndjson", `{"user_id":1,"action":"view"}`+"\n"+`{"user_id":2,"action":"click"}`+"\n")
	src := `pipeline "p" {
  source "generate" { rate = 1 }
  map {
    drop = ["ts", "device"]
  }
  sink "console" "out" {}
}
test "good" {
  pipeline = "p"
  input    = "in.ndjson"
  expect   = "want.ndjson"
  ordered  = true
}
test "bad" {
  pipeline = "p"
  input    = "bad.ndjson"
  expect   = "want.ndjson"
}
`
	project, diags := config.LoadSources([]config.Source{{Name: write("p.hcl", src), Bytes: []byte(src)}}, &config.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, tt := range project.Tests {
		r := Run(context.Background(), project, tt, runner.Options{})
		switch tt.Name {
		case "good":
			if r.Err != nil || !r.Pass {
				t.Errorf("good: err %v, pass %v, diff:\n%s", r.Err, r.Pass, r.Diff)
			}
		case "bad":
			if r.Err == nil || !strings.Contains(r.Err.Error(), "byte 0") || !strings.Contains(r.Err.Error(), `"user_id"`) {
				t.Errorf("bad: err = %v, want the input line's position and reason", r.Err)
			}
		}
	}
}
