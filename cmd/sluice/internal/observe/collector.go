package observe

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/runner"
)

// Snapshotter is what the collector and the server read: a runner.Monitor.
type Snapshotter interface {
	Snapshot(now time.Time) []runner.PipelineStatus
}

// states are the pipeline states sluice_pipeline_state reports.
var states = []string{runner.StateStarting, runner.StateRunning, runner.StateFinished, runner.StateStopped, runner.StateFailed}

// Collector is a prometheus.Collector that converts a Monitor's snapshot
// into the sluice_* metrics when Prometheus scrapes, and nothing else: the
// pipelines pay nothing for it between scrapes.
type Collector struct {
	monitor Snapshotter
	build   BuildInfo
	now     func() time.Time
	m       *metricSet
}

// NewCollector returns the collector of monitor's pipelines, with
// sluice_build_info describing build.
func NewCollector(monitor Snapshotter, build BuildInfo) *Collector {
	return &Collector{monitor: monitor, build: build, now: time.Now, m: newMetricSet()}
}

// Describe sends the descriptor of every metric the collector can produce.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.m.all() {
		ch <- m.desc
	}
}

// Collect sends the metrics of every pipeline as of now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.m.buildInfo.emit(ch, 1, c.build.Version, c.build.Revision, c.build.GoVersion)
	for _, ps := range c.monitor.Snapshot(c.now()) {
		c.collectPipeline(ch, &ps)
	}
}

func (c *Collector) collectPipeline(ch chan<- prometheus.Metric, ps *runner.PipelineStatus) {
	m, p := c.m, ps.Name
	up := ps.State == runner.StateRunning || ps.State == runner.StateFinished
	m.pipelineUp.emit(ch, boolValue(up), p)
	for _, s := range states {
		m.pipelineState.emit(ch, boolValue(ps.State == s), p, s)
	}
	n := ps.Counts
	m.recordsIn.emit(ch, float64(n.In), p)
	m.recordsOut.emit(ch, float64(n.Out), p)
	m.recordsFiltered.emit(ch, float64(n.Filtered), p)
	m.recordsLate.emit(ch, float64(n.Late), p)
	m.recordsDead.emit(ch, float64(n.Dead), p)
	m.emitted.emit(ch, float64(n.Emitted), p)

	src := ps.Source
	m.sourceRecords.emit(ch, float64(src.Records), p)
	m.sourceBytes.emit(ch, float64(src.Bytes), p)
	m.sourceReconnects.emit(ch, float64(src.Reconnects), p)
	m.sourceConnected.emit(ch, boolValue(src.Connected), p)
	for _, part := range src.Partitions {
		if part.Backlog != nil {
			m.sourceBacklog.emit(ch, float64(*part.Backlog), p, part.Name)
		}
	}

	stageTitles := uniqueTitles(len(ps.Stages), func(i int) string { return ps.Stages[i].Title })
	for i := range ps.Stages {
		c.collectStage(ch, p, stageTitles[i], &ps.Stages[i])
	}
	sinkTitles := uniqueTitles(len(ps.Sinks), func(i int) string { return ps.Sinks[i].Title })
	for i, s := range ps.Sinks {
		k := sinkTitles[i]
		m.sinkRows.emit(ch, float64(s.Rows), p, k)
		m.sinkErrors.emit(ch, float64(s.Errors), p, k)
		m.sinkRetries.emit(ch, float64(s.Retries), p, k)
		m.sinkRejected.emit(ch, float64(s.Rejected), p, k)
		m.sinkWriteDuration.emitHistogram(ch, s.WriteDuration, p, k)
	}
	m.deadLetterRecords.emit(ch, float64(ps.DeadLetter.Records), p)
	m.deadLetterErrors.emit(ch, float64(ps.DeadLetter.Errors), p)
	c.collectCheckpoints(ch, p, &ps.Checkpoints)
	m.batchPool.emit(ch, float64(ps.Queue.Batches), p)
	m.batchesInFlight.emit(ch, float64(ps.Queue.InFlight), p)
}

func (c *Collector) collectStage(ch chan<- prometheus.Metric, p, title string, s *runner.StageStatus) {
	m := c.m
	m.stageIn.emit(ch, float64(s.In), p, title)
	m.stageOut.emit(ch, float64(s.Out), p, title)
	m.stageFiltered.emit(ch, float64(s.Filtered), p, title)
	m.stageLate.emit(ch, float64(s.Late), p, title)
	m.stageDeadLetters.emit(ch, float64(s.Dead), p, title, s.DeadReason)
	w := s.Window
	if w == nil {
		return
	}
	if w.Watermark != nil {
		m.watermark.emit(ch, unixSeconds(*w.Watermark), p, title)
		m.watermarkLag.emit(ch, w.WatermarkLagSeconds, p, title)
	}
	m.openWindows.emit(ch, float64(w.OpenWindows), p, title)
	m.stateBytes.emit(ch, float64(w.StateBytes), p, title)
	for _, part := range w.Partitions {
		if part.MaxEventTime != nil {
			m.partitionMaxEventTime.emit(ch, unixSeconds(*part.MaxEventTime), p, title, part.Name)
		}
		m.partitionIdle.emit(ch, boolValue(part.Idle), p, title, part.Name)
	}
	m.emitLatency.emitHistogram(ch, w.EmitLatency, p, title)
}

func (c *Collector) collectCheckpoints(ch chan<- prometheus.Metric, p string, k *runner.CheckpointStatus) {
	m := c.m
	m.checkpointDuration.emitHistogram(ch, k.Duration, p)
	m.checkpoints.emit(ch, float64(k.Count), p, "ok")
	m.checkpoints.emit(ch, float64(k.Failed), p, "failed")
	if !k.Enabled {
		return
	}
	m.checkpointSize.emit(ch, float64(k.LastSize), p)
	m.checkpointEpoch.emit(ch, float64(k.Epoch), p)
	if k.LastSuccess != nil {
		m.checkpointLastSuccess.emit(ch, unixSeconds(*k.LastSuccess), p)
	}
	m.checkpointInterval.emit(ch, k.EverySeconds, p)
}

// uniqueTitles returns the n titles title(i) with a repeated one made
// unique: the second `filter` of a pipeline is `filter #2`, so that two
// stages never share a series.
func uniqueTitles(n int, title func(int) string) []string {
	seen := make(map[string]int, n)
	out := make([]string, n)
	for i := range n {
		t := title(i)
		seen[t]++
		if k := seen[t]; k > 1 {
			t += " #" + strconv.Itoa(k)
		}
		out[i] = t
	}
	return out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t in Unix seconds, with milliseconds.
func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }
