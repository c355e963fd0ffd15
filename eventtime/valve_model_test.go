package eventtime_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluice-io/sluice/eventtime"
)

// valveModel is the straightforward reading of docs/event-time.md, recomputed
// from scratch at every step.
type valveModel struct {
	delay, idle int64
	max, last   []int64
	w           int64
}

func (m *valveModel) deliver(p int, t, now int64) {
	m.max[p] = max(m.max[p], t)
	m.last[p] = now
}

func (m *valveModel) advance(now int64) int64 {
	lowest, active := int64(math.MaxInt64), false
	for p := range m.max {
		if m.idle == 0 || now-m.last[p] < m.idle {
			active = true
			lowest = min(lowest, m.max[p])
		}
	}
	if active && lowest != math.MinInt64 && lowest-m.delay > m.w {
		m.w = lowest - m.delay
	}
	return m.w
}

// TestValveMatchesModel drives a Valve and the model with random
// interleavings of partitions, out-of-order and duplicate event times, batch
// sizes, clock advances and new partitions, and compares W at every step.
func TestValveMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		parts := rng.IntN(5) + 1
		if seed%4 == 0 {
			parts = rng.IntN(64) + 1 // many partitions: the incremental minimum
		}
		cfg := eventtime.ValveConfig{Watermark: time.Duration(rng.IntN(50)) * time.Millisecond}
		if rng.IntN(4) != 0 {
			cfg.IdleTimeout = time.Duration(rng.IntN(200)+1) * time.Millisecond
		}
		clock := eventtime.NewManualClockMillis(rng.Int64N(1_000_000))
		start := eventtime.NowMillis(clock)
		v, err := eventtime.NewValve(cfg, parts, start)
		if err != nil {
			t.Fatal(err)
		}
		m := &valveModel{delay: cfg.Watermark.Milliseconds(), idle: cfg.IdleTimeout.Milliseconds(), w: math.MinInt64}
		addModel := func(now int64) {
			m.max = append(m.max, math.MinInt64)
			m.last = append(m.last, now)
		}
		for range parts {
			addModel(start)
		}
		// Each partition's event times wander upwards around its own base, so
		// partitions lag one another and records arrive out of order.
		bases := make([]int64, parts, parts+16)
		var prevW int64 = math.MinInt64
		var lastT int64
		for step := range 2000 {
			switch r := rng.IntN(100); {
			case r < 2: // a new partition
				now := eventtime.NowMillis(clock)
				if got := v.AddPartition(now); got != len(m.max) {
					t.Fatalf("seed %d step %d: AddPartition = %d, want %d", seed, step, got, len(m.max))
				}
				addModel(now)
				bases = append(bases, bases[rng.IntN(len(bases))])
			case r < 30: // processing time passes
				clock.Advance(time.Duration(rng.IntN(150)) * time.Millisecond)
			case r < 31: // the clock steps back (NTP)
				clock.Advance(-time.Duration(rng.IntN(150)) * time.Millisecond)
			case r < 33: // a checkpoint restored into a fresh valve
				var buf bytes.Buffer
				if err := v.Snapshot(&buf); err != nil {
					t.Fatal(err)
				}
				if v, err = eventtime.NewValve(cfg, 0, eventtime.NowMillis(clock)); err != nil {
					t.Fatal(err)
				}
				if err := v.Restore(&buf); err != nil {
					t.Fatal(err)
				}
			default: // a batch of records, mostly from one or two partitions
				now := eventtime.NowMillis(clock)
				for range rng.IntN(4) + 1 {
					p := rng.IntN(len(bases))
					if rng.IntN(3) == 0 {
						p = rng.IntN(min(2, len(bases)))
					}
					bases[p] += rng.Int64N(20)
					et := bases[p] + rng.Int64N(200) - 100
					if rng.IntN(10) == 0 {
						et = lastT // a duplicate event time
					}
					lastT = et
					v.Observe(p, et)
					m.deliver(p, et, now)
				}
			}
			now := eventtime.NowMillis(clock)
			w, changed := v.Advance(now)
			want := m.advance(now)
			if w != want || changed != (w != prevW) || w < prevW {
				t.Fatalf("seed %d step %d (now %d, cfg %+v): W=%d changed=%v, model W=%d, previous %d",
					seed, step, now, cfg, w, changed, want, prevW)
			}
			for p := range m.max {
				if v.Max(p) != m.max[p] {
					t.Fatalf("seed %d step %d: Max(%d)=%d, model %d", seed, step, p, v.Max(p), m.max[p])
				}
			}
			prevW = w
		}
	}
}
