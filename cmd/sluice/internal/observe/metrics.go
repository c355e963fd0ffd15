package observe

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/runner"
)

// metric is one metric family the collector produces.
type metric struct {
	name   string
	kind   metricKind
	labels []string
	desc   *prometheus.Desc
}

type metricKind int

const (
	counterKind metricKind = iota
	gaugeKind
	histogramKind
)

func newMetric(kind metricKind, name, help string, labels ...string) *metric {
	return &metric{name: name, kind: kind, labels: labels, desc: prometheus.NewDesc(name, help, labels, nil)}
}

// emit sends one sample of a counter or gauge; values are the label
// values, in the order of the metric's labels.
func (m *metric) emit(ch chan<- prometheus.Metric, v float64, values ...string) {
	t := prometheus.GaugeValue
	if m.kind == counterKind {
		t = prometheus.CounterValue
	}
	ch <- prometheus.MustNewConstMetric(m.desc, t, v, values...)
}

// emitHistogram sends a histogram over runner.LatencyBuckets.
func (m *metric) emitHistogram(ch chan<- prometheus.Metric, h runner.HistogramSnapshot, values ...string) {
	buckets := make(map[float64]uint64, len(runner.LatencyBuckets))
	for i, le := range runner.LatencyBuckets {
		if i < len(h.Buckets) {
			buckets[le] = h.Buckets[i]
		}
	}
	ch <- prometheus.MustNewConstHistogram(m.desc, h.Count, h.SumSeconds, buckets, values...)
}

// seriesNames are the names a scrape shows for the metric: a histogram's
// _bucket, _sum and _count series.
func (m *metric) seriesNames() []string {
	if m.kind == histogramKind {
		return []string{m.name + "_bucket", m.name + "_sum", m.name + "_count"}
	}
	return []string{m.name}
}

// metricSet holds every metric family of a Monitor's pipelines
// (docs/observability.md lists them).
type metricSet struct {
	buildInfo *metric

	pipelineUp, pipelineState                                                 *metric
	recordsIn, recordsOut, recordsFiltered, recordsLate, recordsDead, emitted *metric

	stageIn, stageOut, stageFiltered, stageLate, stageDeadLetters *metric

	sourceRecords, sourceBytes, sourceReconnects, sourceConnected, sourceBacklog *metric

	watermark, watermarkLag, openWindows, stateBytes, partitionMaxEventTime, partitionIdle, emitLatency *metric

	sinkRows, sinkErrors, sinkRetries, sinkRejected, sinkWriteDuration *metric

	deadLetterRecords, deadLetterErrors *metric

	checkpointDuration, checkpoints, checkpointSize, checkpointEpoch, checkpointLastSuccess, checkpointInterval *metric

	batchPool, batchesInFlight *metric
}

