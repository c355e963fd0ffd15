package window

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// v1Case is a window and steps around a snapshot written by version 1 of
// the snapshot format (testdata/NAME.v1.snap, before allowed lateness).
type v1Case struct {
	name          string
	kind          Kind
	src           string
	before, after []step
}

func v1Cases() []v1Case {
	return []v1Case{{
		name:   "tumbling_every",
		kind:   Tumbling,
		src:    "window \"tumbling\" {\n  event_time = \"ts\"\n  size = \"100ms\"\n  emit = \"every 10ms\"\n  " + tableAggs + "\n}",
		before: []step{on(1, "5:a", "7:a", "8:b"), tick(10), on(11, "15:a", "120:c")},
		after:  []step{tick(20), on(21, "150:a"), tick(30), on(31, "210:b", "160:c"), tick(40), finish},
	}, {
		name:   "sliding_on_close",
		kind:   Sliding,
		src:    "window \"sliding\" {\n  event_time = \"ts\"\n  size = \"20ms\"\n  slide = \"10ms\"\n  watermark = \"5ms\"\n  " + tableAggs + "\n}",
		before: []step{on(1, "5:a", "17:a", "8:b", "31:b")},
		after:  []step{on(2, "25:a", "12:a", "40:c"), finish},
	}, {
		name:   "session_every",
		kind:   Session,
		src:    "window \"session\" {\n  event_time = \"ts\"\n  gap = \"10ms\"\n  watermark = \"20ms\"\n  emit = \"every 10ms\"\n  " + tableAggs + "\n}",
		before: []step{on(0, "0:a", "30:a"), tick(10), on(11, "5:a", "31:b")},
		after:  []step{tick(20), on(21, "20:a", "45:b"), tick(30), on(31, "80:a"), finish},
	}}
}

// TestRestoreVersion1 restores snapshots written before allowed lateness
// and row kinds existed (version 1) and feeds the rest of the input: the
// rows are those the version that wrote them emitted, with the kinds an
// uninterrupted run gives them (a session unchanged since its update row
// at the snapshot emits an Update next).
func TestRestoreVersion1(t *testing.T) {
	want := map[string][]string{
		"tumbling_every": {`100|200|"c"|1|1|false`, `100|200|"a"|1|1|false`, `U 100|200|"a"|1|1|true`, `U 100|200|"c"|1|1|true`,
			`200|300|"b"|1|1|false`, `U 200|300|"b"|1|1|true`},
		"sliding_on_close": {`10|30|"a"|3|3`, `20|40|"a"|1|1`, `20|40|"b"|1|1`, `30|50|"b"|1|1`, `30|50|"c"|1|1`, `40|60|"c"|1|1`},
		"session_every": {`5|15|"a"|1|1|false`, `31|41|"b"|1|1|false`, `U 5|15|"a"|1|1|true`, `20|30|"a"|1|1|false`,
			`45|55|"b"|1|1|false`, `U 20|30|"a"|1|1|true`, `U 30|40|"a"|1|1|true`, `U 31|41|"b"|1|1|true`, `U 45|55|"b"|1|1|true`, `80|90|"a"|1|1|true`},
	}
	for _, c := range v1Cases() {
		t.Run(c.name, func(t *testing.T) {
			snap, err := os.ReadFile(filepath.Join("testdata", c.name+".v1.snap"))
			must(t, err)
			if snap[4] != 1 {
				t.Fatalf("testdata holds version %d", snap[4])
			}
			w := buildWindow(t, c.kind, c.src)
			whole, err := w.NewOperator(1, 0)
			must(t, err)
			all := run(t, whole, append(slices.Clone(c.before), c.after...), 0, 0)
			first, err := w.NewOperator(1, 0)
			must(t, err)
			before := run(t, first, c.before, 0, 0)

			o, err := w.NewOperator(1, 0)
			must(t, err)
			must(t, o.Restore(bytes.NewReader(snap)))
			got := run(t, o, c.after, 0, 0)
			if !slices.Equal(got.rows, want[c.name]) {
				t.Errorf("rows after restoring version 1:\n  %s\nwant\n  %s", strings.Join(got.rows, "\n  "), strings.Join(want[c.name], "\n  "))
			}
			if rest := all.rows[len(before.rows):]; !slices.Equal(got.rows, rest) {
				t.Errorf("rows after restoring version 1:\n  %s\nuninterrupted\n  %s", strings.Join(got.rows, "\n  "), strings.Join(rest, "\n  "))
			}
		})
	}
}
