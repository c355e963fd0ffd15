package runner

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSplitReaderEmptyBlocks runs a file whose lines the workers cut
// (plugins.SplitReader) where whole reads hold only empty lines: those
// batches have no rows, and every record is still read once, in order,
// with the offsets of its line.
func TestSplitReaderEmptyBlocks(t *testing.T) {
	dir := t.TempDir()
	in, out, dead := filepath.Join(dir, "in.ndjson"), filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "dead.ndjson")
	blank := strings.Repeat("\n", 600<<10) // more than two reads of nothing
	content := blank + `{"n":1}` + "\n" + strings.Repeat("\r\n", 300<<10) + `{"n":2}` + "\nbad\n" + blank + `{"n":3}`
	if err := os.WriteFile(in, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p := load(t, `pipeline "p" {
  source "file" { path = "`+in+`" }
  parse "json" {
    field "n" { type = "int" }
  }
  sink "file" "out" { path = "`+out+`" }
  dead_letter "file" { path = "`+dead+`" }
}`)
	st, err := Run(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.In != 4 || st.Out != 3 || st.Dead != 1 {
		t.Fatalf("stats %+v: want 4 in, 3 out, 1 dead", st)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"; string(got) != want {
		t.Errorf("output %q, want %q", got, want)
	}
	d, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	off := strings.Index(content, "bad\n")
	if !strings.Contains(string(d), `"offset":`+strconv.Itoa(off)) {
		t.Errorf("dead letter %s does not name offset %d", d, off)
	}
}
