package window

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// foldAggregates are aggregates whose result does not depend on the order
// records are added in, so that a batch computation can check them.
const foldAggregates = `aggregate = {
    n     = "count()"
    total = "sum(v)"
    lo    = "min(v)"
    hi    = "max(f)"
    users = "count_distinct(user)"
    top   = "max_by(user, f)"
  }`

// TestChangelogFoldsToBatch runs random records with disorder through
// windows with allowed lateness, folds the changelog they emit as an
// upsert sink does (the last row of each window_start and group; a delete
// removes it) and compares the result with a batch computation over the
// records that were within the allowed lateness of each window: every
// result appears once, with the values of all its records. Tumbling and
// sliding records reach up to twice the lateness back, so that some are
// late; session records stay within it (a record overlapping a session
// already freed starts a session of its own, which a batch computation
// would not make), except isolated ones far behind, which must be late.
func TestChangelogFoldsToBatch(t *testing.T) {
	for ki, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(ki)+31, 17))
			var rows, updates, deletes, late int
			for c := range 200 {
				src, steps, evs := foldCase(r, k)
				w := buildWindow(t, k, src)
				chunk := []int{0, 1, 7}[c%3]
				o, err := w.NewOperator(1, 0)
				must(t, err)
				got := run(t, o, steps, chunk, 0)
				wantLate, want := batchResults(w, evs)
				if !slices.Equal(got.late, wantLate) {
					t.Fatalf("case %d: %s\nlate %v, want %v", c, src, got.late, wantLate)
				}
				folded := fold(got.rows)
				if !maps.Equal(folded, want) {
					t.Fatalf("case %d (batches of %d): %s\n%s\nchangelog:\n  %s\nfolded:\n  %s\nbatch:\n  %s", c, chunk, src, describe(steps),
						strings.Join(got.rows, "\n  "), strings.Join(slices.Sorted(maps.Values(folded)), "\n  "), strings.Join(slices.Sorted(maps.Values(want)), "\n  "))
				}
				rows += len(got.rows)
				late += len(got.late)
				for _, row := range got.rows {
					if strings.HasPrefix(row, kindPrefix[record.Update]) {
						updates++
					}
					if strings.HasPrefix(row, kindPrefix[record.Delete]) {
						deletes++
					}
				}
			}
			t.Logf("%d rows, %d updates, %d deletes, %d late", rows, updates, deletes, late)
			if updates == 0 || late == 0 || k == Session && deletes == 0 {
				t.Error("the cases do not cover updates, deletes and late records")
			}
		})
	}
}

// foldCase returns a window with allowed lateness, grouped by key, over one
// partition, and steps ending the input, with the records they hold.
func foldCase(r *rand.Rand, k Kind) (string, []step, []ev) {
	lateness := 1 + r.Int64N(80)
	var shape string
	disorder := 2 * lateness
	switch k {
	case Tumbling:
		shape = fmt.Sprintf("size = \"%dms\"", 5+r.Int64N(60))
	case Sliding:
		size := 5 + r.Int64N(60)
		shape = fmt.Sprintf("size = \"%dms\"\n  slide = \"%dms\"", size, 1+r.Int64N(size))
	case Session:
		shape = fmt.Sprintf("gap = \"%dms\"", 1+r.Int64N(40))
		disorder = lateness
	}
	emit := "on_close"
	if r.IntN(2) == 0 {
		emit = fmt.Sprintf("every %dms", 10+r.IntN(50))
	}
	src := fmt.Sprintf("window %q {\n  event_time = \"ts\"\n  %s\n  watermark = \"%dms\"\n  allowed_lateness = \"%dms\"\n  group_by = [\"key\"]\n  %s\n  emit = %q\n}",
		k, shape, r.IntN(20), lateness, foldAggregates, emit)
	var steps []step
	var evs []ev
	now, cursor := int64(0), r.Int64N(100)
	for range 1 + r.IntN(12) {
		now += r.Int64N(40)
		if r.IntN(4) == 0 {
			steps = append(steps, tick(now))
			continue
		}
		s := step{now: now}
		for range 1 + r.IntN(25) {
			cursor += r.Int64N(6)
			e := ev{ts: cursor - r.Int64N(disorder+1), key: fmt.Sprintf("k%d", r.IntN(5)), user: r.Int64N(20),
				v: r.Int64N(100) - 50, vNull: r.IntN(20) == 0, f: float64(r.IntN(400)) / 4, w: 1}
			if k == Session && r.IntN(30) == 0 {
				e.ts = cursor - 10_000 - r.Int64N(100) // far behind every session: late
			}
			s.evs = append(s.evs, e)
			evs = append(evs, e)
		}
		steps = append(steps, s)
	}
	return src, append(steps, finish), evs
}

