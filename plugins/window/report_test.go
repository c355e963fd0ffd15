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
