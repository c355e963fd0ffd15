package eventtime_test

import (
	"math"
	"testing"
	"time"

	"github.com/sluice-io/sluice/eventtime"
)

const none = eventtime.NoWatermark

// rec is one record of a partition reaching the stage.
type rec struct {
	p int
	t int64
}

// valveStep delivers recs (possibly none), then either finishes the input or
// advances at processing time now, and checks the result.
type valveStep struct {
	recs        []rec
	addAt       int64 // > 0: add a partition known since this time first
	now         int64
	finish      bool
	wantW       int64
	wantChanged bool
}

func TestValveDesignSection4(t *testing.T) {
	base := eventtime.ValveConfig{Watermark: 10 * time.Millisecond, IdleTimeout: 100 * time.Millisecond}
	tests := []struct {
		name  string
		cfg   eventtime.ValveConfig
		parts int
		steps []valveStep
	}{
		{"two partitions: W is min minus watermark", base, 2, []valveStep{
			{recs: []rec{{0, 1000}}, now: 0, wantW: none},                  // partition 1 has no max yet
			{recs: []rec{{1, 500}}, now: 1, wantW: 490, wantChanged: true}, // min(1000, 500) − 10
			{recs: []rec{{0, 2000}}, now: 2, wantW: 490},
			{recs: []rec{{1, 1500}}, now: 3, wantW: 1490, wantChanged: true},
			{recs: []rec{{1, 3000}}, now: 4, wantW: 1990, wantChanged: true},
		}},
		{"a lagging partition holds W back", base, 2, []valveStep{
			{recs: []rec{{0, 100}, {1, 100}}, now: 0, wantW: 90, wantChanged: true},
			{recs: []rec{{0, 5000}, {1, 100}}, now: 50, wantW: 90},
			{recs: []rec{{0, 9000}, {1, 101}}, now: 99, wantW: 91, wantChanged: true},
			{recs: []rec{{0, 9500}, {1, 100}}, now: 140, wantW: 91},
		}},
		{"out-of-order records and duplicates never lower max", base, 1, []valveStep{
			{recs: []rec{{0, 1000}}, now: 0, wantW: 990, wantChanged: true},
			{recs: []rec{{0, 500}, {0, 1000}, {0, 999}}, now: 1, wantW: 990},
			{recs: []rec{{0, 1001}}, now: 2, wantW: 991, wantChanged: true},
		}},
		{"a known partition that never delivered holds W back until idle", base, 2, []valveStep{
			{recs: []rec{{0, 1000}}, now: 10, wantW: none},
			{recs: []rec{{0, 2000}}, now: 99, wantW: none},  // partition 1 known since 0: silent 99ms
			{now: 100, wantW: 1990, wantChanged: true},      // silent for idle_timeout: idle
			{recs: []rec{{1, 50}}, now: 120, wantW: 1990},   // back, far behind: W stays
			{recs: []rec{{0, 3000}}, now: 130, wantW: 1990}, // and holds W back again
			{recs: []rec{{1, 2500}}, now: 140, wantW: 2490, wantChanged: true},
		}},
		{"an idle partition stops holding W back and resumes without W going back", base, 2, []valveStep{
			{recs: []rec{{0, 1000}, {1, 1000}}, now: 0, wantW: 990, wantChanged: true},
			{recs: []rec{{0, 5000}}, now: 60, wantW: 990},
			{recs: []rec{{0, 6000}}, now: 99, wantW: 990},
			{now: 100, wantW: 5990, wantChanged: true}, // partition 1 silent for 100ms
			{recs: []rec{{1, 1200}}, now: 150, wantW: 5990},
			{recs: []rec{{0, 7000}}, now: 160, wantW: 5990}, // partition 1 active again at 1200
			{recs: []rec{{1, 6500}}, now: 170, wantW: 6490, wantChanged: true},
		}},
		{"every partition idle: W does not advance", base, 2, []valveStep{
			{recs: []rec{{0, 1000}, {1, 2000}}, now: 0, wantW: 990, wantChanged: true},
			{now: 100, wantW: 990}, // both idle: not min over the empty set
			{now: 10000, wantW: 990},
			{recs: []rec{{1, 3000}}, now: 10001, wantW: 2990, wantChanged: true}, // 0 still idle
		}},
		{"idleness disabled: a silent partition holds W back forever", eventtime.ValveConfig{Watermark: 10 * time.Millisecond}, 2, []valveStep{
			{recs: []rec{{0, 1000}}, now: 0, wantW: none},
			{recs: []rec{{0, 2000}}, now: 1 << 40, wantW: none},
		}},
		{"finish moves W to the end of time for good", base, 2, []valveStep{
			{recs: []rec{{0, 1000}, {1, 500}}, now: 0, wantW: 490, wantChanged: true},
			{finish: true, wantW: eventtime.EndOfTime, wantChanged: true},
			{recs: []rec{{0, 10}}, now: 1, wantW: eventtime.EndOfTime},
			{finish: true, wantW: eventtime.EndOfTime},
		}},
		{"finish without any record", base, 1, []valveStep{
			{finish: true, wantW: eventtime.EndOfTime, wantChanged: true},
		}},
		{"no partitions: W never advances until finish", base, 0, []valveStep{
			{now: 1000, wantW: none},
			{finish: true, wantW: eventtime.EndOfTime, wantChanged: true},
		}},
		{"a new partition holds W back without lowering it", base, 1, []valveStep{
			{recs: []rec{{0, 1000}}, now: 0, wantW: 990, wantChanged: true},
			{addAt: 50, recs: []rec{{0, 2000}}, now: 60, wantW: 990},
			{recs: []rec{{1, 1500}}, now: 70, wantW: 1490, wantChanged: true},
		}},
		{"zero watermark; event times near the int64 limits saturate", eventtime.ValveConfig{}, 1, []valveStep{
			{recs: []rec{{0, math.MinInt64 + 1}}, now: 0, wantW: math.MinInt64 + 1, wantChanged: true},
			{recs: []rec{{0, -5}}, now: 0, wantW: -5, wantChanged: true},
		}},
		{"a watermark larger than the event time saturates at no watermark", eventtime.ValveConfig{Watermark: time.Hour}, 1, []valveStep{
			{recs: []rec{{0, math.MinInt64 + 5}}, now: 0, wantW: none},
			{recs: []rec{{0, 3_600_005}}, now: 0, wantW: 5, wantChanged: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := eventtime.NewValve(tc.cfg, tc.parts, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				if s.addAt > 0 {
					v.AddPartition(s.addAt)
				}
				for _, r := range s.recs {
					v.Observe(r.p, r.t)
				}
				var w int64
				var changed bool
				if s.finish {
					w, changed = v.Finish()
				} else {
					w, changed = v.Advance(s.now)
				}
				if w != s.wantW || changed != s.wantChanged || v.Watermark() != w {
					t.Fatalf("step %d: got W=%d changed=%v (Watermark() %d), want W=%d changed=%v",
						i, w, changed, v.Watermark(), s.wantW, s.wantChanged)
				}
			}
		})
	}
}

func TestValveIdleAndMax(t *testing.T) {
	clock := eventtime.NewManualClockMillis(1_000_000)
	v, err := eventtime.NewValve(eventtime.ValveConfig{IdleTimeout: 30 * time.Second}, 2, eventtime.NowMillis(clock))
	if err != nil {
		t.Fatal(err)
	}
	v.Observe(0, 42)
	v.Observe(0, 7)
	v.Advance(eventtime.NowMillis(clock))
	clock.Advance(29 * time.Second)
	if v.Idle(0, eventtime.NowMillis(clock)) || v.Idle(1, eventtime.NowMillis(clock)) {
		t.Fatal("idle before idle_timeout")
	}
	clock.Advance(time.Second)
	if !v.Idle(0, eventtime.NowMillis(clock)) || !v.Idle(1, eventtime.NowMillis(clock)) {
		t.Fatal("not idle after idle_timeout")
	}
	if v.Max(0) != 42 || v.Max(1) != none {
		t.Fatalf("Max = %d, %d; want 42, NoWatermark", v.Max(0), v.Max(1))
	}
	v.ResetIdle(eventtime.NowMillis(clock))
	if v.Idle(0, eventtime.NowMillis(clock)) {
		t.Fatal("idle right after ResetIdle")
	}
	if v.Partitions() != 2 || v.AddPartition(0) != 2 || v.Partitions() != 3 {
		t.Fatal("AddPartition does not number partitions densely")
	}
}

func TestNewValveRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg   eventtime.ValveConfig
		parts int
	}{
		{eventtime.ValveConfig{Watermark: -time.Millisecond}, 1},
		{eventtime.ValveConfig{IdleTimeout: -time.Second}, 1},
		{eventtime.ValveConfig{}, -1},
	} {
		if _, err := eventtime.NewValve(tc.cfg, tc.parts, 0); err == nil {
			t.Errorf("NewValve(%+v, %d) succeeded", tc.cfg, tc.parts)
		}
	}
}

func TestGenerator(t *testing.T) {
	g := eventtime.NewGenerator(100)
	if g.Max() != none || g.LastDelivery() != 100 {
		t.Fatalf("new generator: max %d last %d", g.Max(), g.LastDelivery())
	}
	if !g.Tick(199, 100) || g.Tick(200, 100) {
		t.Fatal("idle boundary: want active at 99ms of silence, idle at 100ms")
	}
	g.Observe(5)
	g.Observe(3)
	if g.LastDelivery() != 100 {
		t.Fatal("Observe stamped the delivery before Tick")
	}
	if !g.Tick(500, 100) || g.LastDelivery() != 500 || g.Max() != 5 {
		t.Fatalf("after tick: last %d max %d", g.LastDelivery(), g.Max())
	}
	if !g.Tick(400, 100) {
		t.Fatal("a clock that moved backwards made the partition idle")
	}
	if !g.Tick(1<<50, 0) {
		t.Fatal("idle with idleness disabled")
	}
}