// fold applies a changelog to a table keyed by window_start and group:
// each row replaces the one with its key, a delete removes it. The table
// holds the rows without their revision and final columns.
func fold(changelog []string) map[string]string {
	table := map[string]string{}
	for _, row := range changelog {
		del := strings.HasPrefix(row, kindPrefix[record.Delete])
		row = strings.TrimPrefix(strings.TrimPrefix(row, kindPrefix[record.Delete]), kindPrefix[record.Update])
		f := strings.Split(row, "|")
		key := f[0] + "|" + f[2]
		if del {
			delete(table, key)
			continue
		}
		table[key] = strings.Join(f[:9], "|") // window, key, six aggregates
	}
	return table
}

// batchResults computes, from all the records at once, which records are
// late and the result of every window and group over the records within
// its allowed lateness, keyed as fold keys them. The watermark before
// record i is the largest event time before it minus the delay.
func batchResults(w *Window, evs []ev) (late []int, results map[string]string) {
	size, slide, gap := w.Size.Milliseconds(), w.Slide.Milliseconds(), w.Gap.Milliseconds()
	lateness, delay := w.AllowedLateness.Milliseconds(), w.Watermark.Milliseconds()
	type window struct {
		start int64
		key   string
	}
	windows := map[window][]ev{}
	byKey := map[string][]ev{} // sessions: the records within the lateness
	wm := int64(math.MinInt64)
	for i, e := range evs {
		isLate := false
		if w.Kind == Session {
			isLate = e.ts+gap+lateness <= wm
			if !isLate {
				byKey[e.key] = append(byKey[e.key], e)
			}
		} else {
			for s := floorDiv(e.ts-w.Offset.Milliseconds(), slide)*slide + w.Offset.Milliseconds(); s > e.ts-size; s -= slide {
				if s+size+lateness <= wm {
					isLate = true
					continue
				}
				windows[window{s, e.key}] = append(windows[window{s, e.key}], e)
			}
		}
		if isLate {
			late = append(late, i)
		}
		if m := e.ts - delay; m > wm {
			wm = m
		}
	}
	results = map[string]string{}
	add := func(start, end int64, key string, recs []ev) {
		k := strconv.Quote(key)
		results[fmt.Sprintf("%d|%s", start, k)] = fmt.Sprintf("%d|%d|%s|%s", start, end, k, foldValues(recs))
	}
	for win, recs := range windows {
		add(win.start, win.start+size, win.key, recs)
	}
	for key, recs := range byKey {
		slices.SortStableFunc(recs, func(a, b ev) int { return cmp.Compare(a.ts, b.ts) })
		from := 0
		for i := 1; i <= len(recs); i++ {
			if i == len(recs) || recs[i].ts >= recs[i-1].ts+gap { // sorted: recs[i-1] is the session's last
				add(recs[from].ts, recs[i-1].ts+gap, key, recs[from:i])
				from = i
			}
		}
	}
	return late, results
}

