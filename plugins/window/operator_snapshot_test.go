package window

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOperatorBatchSizes feeds the same input in batches of 1, 7 and 1024
// rows: the output, late and bad rows must not change.
func TestOperatorBatchSizes(t *testing.T) {
	for ki, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(ki)+100, 7))
			for c := range 40 {
				src, partitions, start, steps := randomCase(r, k)
				// One processing time for every row, so that batches can
				// be cut anywhere; and the multi-step form, cut within steps.
				var all []ev
				for _, s := range steps {
					all = append(all, s.evs...)
				}
				flat := []step{{now: start + 1, evs: all}, finish}
				w := buildWindow(t, k, src)
				for _, in := range [][]step{flat, steps} {
					var first runResult
					for i, chunk := range []int{1, 7, 1024} {
						o, err := w.NewOperator(partitions, start)
						if err != nil {
							t.Fatal(err)
						}
						got := run(t, o, in, chunk, 0)
						if i == 0 {
							first = got
							continue
						}
						if !slices.Equal(got.rows, first.rows) || !slices.Equal(got.late, first.late) || !slices.Equal(got.bad, first.bad) {
							t.Fatalf("case %d: batches of %d differ from batches of 1:\n%s\n%s\nvs\n%s", c, chunk, src, got, first)
						}
					}
				}
			}
		})
	}
}

// TestOperatorSnapshot snapshots mid-stream (between or inside batches),
// restores into a fresh operator of the same Window and feeds the rest: the
// output must equal an uninterrupted run's.
func TestOperatorSnapshot(t *testing.T) {
	for ki, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(ki)+200, 9))
			restoredWindows := 0
			for c := range 120 {
				src, partitions, start, steps := randomCase(r, k)
				src = withRandomKeep(r, k, src)
				w := buildWindow(t, k, src)
				o, err := w.NewOperator(partitions, start)
				if err != nil {
					t.Fatal(err)
				}
				want := run(t, o, steps, 0, 0)

				// Cut the steps at a random row.
				var before, after []step
				n := 0
				for _, s := range steps {
					n += len(s.evs)
				}
				cut := r.IntN(n + 1)
				seen, done := 0, cut == 0
				for _, s := range steps {
					switch i := cut - seen; {
					case done:
						after = append(after, s)
					case i >= len(s.evs):
						before = append(before, s)
						seen += len(s.evs)
						done = seen == cut
					default:
						before = append(before, step{now: s.now, evs: s.evs[:i]})
						after = append(after, step{now: s.now, evs: s.evs[i:]})
						done = true
					}
				}

				o1, _ := w.NewOperator(partitions, start)
				got := run(t, o1, before, 0, 0)
				var buf bytes.Buffer
				if err := o1.Snapshot(&buf); err != nil {
					t.Fatal(err)
				}
				o2, _ := w.NewOperator(partitions, start+12345) // a later process
				if err := o2.Restore(&buf); err != nil {
					t.Fatalf("case %d: restore: %v", c, err)
				}
				if buf.Len() != 0 {
					t.Fatalf("case %d: Restore left %d bytes", c, buf.Len())
				}
				restoredWindows += o2.Stats().OpenWindows
				// Restore once more from the restored operator: the
				// snapshot round trip must be stable. (Bytes may differ:
				// set snapshots follow their hash order.)
				var again bytes.Buffer
				if err := o2.Snapshot(&again); err != nil {
					t.Fatal(err)
				}
				o3, _ := w.NewOperator(partitions, start)
				if err := o3.Restore(&again); err != nil {
					t.Fatalf("case %d: second restore: %v", c, err)
				}
				rest := run(t, o3, after, 0, cut)
				got.rows = append(got.rows, rest.rows...)
				got.late = append(got.late, rest.late...)
				got.bad = append(got.bad, rest.bad...)
				if !slices.Equal(got.rows, want.rows) || !slices.Equal(got.late, want.late) || !slices.Equal(got.bad, want.bad) {
					t.Fatalf("case %d (cut at row %d): %s\ngot %s\nwant %s", c, cut, src, got, want)
				}
				if o3.Stats() != o.Stats() {
					t.Fatalf("case %d: stats %+v, want %+v", c, o3.Stats(), o.Stats())
				}
			}
			if restoredWindows == 0 {
				t.Error("no snapshot held an open window")
			}
		})
	}
}

// withRandomKeep turns a third of the tumbling and sliding cases without
// allowed lateness into windows keeping records (keep = "max(v)" without
// aggregates), and a third into windows keeping their largest group rows
// (keep = "max(n)"), both with emit = "on_close".
func withRandomKeep(r *rand.Rand, k Kind, src string) string {
	if k == Session || strings.Contains(src, "allowed_lateness") {
		return src
	}
	switch r.IntN(3) {
	case 0:
		src = emitLine.ReplaceAllString(src, `emit = "on_close"`)
		return regexp.MustCompile(`(?s)aggregate = \{.*?\n  \}`).ReplaceAllString(src, `keep = "max(v)"`)
	case 1:
		src = emitLine.ReplaceAllString(src, `emit = "on_close"`)
		return strings.TrimSuffix(src, "}") + "  keep = \"max(n)\"\n}"
	}
	return src
}

// TestOperatorRestoreBad checks that truncated, corrupted or foreign
// snapshots fail cleanly and leave the operator as it was.
func TestOperatorRestoreBad(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for ki, k := range Kinds {
		src, partitions, start, steps := randomCase(r, k)
		for len(steps) > 0 && steps[len(steps)-1].finish {
			steps = steps[:len(steps)-1]
		}
		w := buildWindow(t, k, src)
		o, _ := w.NewOperator(partitions, start)
		run(t, o, steps, 0, 0)
		var buf bytes.Buffer
		if err := o.Snapshot(&buf); err != nil {
			t.Fatal(err)
		}
		snap := buf.Bytes()

		fresh, _ := w.NewOperator(partitions, start)
		var empty bytes.Buffer
		fresh.Snapshot(&empty)
		check := func(what string, data []byte) {
			t.Helper()
			fresh, _ := w.NewOperator(partitions, start)
			err := fresh.Restore(bytes.NewReader(data))
			if err == nil {
				return // a flipped bit the formats cannot see (e.g. a dirty flag) is fine
			}
			if !errors.Is(err, ErrBadSnapshot) {
				t.Errorf("%s %s: %v does not wrap ErrBadSnapshot", k, what, err)
			}
			var now bytes.Buffer
			fresh.Snapshot(&now)
			if !bytes.Equal(now.Bytes(), empty.Bytes()) {
				t.Errorf("%s %s: a failed Restore changed the operator", k, what)
			}
		}
		for n := 0; n < len(snap); n += 1 + n/8 {
			if err := fresh.Restore(bytes.NewReader(snap[:n])); err == nil {
				t.Errorf("%s: a snapshot truncated to %d of %d bytes restored", k, n, len(snap))
			}
			check("truncated", snap[:n])
		}
		for i := range 300 {
			bad := slices.Clone(snap)
			bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
			check("corrupted", bad)
			_ = i
		}
		ok := Kinds[(ki+1)%3]
		shape := map[Kind]string{Tumbling: `size = "10ms"`, Sliding: "size = \"10ms\"\n  slide = \"5ms\"", Session: `gap = "10ms"`}[ok]
		other, err := buildWindow(t, ok, "window \""+string(ok)+"\" {\n  event_time = \"ts\"\n  "+shape+"\n  aggregate = { n = \"count()\" }\n}").NewOperator(1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Restore(bytes.NewReader(snap)); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s snapshot into another kind: %v", k, err)
		}
	}
}
