package runner

import (
	"math"
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds, in seconds, of the duration
// histograms a Monitor keeps: from a millisecond to an hour, roughly ×2.5
// per bucket, so that both a sink write and a window's emit delay (which is
// at least the watermark delay, minutes) land in a useful bucket.
var LatencyBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
	30, 60, 120, 300, 600, 1800, 3600,
}

// Histogram counts durations into LatencyBuckets. Observe is safe for
// concurrent use and does not allocate; Snapshot may run while others
// observe.
type Histogram struct {
	counts [21]atomic.Uint64 // len(LatencyBuckets) + the +Inf bucket
	sumNs  atomic.Int64
	n      atomic.Uint64
}

// Observe counts one duration; a negative one counts as zero.
func (h *Histogram) Observe(d time.Duration) {
	d = max(d, 0)
	s := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
	h.n.Add(1)
}

// HistogramSnapshot is a Histogram at one moment, in Prometheus' terms:
// Buckets[i] counts the observations ≤ LatencyBuckets[i] (cumulative).
type HistogramSnapshot struct {
	Count      uint64   `json:"count"`
	SumSeconds float64  `json:"sum_seconds"`
	Buckets    []uint64 `json:"buckets"`
}

// Snapshot returns the cumulative counts.
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Buckets: make([]uint64, len(LatencyBuckets))}
	var cum uint64
	for i := range LatencyBuckets {
		cum += h.counts[i].Load()
		s.Buckets[i] = cum
	}
	s.Count = cum + h.counts[len(LatencyBuckets)].Load()
	s.SumSeconds = float64(h.sumNs.Load()) / 1e9
	return s
}

// Quantile estimates the q-quantile (0 < q ≤ 1) in seconds from the
// buckets, as Prometheus' histogram_quantile does; NaN without
// observations.
func (s HistogramSnapshot) Quantile(q float64) float64 {
	if s.Count == 0 {
		return math.NaN()
	}
	rank := q * float64(s.Count)
	lower, below := 0.0, uint64(0)
	for i, c := range s.Buckets {
		if float64(c) >= rank {
			upper := LatencyBuckets[i]
			if c == below {
				return upper
			}
			return lower + (upper-lower)*(rank-float64(below))/float64(c-below)
		}
		lower, below = LatencyBuckets[i], c
	}
	return LatencyBuckets[len(LatencyBuckets)-1]
}
