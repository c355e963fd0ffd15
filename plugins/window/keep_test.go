package window

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"
)

var (
	emitLine     = regexp.MustCompile(`emit = "[^"]*"`)
	latenessLine = regexp.MustCompile(`\n  allowed_lateness = "[^"]*"`)
)

// onClose returns a random tumbling or sliding case with emit = "on_close"
// and without allowed lateness, as keep needs.
func onCloseCase(r *rand.Rand, k Kind) (string, int, int64, []step) {
	src, partitions, start, steps := randomCase(r, k)
	src = latenessLine.ReplaceAllString(src, "")
	return emitLine.ReplaceAllString(src, `emit = "on_close"`), partitions, start, steps
}

// keepModelRows filters the model's rows (window_start|window_end|...) to
// those whose column col is the largest of their window.
func keepModelRows(rows []string, col int) []string {
	best := map[string]int64{}
	split := func(row string) (string, int64) {
		f := strings.Split(row, "|")
		n, _ := strconv.ParseInt(f[col], 10, 64)
		return f[0] + "|" + f[1], n
	}
	for _, row := range rows {
		w, n := split(row)
		if b, ok := best[w]; !ok || n > b {
			best[w] = n
		}
	}
	var out []string
	for _, row := range rows {
		if w, n := split(row); n == best[w] {
			out = append(out, row)
		}
	}
	return out
}

// keep = "max(n)" with aggregates emits, of the model's rows, those with
// the most records in their window, in the same order; whatever the batch
// size.
func TestKeepAggregateMatchesModel(t *testing.T) {
	for ki, k := range []Kind{Tumbling, Sliding} {
		t.Run(string(k), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(ki)+7, 9))
			var rows, dropped int
			for c := range 150 {
				src, partitions, start, steps := onCloseCase(r, k)
				plain := buildWindow(t, k, src)
				kept := buildWindow(t, k, strings.TrimSuffix(src, "}")+"  keep = \"max(n)\"\n}")
				col := 2 + len(plain.GroupBy) // n follows the window and the group
				want := newModel(plain, partitions, start).run(steps)
				all := len(want.rows)
				want.rows = keepModelRows(want.rows, col)
				for _, chunk := range []int{0, 1, 7} {
					o, err := kept.NewOperator(partitions, start)
					if err != nil {
						t.Fatal(err)
					}
					got := run(t, o, steps, chunk, 0)
					if !slices.Equal(got.rows, want.rows) || !slices.Equal(got.late, want.late) {
						t.Fatalf("case %d chunk %d: %s\ngot %s\nwant %s", c, chunk, src, got, want)
					}
				}
				dropped += all - len(want.rows)
				rows += len(want.rows)
			}
			if rows == 0 || dropped == 0 {
				t.Errorf("the cases kept %d rows and dropped %d: they do not cover both", rows, dropped)
			}
		})
	}
}

// keep = "max(v)" without aggregates emits, per window and group, every
// record whose v is the largest of that window and group's records (null v
// never), with all its fields; the same rows in the same order whatever
// the batch size.
func TestKeepRecordsMatchesModel(t *testing.T) {
	for ki, k := range []Kind{Tumbling, Sliding} {
		t.Run(string(k), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(ki)+3, 5))
			var rows, ties int
			for c := range 150 {
				src, partitions, start, steps := onCloseCase(r, k)
				for i := range steps {
					for j := range steps[i].evs {
						steps[i].evs[j].w = 1  // no failing argument: keep has none
						steps[i].evs[j].v %= 4 // ties are common
					}
				}
				records := regexp.MustCompile(`(?s)aggregate = \{.*?\n  \}`).ReplaceAllString(src, `keep = "max(v)"`)
				w := buildWindow(t, k, records)
				var first []string
				for _, chunk := range []int{0, 1, 5} {
					o, err := w.NewOperator(partitions, start)
					if err != nil {
						t.Fatal(err)
					}
					got := run(t, o, steps, chunk, 0)
					if chunk == 0 {
						first = got.rows
					} else if !slices.Equal(got.rows, first) {
						t.Fatalf("case %d: chunk %d gives other rows or another order:\n%s\nvs\n%s", c, chunk, strings.Join(got.rows, "\n"), strings.Join(first, "\n"))
					}
				}
				want := modelKeptRecords(steps, w, partitions, start)
				got := slices.Clone(first)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("case %d: %s\ngot  %s\nwant %s", c, records, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
				}
				rows += len(want)
				ties += len(want) - len(compactWindows(want))
			}
			if rows == 0 || ties == 0 {
				t.Errorf("%d rows, %d ties: the cases do not cover ties", rows, ties)
			}
		})
	}
}