func newMetricSet() *metricSet {
	const p, st, sk, part = "pipeline", "stage", "sink", "partition"
	c := func(name, help string, labels ...string) *metric {
		return newMetric(counterKind, name, help, labels...)
	}
	g := func(name, help string, labels ...string) *metric { return newMetric(gaugeKind, name, help, labels...) }
	h := func(name, help string, labels ...string) *metric {
		return newMetric(histogramKind, name, help, labels...)
	}
	return &metricSet{
		buildInfo: g("sluice_build_info", "Always 1; the labels describe this build of sluice.", "version", "revision", "goversion"),

		pipelineUp:      g("sluice_pipeline_up", "1 while the pipeline runs or after it finished its bounded input, 0 otherwise.", p),
		pipelineState:   g("sluice_pipeline_state", "1 for the pipeline's current state, 0 for the others.", p, "state"),
		recordsIn:       c("sluice_pipeline_records_in_total", "Records the source yielded (in = out + filtered + late + dead).", p),
		recordsOut:      c("sluice_pipeline_records_out_total", "Records that reached the first window, or the sinks without a window.", p),
		recordsFiltered: c("sluice_pipeline_records_filtered_total", "Records a filter dropped.", p),
		recordsLate:     c("sluice_pipeline_records_late_total", "Records that arrived after their window closed.", p),
		recordsDead:     c("sluice_pipeline_records_dead_total", "Records rejected before or by the first window (unparsable, failed expressions).", p),
		emitted:         c("sluice_pipeline_rows_emitted_total", "Rows handed to the sinks.", p),

		stageIn:          c("sluice_stage_records_in_total", "Records a stage was given (in = out + filtered + late + dead).", p, st),
		stageOut:         c("sluice_stage_records_out_total", "Records a stage handed on.", p, st),
		stageFiltered:    c("sluice_stage_records_filtered_total", "Records a stage dropped by its condition.", p, st),
		stageLate:        c("sluice_stage_records_late_total", "Records a window stage found late.", p, st),
		stageDeadLetters: c("sluice_stage_dead_letters_total", "Records a stage rejected, by kind of reason (parse, expression, event_time).", p, st, "reason"),

		sourceRecords:    c("sluice_source_records_total", "Records the source read.", p),
		sourceBytes:      c("sluice_source_bytes_total", "Bytes the source read.", p),
		sourceReconnects: c("sluice_source_reconnects_total", "Times the source reconnected to its server.", p),
		sourceConnected:  g("sluice_source_connected", "1 while the source is connected (or needs no connection), 0 otherwise.", p),
		sourceBacklog:    g("sluice_source_backlog_records", "Records published to a source partition and not read yet, when the source can tell.", p, part),

		watermark:             g("sluice_window_watermark_seconds", "The window stage's watermark, in Unix seconds (absent before it has one).", p, st),
		watermarkLag:          g("sluice_window_watermark_lag_seconds", "Processing time minus the window stage's watermark, in seconds.", p, st),
		openWindows:           g("sluice_window_open_windows", "Open (window, group) states of the window stage.", p, st),
		stateBytes:            g("sluice_window_state_bytes", "Estimated memory of the window stage's state, in bytes.", p, st),
		partitionMaxEventTime: g("sluice_window_partition_max_event_time_seconds", "Largest event time a source partition delivered to the window stage, in Unix seconds.", p, st, part),
		partitionIdle:         g("sluice_window_partition_idle", "1 while the window stage takes the partition as idle.", p, st, part),
		emitLatency:           h("sluice_window_emit_latency_seconds", "Processing time from a window's end to its rows reaching the sinks.", p, st),

		sinkRows:          c("sluice_sink_rows_total", "Rows the sink wrote.", p, sk),
		sinkErrors:        c("sluice_sink_errors_total", "Failed writes of the sink.", p, sk),
		sinkRetries:       c("sluice_sink_retries_total", "Writes the sink retried.", p, sk),
		sinkRejected:      c("sluice_sink_rejected_total", "Rows the sink refused and sent to the dead letter.", p, sk),
		sinkWriteDuration: h("sluice_sink_write_duration_seconds", "Duration of the sink's writes.", p, sk),

		deadLetterRecords: c("sluice_dead_letter_records_total", "Records written to the dead letter.", p),
		deadLetterErrors:  c("sluice_dead_letter_errors_total", "Failed writes to the dead letter.", p),

		checkpointDuration:    h("sluice_checkpoint_duration_seconds", "Duration of successful checkpoints (or commits, without a checkpoint store).", p),
		checkpoints:           c("sluice_checkpoints_total", "Checkpoints (or commits) taken, by result (ok, failed).", p, "result"),
		checkpointSize:        g("sluice_checkpoint_size_bytes", "Size of the last successful checkpoint, in bytes.", p),
		checkpointEpoch:       g("sluice_checkpoint_epoch", "Epoch of the last successful checkpoint.", p),
		checkpointLastSuccess: g("sluice_checkpoint_last_success_timestamp_seconds", "When the last checkpoint succeeded, in Unix seconds.", p),
		checkpointInterval:    g("sluice_checkpoint_interval_seconds", "The pipeline's checkpoint interval, in seconds.", p),

		batchPool:       g("sluice_batch_pool_batches", "Batches in the pool between the source and the stages; the source waits when all are in flight.", p),
		batchesInFlight: g("sluice_batches_in_flight", "Batches of the pool in use.", p),
	}
}

// all lists every metric of the set.
func (s *metricSet) all() []*metric {
	return []*metric{
		s.buildInfo,
		s.pipelineUp, s.pipelineState, s.recordsIn, s.recordsOut, s.recordsFiltered, s.recordsLate, s.recordsDead, s.emitted,
		s.stageIn, s.stageOut, s.stageFiltered, s.stageLate, s.stageDeadLetters,
		s.sourceRecords, s.sourceBytes, s.sourceReconnects, s.sourceConnected, s.sourceBacklog,
		s.watermark, s.watermarkLag, s.openWindows, s.stateBytes, s.partitionMaxEventTime, s.partitionIdle, s.emitLatency,
		s.sinkRows, s.sinkErrors, s.sinkRetries, s.sinkRejected, s.sinkWriteDuration,
		s.deadLetterRecords, s.deadLetterErrors,
		s.checkpointDuration, s.checkpoints, s.checkpointSize, s.checkpointEpoch, s.checkpointLastSuccess, s.checkpointInterval,
		s.batchPool, s.batchesInFlight,
	}
}

// MetricNames returns, sorted, the name of every sluice_* series the
// pipeline metrics can show: a histogram's _bucket, _sum and _count series
// rather than its family name. The Go runtime's go_* and the process's
// process_* metrics come on top.
func MetricNames() []string {
	var names []string
	for _, m := range newMetricSet().all() {
		names = append(names, m.seriesNames()...)
	}
	slices.Sort(names)
	return names
}
