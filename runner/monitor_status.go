package runner

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins"
)

// status returns the pipeline's status at processing time now.
func (l *live) status(now time.Time) PipelineStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := PipelineStatus{
		Name: l.name, State: l.state, Since: l.since, Error: l.err,
		Counts:     l.counts,
		Errors:     slices.Clone(l.errors),
		DeadLetter: DeadLetterStatus{Title: l.dead.title, Records: l.dead.records.Load(), Errors: l.dead.errors.Load()},
	}
	if ps.Errors == nil {
		ps.Errors = []ErrorEvent{}
	}
	ps.Source = l.sourceStatus()
	if l.inFlight != nil {
		ps.Queue = QueueStatus{Batches: l.batches, InFlight: l.inFlight()}
	}
	for i := range l.stages {
		names := l.partNames
		if i != l.firstWindow {
			names = nil // a window after a window reads one ordered stream
		}
		var c stageCount
		if i < len(l.stageCounts) {
			c = l.stageCounts[i]
		}
		st := stageStatus(&l.stages[i], c, names, now)
		if st.Window != nil {
			ps.Counts.OpenWindows += st.Window.OpenWindows
		}
		ps.Stages = append(ps.Stages, st)
	}
	for i := range l.sinks {
		s := &l.sinks[i]
		ss := SinkStatus{
			Title: s.title, Rows: s.rows.Load(), Errors: s.errors.Load(), Rejected: s.rejected.Load(),
			WriteDuration: s.write.Snapshot(), LastRows: slices.Clone(l.lastRows),
		}
		if s.retries != nil {
			ss.Retries = s.retries.Retries()
		}
		if ss.LastRows == nil {
			ss.LastRows = []json.RawMessage{}
		}
		ps.Sinks = append(ps.Sinks, ss)
	}
	k := &l.ckpt
	ps.Checkpoints = CheckpointStatus{
		Enabled: l.ckptEnabled, EverySeconds: l.ckptEvery.Seconds(), Count: k.count, Failed: k.failed,
		Epoch: k.epoch, LastSize: k.size, Duration: k.duration.Snapshot(), History: slices.Clone(k.history),
	}
	if !k.lastSuccess.IsZero() {
		t := k.lastSuccess
		ps.Checkpoints.LastSuccess = &t
	}
	if ps.Checkpoints.History == nil {
		ps.Checkpoints.History = []CheckpointEvent{}
	}
	return ps
}

func (l *live) sourceStatus() SourceStatus {
	s := SourceStatus{Title: l.source.title, Records: l.source.records.Load(), Bytes: l.source.bytes.Load(), Partitions: []SourcePartition{}}
	if l.reader == nil {
		return s
	}
	s.Connected = true
	if cr, ok := l.reader.(plugins.ConnectionReporter); ok {
		s.Connected, s.Reconnects = cr.Connected(), cr.Reconnects()
	}
	br, _ := l.reader.(plugins.BacklogReporter)
	for p, name := range l.partNames {
		sp := SourcePartition{Index: p, Name: name}
		if br != nil {
			if n, ok := br.Backlog(p); ok {
				sp.Backlog = &n
			}
		}
		s.Partitions = append(s.Partitions, sp)
	}
	return s
}

func stageStatus(s *liveStage, c stageCount, names []string, now time.Time) StageStatus {
	st := StageStatus{
		Title: s.title, Kind: s.kind, DeadReason: s.deadReason,
		In: c.in, Out: c.out, Filtered: c.filtered, Late: c.late, Dead: c.dead,
	}
	if s.window != nil {
		st.Window = windowStatus(s.window, names, now)
	}
	return st
}

func windowStatus(w *liveWindow, names []string, now time.Time) *WindowStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := &WindowStatus{
		Watermark: millisTime(w.watermark), OpenWindows: w.open, StateBytes: w.stateBytes,
		Partitions: []WindowPartition{}, EmitLatency: w.latency.Snapshot(),
	}
	if ws.Watermark != nil {
		ws.WatermarkLagSeconds = now.Sub(*ws.Watermark).Seconds()
	}
	highest := int64(0)
	first := true
	for p, s := range w.parts {
		ws.Partitions = append(ws.Partitions, WindowPartition{
			Index: p, Name: partitionName(names, p), MaxEventTime: millisTime(s.MaxEventTime),
			LastDelivery: time.UnixMilli(s.LastDelivery).UTC(), Idle: s.Idle,
		})
		if !s.Idle && (first || s.MaxEventTime > highest) {
			highest, first = s.MaxEventTime, false
		}
	}
	if h := w.holder; h >= 0 && h < len(w.parts) && w.watermark != eventtime.EndOfTime {
		s := w.parts[h]
		hp := &HoldingPartition{
			Index: h, Name: partitionName(names, h), MaxEventTime: millisTime(s.MaxEventTime),
			Since:                  time.UnixMilli(w.holderSince).UTC(),
			LastDeliverySecondsAgo: now.Sub(time.UnixMilli(s.LastDelivery)).Seconds(),
		}
		if hp.MaxEventTime != nil {
			hp.BehindSeconds = float64(highest-s.MaxEventTime) / 1e3
		}
		ws.Holding = hp
	}
	return ws
}

// partitionName names partition p: a source partition's name, or
// "stream" for the one ordered stream a window after a window reads.
func partitionName(names []string, p int) string {
	if p < len(names) {
		return names[p]
	}
	return "stream"
}
