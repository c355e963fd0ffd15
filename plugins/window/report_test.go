package window

import (
	"fmt"
	"math"
	"testing"
)

// TestOperatorReports checks what a window tells the runner's metrics:
// each partition's largest event time, last delivery and idleness, and a
// state size that grows with open groups and falls when they close.
func TestOperatorReports(t *testing.T) {
	for _, k := range []Kind{Tumbling, Session} {
		t.Run(string(k), func(t *testing.T) {
			size := `size = "10ms"`
			if k == Session {
				size = `gap = "10ms"`
			}
			src := fmt.Sprintf("window %q {\n  event_time = \"ts\"\n  idle_timeout = \"100ms\"\n  %s\n  %s\n}", k, size, tableAggs)
			o, err := buildWindow(t, k, src).NewOperator(3, 0)
			if err != nil {
				t.Fatal(err)
			}
			empty := o.StateBytes()
			run(t, o, []step{on(5, "1:a:0", "2:b:0", "4:a:1")}, 0, 0)
			ps := o.Partitions(nil, 50)
			if len(ps) != 3 || ps[0].MaxEventTime != 2 || ps[1].MaxEventTime != 4 || ps[2].MaxEventTime != math.MinInt64 {
				t.Fatalf("partitions = %+v, want max 2, 4 and none", ps)
			}
			if ps[0].LastDelivery != 5 || ps[2].LastDelivery != 0 || ps[0].Idle || ps[2].Idle {
				t.Errorf("partitions at 50 = %+v, want deliveries at 5, 5 and 0, none idle", ps)
			}
			if ps = o.Partitions(ps[:0], 200); !ps[0].Idle || !ps[2].Idle {
				t.Errorf("partitions at 200 = %+v, want all idle", ps)
			}
			open := o.StateBytes()
			if open <= empty {
				t.Errorf("state %d bytes with open groups, %d empty: want more", open, empty)
			}
			run(t, o, []step{finish}, 0, 0)
			if got := o.StateBytes(); got != empty {
				t.Errorf("state %d bytes after every window closed, want %d", got, empty)
			}
		})
	}
}

// TestLatenessFreesState checks that a window closed with allowed lateness
// is kept (counted in Open and Kept, with its timer) until the watermark
// passes its end plus the lateness, and then freed: Open, Kept, the state
// size and the timers fall back to an empty operator's.
func TestLatenessFreesState(t *testing.T) {
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			shape := map[Kind]string{Tumbling: `size = "10ms"`, Sliding: "size = \"10ms\"\n  slide = \"5ms\"", Session: `gap = "10ms"`}[k]
			src := fmt.Sprintf("window %q {\n  event_time = \"ts\"\n  %s\n  allowed_lateness = \"20ms\"\n  emit = \"every 5ms\"\n  %s\n}", k, shape, tableAggs)
			o, err := buildWindow(t, k, src).NewOperator(1, 0)
			must(t, err)
			empty := o.StateBytes()
			run(t, o, []step{on(1, "1:a", "2:b"), tick(5)}, 0, 0)
			open, held := o.Open(), o.StateBytes()
			if open == 0 || held <= empty || o.Stats().Kept != 0 {
				t.Fatalf("open %d, kept %d, state %d bytes (empty %d): want open windows", open, o.Stats().Kept, held, empty)
			}
			run(t, o, []step{on(6, "15:c")}, 0, 0) // W = 15: a and b close, kept until 30 or more
			if st := o.Stats(); st.Kept == 0 || st.Kept > st.OpenWindows || o.Open() < open || o.StateBytes() <= held {
				t.Fatalf("after closing: %+v, state %d bytes: want a and b kept", st, o.StateBytes())
			}
			run(t, o, []step{on(7, "3:a")}, 0, 0)   // an update of a kept window
			run(t, o, []step{on(8, "200:d")}, 0, 0) // W = 200: everything but d's windows is freed
			dWindows := map[Kind]int{Tumbling: 1, Sliding: 2, Session: 1}[k]
			if st := o.Stats(); st.Kept != 0 || st.OpenWindows != dWindows || o.timers.Len() != dWindows || st.Late != 0 {
				t.Fatalf("after W passed every end + lateness: %+v, %d timers: want only d's %d windows, open", st, o.timers.Len(), dWindows)
			}
			run(t, o, []step{finish}, 0, 0)
			if o.Open() != 0 || o.StateBytes() != empty || o.timers.Len() != 0 || o.Stats().Kept != 0 {
				t.Errorf("after the end: open %d, state %d bytes (empty %d), %d timers", o.Open(), o.StateBytes(), empty, o.timers.Len())
			}
			if len(o.panes) != 0 || len(o.byID) != 0 || len(o.sessions) != 0 {
				t.Errorf("after the end: %d panes, %d sessions, %d keys of sessions held", len(o.panes), len(o.byID), len(o.sessions))
			}
		})
	}
}
