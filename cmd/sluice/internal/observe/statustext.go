package observe

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/sluice-io/sluice/runner"
)

// WriteStatus writes doc as the text of sluice status: per pipeline its
// state, counters with rates, source, each window's watermark, lag, open
// windows and the partition holding the watermark back (and why), sinks,
// checkpoints and the last error. Rates are the counters' growth from prev
// (an earlier read of the same endpoint) to doc; without prev there are
// none. Times are UTC.
func WriteStatus(w io.Writer, doc, prev *PipelinesDocument) {
	if len(doc.Pipelines) == 0 {
		fmt.Fprintln(w, "no pipeline has started yet")
		return
	}
	for i := range doc.Pipelines {
		if i > 0 {
			fmt.Fprintln(w)
		}
		ps := &doc.Pipelines[i]
		var before *runner.PipelineStatus
		var secs float64
		if prev != nil {
			before, secs = findPipeline(prev.Pipelines, ps.Name), doc.Time.Sub(prev.Time).Seconds()
		}
		writePipeline(w, ps, before, secs, doc.Time)
	}
}

func findPipeline(ps []runner.PipelineStatus, name string) *runner.PipelineStatus {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

func writePipeline(w io.Writer, ps, before *runner.PipelineStatus, secs float64, now time.Time) {
	fmt.Fprintf(w, "pipeline %s: %s since %s (%s)\n", ps.Name, ps.State, clock(ps.Since, now), ago(now.Sub(ps.Since)))
	if ps.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", ps.Error)
	}
	rate := func(cur func(*runner.PipelineStatus) int64) string {
		if before == nil || secs <= 0 {
			return ""
		}
		return fmt.Sprintf(" (%.1f/s)", float64(cur(ps)-cur(before))/secs)
	}
	c := ps.Counts
	fmt.Fprintf(w, "  records: %d in%s, %d out, %d filtered, %d late, %d dead; %d rows emitted%s\n",
		c.In, rate(func(p *runner.PipelineStatus) int64 { return p.Counts.In }), c.Out, c.Filtered, c.Late, c.Dead,
		c.Emitted, rate(func(p *runner.PipelineStatus) int64 { return p.Counts.Emitted }))
	writeSource(w, &ps.Source)
	for i := range ps.Stages {
		if st := &ps.Stages[i]; st.Window != nil {
			writeWindow(w, st.Title, st.Window, now)
		}
	}
	for _, s := range ps.Sinks {
		fmt.Fprintf(w, "  %s: %d rows, %d errors, %d retries, %d rejected\n", s.Title, s.Rows, s.Errors, s.Retries, s.Rejected)
	}
	if d := ps.DeadLetter; d.Title != "" {
		fmt.Fprintf(w, "  dead letter: %d records, %d errors\n", d.Records, d.Errors)
	}
	writeCheckpoints(w, &ps.Checkpoints, now)
	if n := len(ps.Errors); n > 0 && ps.Errors[n-1].Message != ps.Error {
		e := ps.Errors[n-1]
		fmt.Fprintf(w, "  last error (%s ago): %s\n", ago(now.Sub(e.At)), e.Message)
	}
}

func writeSource(w io.Writer, s *runner.SourceStatus) {
	conn := "connected"
	if !s.Connected {
		conn = "NOT connected"
	}
	fmt.Fprintf(w, "  %s: %s, %d records, %s read, %d reconnects", s.Title, conn, s.Records, byteSize(s.Bytes), s.Reconnects)
	var backlog int64
	known := false
	for _, p := range s.Partitions {
		if p.Backlog != nil {
			backlog += *p.Backlog
			known = true
		}
	}
	if known {
		fmt.Fprintf(w, ", backlog %d", backlog)
	}
	fmt.Fprintln(w)
}

func writeWindow(w io.Writer, title string, ws *runner.WindowStatus, now time.Time) {
	wm := "no watermark yet"
	if ws.Watermark != nil {
		wm = fmt.Sprintf("watermark %s (lag %s)", clock(*ws.Watermark, now), ago(seconds(ws.WatermarkLagSeconds)))
	}
	fmt.Fprintf(w, "  %s: %s, %d open windows, %s of state\n", title, wm, ws.OpenWindows, byteSize(ws.StateBytes))
	if h := ws.Holding; h != nil && len(ws.Partitions) > 1 {
		fmt.Fprintf(w, "    held back by %s\n", holdingText(h, now))
	}
}

// holdingText explains why a partition holds the watermark back, e.g.
// "partition 3 of persistent://public/default/user-events: max event time
// 12:03:10, 4m behind the others; not idle because it delivered 8s ago".
func holdingText(h *runner.HoldingPartition, now time.Time) string {
	var b strings.Builder
	b.WriteString(partitionText(h.Name))
	if h.MaxEventTime == nil {
		b.WriteString(": no record yet")
	} else {
		fmt.Fprintf(&b, ": max event time %s, %s behind the others", clock(*h.MaxEventTime, now), ago(seconds(h.BehindSeconds)))
	}
	fmt.Fprintf(&b, "; not idle because it delivered %s ago", ago(seconds(h.LastDeliverySecondsAgo)))
	if h.IdleInSeconds != nil {
		fmt.Fprintf(&b, " (idle in %s if it stays silent)", ago(seconds(*h.IdleInSeconds)))
	} else {
		b.WriteString(" (the window has no idle_timeout)")
	}
	fmt.Fprintf(&b, "; holding since %s", clock(h.Since, now))
	return b.String()
}

// partitionSuffix matches the name of a Pulsar partition.
var partitionSuffix = regexp.MustCompile(`^(.+)-partition-(\d+)$`)

// partitionText names a source partition: "partition 3 of TOPIC" for a
// partition of a partitioned Pulsar topic.
func partitionText(name string) string {
	if m := partitionSuffix.FindStringSubmatch(name); m != nil {
		return "partition " + m[2] + " of " + m[1]
	}
	return "partition " + name
}

func writeCheckpoints(w io.Writer, k *runner.CheckpointStatus, now time.Time) {
	if !k.Enabled {
		return
	}
	fmt.Fprint(w, "  checkpoints: ")
	if k.LastSuccess == nil {
		fmt.Fprint(w, "none yet")
	} else {
		fmt.Fprintf(w, "last at %s (%s ago, epoch %d, %s)", clock(*k.LastSuccess, now), ago(now.Sub(*k.LastSuccess)), k.Epoch, byteSize(k.LastSize))
	}
	fmt.Fprintf(w, ", every %s, %d taken, %d failed\n", ago(seconds(k.EverySeconds)), k.Count, k.Failed)
}

// clock renders t in UTC: the time of day when it is on now's day, else
// the date too.
func clock(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// ago renders a duration to the second: 8s, 4m, 4m2s, 1h5m; under a second
// in milliseconds.
func ago(d time.Duration) string {
	if d < 0 {
		return "-" + ago(-d)
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// byteSize renders n bytes in B, KiB, MiB or GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, units := float64(n)/unit, []string{"KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
