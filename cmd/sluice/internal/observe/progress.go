package observe

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/sluice-io/sluice/runner"
)

// DefaultProgressInterval is how often sluice run logs each pipeline's
// progress unless told otherwise.
const DefaultProgressInterval = 30 * time.Second

// changeCheckEvery is how often Progress looks for checkpoint failures and
// source reconnects to warn about.
const changeCheckEvery = time.Second

// Progress logs, while pipelines run, one info line per running pipeline
// every Interval (rates, watermark, lag, open windows, last checkpoint), and
// a warning whenever a checkpoint fails or the source disconnects or
// reconnects, found by comparing successive snapshots.
type Progress struct {
	Monitor Snapshotter
	Logger  *slog.Logger
	// Interval between two progress lines of a pipeline; 0 logs none (the
	// warnings stay).
	Interval time.Duration

	last     map[string]runner.PipelineStatus // the snapshot of the last check
	reported map[string]progressSample        // each pipeline at its last progress line
}

// progressSample is what the rates of a progress line are computed from.
type progressSample struct {
	at            time.Time
	in, emitted   int64
	sourceRecords int64
}

// Run logs until ctx ends.
func (p *Progress) Run(ctx context.Context) {
	check := time.NewTicker(changeCheckEvery)
	defer check.Stop()
	var lines <-chan time.Time
	if p.Interval > 0 {
		t := time.NewTicker(p.Interval)
		defer t.Stop()
		lines = t.C
	}
	p.Check(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-check.C:
			p.Check(now)
		case now := <-lines:
			p.Check(now)
			p.Report(now)
		}
	}
}

// Check compares the pipelines with the last check and warns about what
// went wrong in between.
func (p *Progress) Check(now time.Time) {
	if p.last == nil {
		p.last = map[string]runner.PipelineStatus{}
	}
	for _, cur := range p.Monitor.Snapshot(now) {
		if prev, ok := p.last[cur.Name]; ok {
			p.warnChanges(&prev, &cur)
		}
		p.last[cur.Name] = cur
	}
}

func (p *Progress) warnChanges(prev, cur *runner.PipelineStatus) {
	if k := cur.Checkpoints; k.Failed > prev.Checkpoints.Failed {
		attrs := []any{"pipeline", cur.Name, "failed_total", k.Failed}
		for i := len(k.History) - 1; i >= 0; i-- {
			if ev := k.History[i]; ev.Result == "failed" {
				attrs = append(attrs, "epoch", ev.Epoch, "error", ev.Error)
				break
			}
		}
		p.Logger.Warn("checkpoint failed", attrs...)
	}
	s := cur.Source
	if s.Reconnects > prev.Source.Reconnects {
		p.Logger.Warn("source reconnected", "pipeline", cur.Name, "source", s.Title,
			"reconnects_total", s.Reconnects, "connected", s.Connected)
	} else if prev.Source.Connected && !s.Connected && cur.State == runner.StateRunning {
		p.Logger.Warn("source disconnected", "pipeline", cur.Name, "source", s.Title)
	}
}

// Report logs a progress line for every running pipeline.
func (p *Progress) Report(now time.Time) {
	if p.reported == nil {
		p.reported = map[string]progressSample{}
	}
	for _, ps := range p.Monitor.Snapshot(now) {
		cur := progressSample{at: now, in: ps.Counts.In, emitted: ps.Counts.Emitted, sourceRecords: ps.Source.Records}
		prev, ok := p.reported[ps.Name]
		if !ok {
			prev = progressSample{at: ps.Since}
		}
		p.reported[ps.Name] = cur
		if ps.State != runner.StateRunning {
			continue
		}
		p.Logger.Info("pipeline progress", progressAttrs(&ps, prev, cur)...)
	}
}

// progressAttrs are the attributes of a progress line: the rates over the
// time since prev.
func progressAttrs(ps *runner.PipelineStatus, prev, cur progressSample) []any {
	secs := cur.at.Sub(prev.at).Seconds()
	rate := func(now, before int64) float64 {
		if secs <= 0 {
			return 0
		}
		return roundTo(float64(now-before)/secs, 1)
	}
	attrs := []any{
		"pipeline", ps.Name,
		"records_in", ps.Counts.In, "records_per_second", rate(cur.in, prev.in),
		"rows_emitted", ps.Counts.Emitted, "rows_per_second", rate(cur.emitted, prev.emitted),
		"dead", ps.Counts.Dead, "late", ps.Counts.Late,
		"open_windows", ps.Counts.OpenWindows,
	}
	if w := firstWindow(ps); w != nil {
		if w.Watermark != nil {
			attrs = append(attrs, "watermark", w.Watermark.Format(time.RFC3339), "lag", ago(seconds(w.WatermarkLagSeconds)))
		}
		if h := w.Holding; h != nil && len(w.Partitions) > 1 {
			attrs = append(attrs, "held_back_by", partitionText(h.Name), "behind", ago(seconds(h.BehindSeconds)))
		}
	}
	if k := ps.Checkpoints; k.Enabled {
		if k.LastSuccess != nil {
			attrs = append(attrs, "last_checkpoint_epoch", k.Epoch, "last_checkpoint_ago", ago(cur.at.Sub(*k.LastSuccess)))
		} else {
			attrs = append(attrs, "last_checkpoint", "none yet")
		}
		if k.Failed > 0 {
			attrs = append(attrs, "checkpoints_failed", k.Failed)
		}
	}
	return attrs
}

// firstWindow returns the status of the pipeline's first window stage (the
// one reading the source's partitions), or nil.
func firstWindow(ps *runner.PipelineStatus) *runner.WindowStatus {
	for i := range ps.Stages {
		if w := ps.Stages[i].Window; w != nil {
			return w
		}
	}
	return nil
}

// roundTo rounds v to the given number of decimals, for readable logs.
func roundTo(v float64, decimals int) float64 {
	scale := math.Pow(10, float64(decimals))
	return math.Round(v*scale) / scale
}