// compactWindows returns the distinct windows of rows.
func compactWindows(rows []string) []string {
	var out []string
	for _, r := range rows {
		f := strings.SplitN(r, "|", 3)
		out = append(out, f[0]+"|"+f[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// modelKeptRecords runs the model with the records kept in its windows,
// and renders the records with the largest v of each (window, group), as
// the operator does, sorted.
func modelKeptRecords(steps []step, w *Window, partitions int, start int64) []string {
	m := newModel(w, partitions, start)
	var out []string
	m.onClose = func(x *modelWindow) {
		var best *int64
		for _, e := range x.recs {
			if !e.vNull && (best == nil || e.v > *best) {
				v := e.v
				best = &v
			}
		}
		for _, e := range x.recs {
			if best != nil && !e.vNull && e.v == *best {
				out = append(out, recordRow(x.start, x.end, e))
			}
		}
	}
	m.run(steps)
	slices.Sort(out)
	return out
}

// recordRow renders a kept record as rowStrings does.
func recordRow(start, end int64, e ev) string {
	b := batchOf([]ev{e})
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%d|%d", start, end)
	for c := range b.Columns[:len(opInput.Columns)] {
		buf.WriteString("|" + cell(&b.Columns[c], 0))
	}
	return buf.String()
}

// A window keeping records reports its output: window_start, window_end,
// then every input field.
func TestKeepRecordsOutput(t *testing.T) {
	w := buildWindow(t, Tumbling, "window \"tumbling\" {\n  event_time = \"ts\"\n  size = \"10ms\"\n  keep = \"min(f)\"\n}")
	var names []string
	for _, c := range w.Out.Columns {
		names = append(names, c.Name)
	}
	want := append([]string{ColumnWindowStart, ColumnWindowEnd}, opInput.Names()...)
	if !slices.Equal(names, want) || w.Out.Columns[2].Type != record.ColumnTimestamp {
		t.Errorf("columns %v, want %v", names, want)
	}
}

// Mistakes in keep, max_by and min_by are errors at their place.
func TestKeepAndByDiagnostics(t *testing.T) {
	tests := []struct {
		kind Kind
		body string
		want string // summary and position (line:column within the block)
	}{
		{Session, "gap = \"5ms\"\n  keep = \"max(v)\"", `4,3-7: Unsupported argument`},
		{Tumbling, "size = \"5ms\"\n  keep = \"max(n)\"\n  emit = \"every 1s\"\n  aggregate = { n = \"count()\" }", `4,10-18: Keep is not available here`},
		{Tumbling, "size = \"5ms\"\n  keep = \"top(v)\"", `4,11-14: Invalid keep`},
		{Tumbling, "size = \"5ms\"\n  keep = \"max(v, f)\"", `4,14-20: Wrong number of arguments`},
		{Tumbling, "size = \"5ms\"\n  keep = \"max(nope)\"\n  aggregate = { n = \"count()\" }", `4,15-19: Unknown aggregate`},
		{Tumbling, "size = \"5ms\"\n  keep = \"max(key == 'a')\"", `4,15-25: Wrong argument type`},
		{Tumbling, "size = \"5ms\"\n  aggregate = { b = \"max_by(user, key == 'a')\" }", `4,35-45: Wrong argument type`},
		{Tumbling, "size = \"5ms\"\n  aggregate = { b = \"min_by(user)\" }", `4,28-34: Wrong number of arguments`},
		{Tumbling, "size = \"5ms\"", `Missing required argument`},
		{Tumbling, "size = \"5ms\"\n  watermark = \"1s\"\n  aggregate = { n = \"count()\" }", `4,15-19: Watermark with processing time`},
	}
	for _, tt := range tests {
		eventTime := "ts"
		if strings.Contains(tt.body, "watermark") {
			eventTime = ProcessingTime
		}
		src := "window \"" + string(tt.kind) + "\" {\n  event_time = \"" + eventTime + "\"\n  " + tt.body + "\n}"
		var p = Plugins()[0]
		for _, q := range Plugins() {
			if q.Name == string(tt.kind) {
				p = q
			}
		}
		_, diags := buildWith(p, src, opInput)
		if !strings.Contains(diags, tt.want) {
			t.Errorf("%s\ndiagnostics %q, want %q", src, diags, tt.want)
		}
	}
}