// foldValues computes foldAggregates over recs, as rowStrings renders
// them.
func foldValues(recs []ev) string {
	var total, lo int64
	nv := 0
	hi := math.Inf(-1)
	users := map[int64]bool{}
	var top int64
	var topBy float64
	for i, r := range recs {
		users[r.user] = true
		hi = max(hi, r.f)
		if i == 0 || r.f > topBy || r.f == topBy && r.user < top {
			top, topBy = r.user, r.f
		}
		if r.vNull {
			continue
		}
		if nv == 0 || r.v < lo {
			lo = r.v
		}
		total += r.v
		nv++
	}
	sum, low := strconv.FormatInt(total, 10), strconv.FormatInt(lo, 10)
	if nv == 0 {
		sum, low = "null", "null"
	}
	return fmt.Sprintf("%d|%s|%s|%s|%d|%d", len(recs), sum, low, strconv.FormatFloat(hi, 'g', -1, 64), len(users), top)
}

// TestLatenessDeclaration checks what the runner learns from a window with
// or without allowed lateness: its fingerprint (unchanged without, so that
// older checkpoints restore), whether it combines before a shuffle, and
// why it emits updates or deletes, at which argument.
func TestLatenessDeclaration(t *testing.T) {
	base := "window %q {\n  event_time = \"ts\"\n  %s\n  %s\n  aggregate = { n = \"count()\" }\n}"
	shape := map[Kind]string{Tumbling: `size = "10ms"`, Sliding: "size = \"10ms\"\n  slide = \"5ms\"", Session: `gap = "10ms"`}
	tests := []struct {
		name    string
		kind    Kind
		extra   string
		combine bool
		why     string // a part of EmitsChanges' reason; "" for none
		line    int    // EmitsChanges' line
	}{
		{"tumbling", Tumbling, "", true, "", 0},
		{"tumbling with zero lateness", Tumbling, `allowed_lateness = "0s"`, true, "", 0},
		{"tumbling with lateness", Tumbling, `allowed_lateness = "10m"`, false, `allowed_lateness = "10m" emits a closed window's row again, as an update`, 4},
		{"sliding every D", Sliding, `emit = "every 1s"`, false, `emit = "every 1s" emits a window's row again`, 5},
		{"session with lateness and every D", Session, "allowed_lateness = \"1m\"\n  emit = \"every 1s\"", false, "deletes the rows of emitted sessions", 4},
		{"session every D", Session, `emit = "every 1s"`, false, "deletes the rows of emitted sessions", 4},
	}
	fingerprints := map[string]string{}
	for _, tt := range tests {
		w := buildWindow(t, tt.kind, fmt.Sprintf(base, tt.kind, shape[tt.kind], tt.extra))
		if _, _, ok := w.Combiner(); ok != (tt.combine && tt.kind != Session) {
			t.Errorf("%s: Combiner ok = %v", tt.name, ok)
		}
		why, at := w.EmitsChanges()
		if tt.why == "" && why != "" || !strings.Contains(why, tt.why) || tt.why != "" && at.Start.Line != tt.line {
			t.Errorf("%s: EmitsChanges = %q at %v, want %q at line %d", tt.name, why, at, tt.why, tt.line)
		}
		fingerprints[tt.name] = w.StateFingerprint()
	}
	if fingerprints["tumbling"] != fingerprints["tumbling with zero lateness"] || strings.Contains(fingerprints["tumbling"], "lateness") {
		t.Errorf("zero lateness changes the fingerprint:\n%s\n%s", fingerprints["tumbling"], fingerprints["tumbling with zero lateness"])
	}
	if fingerprints["tumbling"] == fingerprints["tumbling with lateness"] {
		t.Error("allowed lateness is not in the fingerprint")
	}
}

