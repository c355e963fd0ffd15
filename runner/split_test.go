package runner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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

// TestFilterInPlaceFallsBack runs a filter that thins its batches in place
// (plugins.InPlaceTransformer) after a parser: a batch where the condition
// fails for a row is filtered by copying instead, so that the failing row
// reaches the dead letter with its bytes, and a map after the filter still
// dead-letters its own failures with theirs.
func TestFilterInPlaceFallsBack(t *testing.T) {
	p := load(t, `pipeline "p" {
  source "generate" {
    rate   = 1
    format = "json"
  }
  parse "json" {
    field "user_id" { type = "int" }
    field "action" { type = "string" }
  }
  filter { where = "100 % (user_id - 13) >= 0 && action != 'heartbeat'" }
  map {
    set = { score = "100 % (user_id - 7)" }
  }
  sink "console" "out" {}
  dead_letter "file" { path = "dead.ndjson" }
}`)
	in := []string{
		`{"user_id":1,"action":"view"}`,
		`{"user_id":2,"action":"heartbeat"}`, // filtered
		`{"user_id":7,"action":"view"}`,      // the map divides by zero
		`{"user_id":8,"action":"view"}`,
		`{"user_id":13,"action":"view"}`, // the filter divides by zero
		`{"user_id":14,"action":"view"}`,
	}
	for _, size := range []int{6, 2} { // one batch, copied; or three, the first two thinned in place
		c := &collector{}
		opts := options(&lines{parts: [][]string{in}}, c)
		opts.BatchSize = size
		st, err := Run(context.Background(), p, opts)
		if err != nil {
			t.Fatal(err)
		}
		if st.In != 6 || st.Filtered != 1 || st.Dead != 2 || st.Out != 3 {
			t.Errorf("stats %+v: want 6 in, 1 filtered, 2 dead, 3 out", st)
		}
		var dead []string
		for _, d := range c.dead {
			dead = append(dead, d.Stage+" "+string(d.Payload))
		}
		slices.Sort(dead) // within a batch, dead letters come stage by stage
		want := []string{`filter ` + in[4], `map ` + in[2]}
		if strings.Join(dead, "\n") != strings.Join(want, "\n") {
			t.Errorf("dead letters:\n%s\nwant:\n%s", strings.Join(dead, "\n"), strings.Join(want, "\n"))
		}
	}
}
