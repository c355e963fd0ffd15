package eventtime_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-io/sluice/eventtime"
)

// BenchmarkObserveAdvance is the per-record hot path of a window stage with
// 1, 4 and 64 partitions, records dealt round-robin: Observe the record,
// then Advance. It must not allocate, and its cost must not grow with the
// number of partitions.
func BenchmarkObserveAdvance(b *testing.B) {
	for _, parts := range []int{1, 4, 64} {
		b.Run(fmt.Sprintf("partitions_%d", parts), func(b *testing.B) {
			v, err := eventtime.NewValve(eventtime.ValveConfig{Watermark: 2 * time.Minute, IdleTimeout: 30 * time.Second}, parts, 0)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 1000 // the scheduler reads the clock once per batch
			b.ReportAllocs()
			now, t := int64(0), int64(1_700_000_000_000)
			for i := 0; b.Loop(); i++ {
				if i%batch == 0 {
					now++
				}
				t += int64(i&7) - 3 // mostly rising, some out of order
				v.Observe(i%parts, t)
				v.Advance(now)
			}
		})
	}
}

// BenchmarkTimerRegisterFire registers one window-end timer per record (most
// are duplicates, as in a tumbling window stage) and fires what is due.
func BenchmarkTimerRegisterFire(b *testing.B) {
	s := eventtime.NewTimerService()
	b.ReportAllocs()
	fired := 0
	for i := 0; b.Loop(); i++ {
		t := int64(i)
		s.Register(t-t%100+100, uint64(i%64))
		s.Fire(t-500, func(eventtime.Timer) { fired++ })
	}
}

// BenchmarkTimerRegisterDistinct measures the heap with many distinct
// pending timers (100,000), registering one and firing one per op.
func BenchmarkTimerRegisterDistinct(b *testing.B) {
	s := eventtime.NewTimerService()
	for i := range 100_000 {
		s.Register(int64(i), uint64(i))
	}
	b.ReportAllocs()
	next := int64(100_000)
	for b.Loop() {
		s.Register(next, uint64(next))
		s.Fire(next-100_000, func(eventtime.Timer) {})
		next++
	}
}
