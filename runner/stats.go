package runner

import "sync/atomic"

// Stats are the counters of one run of a pipeline. The records read from
// the source add up: In = Out + Filtered + Late + Dead.
type Stats struct {
	// In is the number of records the source yielded.
	In int64 `json:"in"`
	// Out is the number of records that reached the first window (and were
	// not late), or the sinks when the pipeline has no window.
	Out int64 `json:"out"`
	// Filtered is the number of records a filter dropped, including a CSV
	// header line.
	Filtered int64 `json:"filtered"`
	// Late is the number of records that arrived after their window closed
	// (for a sliding window: after one of their windows closed). With late =
	// "dead_letter" they are also written to the dead letter.
	Late int64 `json:"late"`
	// Dead is the number of records rejected before or by the first window:
	// unparsable or mistyped messages, failed expressions. Those written to
	// the dead letter are counted here, as are those dropped with
	// on_error = "drop".
	Dead int64 `json:"dead"`
	// Emitted is the number of rows handed to the sinks.
	Emitted int64 `json:"emitted"`
	// ResultsDropped counts window results that a filter after the window
	// dropped, or that a second window found late with late = "drop";
	// ResultsDead those that a stage after the window rejected or (late =
	// "dead_letter") found late.
	ResultsDropped int64 `json:"results_dropped"`
	ResultsDead    int64 `json:"results_dead"`
	// SinkRejected counts rows a sink refused without failing (an
	// Elasticsearch mapping error) and sent to the dead letter.
	SinkRejected int64 `json:"sink_rejected"`
	// OpenWindows is the number of (window, group) states still open when
	// the run stopped without reaching the end of its input.
	OpenWindows int `json:"open_windows"`
}

// counters are the live Stats of a run, updated by its goroutines.
type counters struct {
	in, out, filtered, late, dead, emitted, resultsDropped, resultsDead, sinkRejected atomic.Int64
}

func (c *counters) stats() Stats {
	return Stats{
		In: c.in.Load(), Out: c.out.Load(), Filtered: c.filtered.Load(), Late: c.late.Load(),
		Dead: c.dead.Load(), Emitted: c.emitted.Load(),
		ResultsDropped: c.resultsDropped.Load(), ResultsDead: c.resultsDead.Load(),
		SinkRejected: c.sinkRejected.Load(),
	}
}
