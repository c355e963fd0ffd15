package window

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/record"
)

// TestFollowerMatchesOperator feeds the random cases of the model test to
// an operator computing its own watermark and to one following it (the
// half after a repartition block): the follower gets each row, then the
// watermark the other reached with it, and must emit the same rows and
// find the same rows late.
func TestFollowerMatchesOperator(t *testing.T) {
	for ki, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(ki)+7, 9))
			var rows, late int
			for c := range 150 {
				src, partitions, start, steps := randomCase(r, k)
				w := buildWindow(t, k, src)
				own, err := w.NewOperator(partitions, start)
				if err != nil {
					t.Fatal(err)
				}
				follower, err := w.NewOperator(partitions, start)
				if err != nil {
					t.Fatal(err)
				}
				follower.Follow()
				got, want := lockstep(t, own, follower, steps)
				if !slices.Equal(got.rows, want.rows) || !slices.Equal(got.late, want.late) {
					t.Fatalf("case %d: %s\n%s\nfollower %s\nown watermark %s\n%s", c, src, describe(steps), got, want, firstDiff(got.rows, want.rows))
				}
				rows += len(got.rows)
				late += len(got.late)
			}
			if rows == 0 || late == 0 {
				t.Errorf("the cases made %d rows and %d late ones: not every path is covered", rows, late)
			}
		})
	}
}

// lockstep runs the steps one row at a time on own and follower, handing
// the follower own's watermark after each call, and returns what each
// produced.
func lockstep(t *testing.T, own, follower *Operator, steps []step) (got, want runResult) {
	t.Helper()
	outOwn, outF := record.NewBatch(own.w.Out, 16), record.NewBatch(own.w.Out, 16)
	idx := 0
	for _, s := range steps {
		switch {
		case s.finish:
			must(t, own.Finish(outOwn))
			must(t, follower.Finish(outF))
		case s.tick:
			must(t, own.Tick(s.now, outOwn))
			must(t, follower.AdvanceTo(own.Watermark(), s.now, outF))
			must(t, follower.Tick(s.now, outF))
		default:
			for _, e := range s.evs {
				at := idx
				must(t, own.Process(batchOf([]ev{e}), s.now, outOwn, func(int, string) { want.late = append(want.late, at) }, nil))
				must(t, follower.Process(batchOf([]ev{e}), s.now, outF, func(int, string) { got.late = append(got.late, at) }, nil))
				must(t, follower.AdvanceTo(own.Watermark(), s.now, outF))
				idx++
			}
		}
	}
	got.rows, want.rows = rowStrings(outF), rowStrings(outOwn)
	return got, want
}

func TestAdvanceToNeedsFollow(t *testing.T) {
	w := buildWindow(t, Tumbling, `window "tumbling" {
  event_time = "ts"
  size       = "1m"
  aggregate  = { n = "count()" }
}`)
	o, err := w.NewOperator(1, 0)
	must(t, err)
	if err := o.AdvanceTo(60_000, 0, record.NewBatch(w.Out, 1)); err == nil {
		t.Fatal("AdvanceTo on an operator that does not follow: no error")
	}
	o.Follow()
	out := record.NewBatch(w.Out, 1)
	must(t, o.Process(batchOf([]ev{{ts: 90_000, key: "a"}}), 0, out, nil, nil))
	if o.Watermark() != eventtime.NoWatermark || out.Rows != 0 {
		t.Fatalf("a follower moved its watermark from a record: %d rows out", out.Rows)
	}
	must(t, o.AdvanceTo(120_000, 0, out))
	if out.Rows != 1 || o.Watermark() != 120_000 {
		t.Fatalf("AdvanceTo(120000): %d rows, watermark %d; want the window [60000, 120000) and 120000", out.Rows, o.Watermark())
	}
	must(t, o.AdvanceTo(100_000, 0, out))
	if o.Watermark() != 120_000 {
		t.Fatalf("AdvanceTo moved the watermark back to %d", o.Watermark())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