// TestLatenessSnapshotMismatch restores a snapshot into a window with
// another allowed lateness: refused.
func TestLatenessSnapshotMismatch(t *testing.T) {
	src := "window \"tumbling\" {\n  event_time = \"ts\"\n  size = \"10ms\"\n  allowed_lateness = %q\n  " + tableAggs + "\n}"
	o, err := buildWindow(t, Tumbling, fmt.Sprintf(src, "5ms")).NewOperator(1, 0)
	must(t, err)
	run(t, o, []step{on(0, "1:a", "12:b")}, 0, 0)
	var buf strings.Builder
	must(t, o.Snapshot(&buf))
	other, err := buildWindow(t, Tumbling, fmt.Sprintf(src, "6ms")).NewOperator(1, 0)
	must(t, err)
	if err := other.Restore(strings.NewReader(buf.String())); err == nil || !strings.Contains(err.Error(), "allowed lateness of 5 ms") {
		t.Errorf("restore into another lateness: %v", err)
	}
}

// TestProcessRefusesChangelog feeds a window rows of kind update or
// delete, as a window after a window emitting changes would get: refused,
// whatever the position of the first such row.
func TestProcessRefusesChangelog(t *testing.T) {
	w := buildWindow(t, Tumbling, "window \"tumbling\" {\n  event_time = \"ts\"\n  size = \"10ms\"\n  "+tableAggs+"\n}")
	for _, kinds := range [][]record.RowKind{{record.Update}, {record.Insert, record.Insert, record.Delete}} {
		o, err := w.NewOperator(1, 0)
		must(t, err)
		in := batchOf([]ev{{ts: 1, key: "a", w: 1}, {ts: 2, key: "b", w: 1}, {ts: 3, key: "c", w: 1}})
		in.Kinds = append(in.Kinds, kinds...)
		for len(in.Kinds) < in.Rows {
			in.Kinds = append(in.Kinds, record.Insert)
		}
		err = o.Process(in, 0, record.NewBatch(w.Out, 1), nil, nil)
		wantRow := fmt.Sprintf("input row %d is of kind %s", len(kinds)-1, kinds[len(kinds)-1])
		if err == nil || !strings.Contains(err.Error(), wantRow) {
			t.Errorf("kinds %v: err = %v, want %q", kinds, err, wantRow)
		}
		if o.Stats().Records != 0 {
			t.Errorf("kinds %v: %d rows processed", kinds, o.Stats().Records)
		}
	}
}

// TestLateReason checks what a late record's reason says: its event time,
// the window it missed, the watermark, how far past the window's end the
// watermark was, and the allowed lateness.
func TestLateReason(t *testing.T) {
	tests := []struct {
		kind  Kind
		shape string
		steps []step
		want  string
	}{
		{Tumbling, "size = \"10ms\"\n  allowed_lateness = \"5ms\"", []step{on(0, "1:a", "40:a", "8:a")},
			"window: late record: event time 8, window [0, 10) closed, watermark 40 is 30 ms past its end (allowed lateness 5 ms)"},
		{Sliding, "size = \"10ms\"\n  slide = \"5ms\"", []step{on(0, "1:a", "12:a", "6:a")},
			"window: late record: event time 6, window [0, 10) closed, watermark 12 is 2 ms past its end (allowed lateness 0 ms)"},
		{Session, `gap = "10ms"`, []step{on(0, "1:a", "40:a", "25:b")},
			"window: late record: event time 25, window [25, 35) closed, watermark 40 is 5 ms past its end (allowed lateness 0 ms)"},
	}
	for _, tt := range tests {
		o, err := buildWindow(t, tt.kind, fmt.Sprintf("window %q {\n  event_time = \"ts\"\n  %s\n  %s\n}", tt.kind, tt.shape, tableAggs)).NewOperator(1, 0)
		must(t, err)
		var reasons []string
		for _, s := range tt.steps {
			must(t, o.Process(batchOf(s.evs), s.now, record.NewBatch(o.w.Out, 4), func(_ int, reason string) { reasons = append(reasons, reason) }, nil))
		}
		if len(reasons) != 1 || reasons[0] != tt.want {
			t.Errorf("%s: reasons %q, want %q", tt.kind, reasons, tt.want)
		}
	}
}
