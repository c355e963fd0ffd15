package runner

import (
	"encoding/json"
	"sync"
	"time"
)

// Monitor is the live view of the pipelines one process runs, for metrics,
// health checks, the dashboard and `sluice status`. Give the same Monitor to
// every Run (Options.Monitor); the runner updates it per batch, never per
// record, and Snapshot may be called from any goroutine at any time.
type Monitor struct {
	mu        sync.Mutex
	pipelines []*live
}

// NewMonitor returns an empty Monitor.
func NewMonitor() *Monitor { return &Monitor{} }

// The states of a pipeline.
const (
	StateStarting = "starting" // opening its source, sinks and checkpoint store
	StateRunning  = "running"
	StateFinished = "finished" // its bounded input ended and everything was written
	StateStopped  = "stopped"  // stopped by a signal
	StateFailed   = "failed"   // a fatal error; see Error
)

// PipelineStatus is one pipeline at one moment: the JSON of
// /api/v1/pipelines (docs/observability.md documents each field).
type PipelineStatus struct {
	Name        string           `json:"name"`
	State       string           `json:"state"`
	Since       time.Time        `json:"since"`
	Error       string           `json:"error,omitempty"`
	Counts      Stats            `json:"counts"`
	Source      SourceStatus     `json:"source"`
	Stages      []StageStatus    `json:"stages"`
	Sinks       []SinkStatus     `json:"sinks"`
	DeadLetter  DeadLetterStatus `json:"dead_letter"`
	Checkpoints CheckpointStatus `json:"checkpoints"`
	Queue       QueueStatus      `json:"queue"`
	Errors      []ErrorEvent     `json:"errors"`
}

// Ready reports whether the pipeline runs with its source connected, or
// finished its bounded input: what a readiness probe wants.
func (p *PipelineStatus) Ready() (bool, string) {
	switch {
	case p.State == StateFinished:
		return true, ""
	case p.State != StateRunning:
		return false, "pipeline " + p.Name + " is " + p.State
	case !p.Source.Connected:
		return false, "pipeline " + p.Name + ": " + p.Source.Title + " is not connected"
	}
	return true, ""
}

// SourceStatus describes the pipeline's source.
type SourceStatus struct {
	Title      string `json:"title"`
	Connected  bool   `json:"connected"`
	Reconnects int64  `json:"reconnects"`
	Records    int64  `json:"records"`
	Bytes      int64  `json:"bytes"`
	// Partitions lists the source partitions with their backlog, when the
	// source can tell it (Pulsar: messages published after the position
	// read).
	Partitions []SourcePartition `json:"partitions"`
}

// SourcePartition is one source partition.
type SourcePartition struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Backlog *int64 `json:"backlog,omitempty"`
}

// StageStatus holds one stage's counters: In = Out + Filtered + Late + Dead.
type StageStatus struct {
	Title    string `json:"title"`
	Kind     string `json:"kind"` // parse, filter, map or window
	In       int64  `json:"in"`
	Out      int64  `json:"out"`
	Filtered int64  `json:"filtered"`
	Late     int64  `json:"late"`
	Dead     int64  `json:"dead"`
	// DeadReason is the kind of reason this stage's dead records have:
	// parse, expression or event_time (a window's null or out-of-range
	// event time or failed aggregate argument).
	DeadReason string        `json:"dead_reason"`
	Window     *WindowStatus `json:"window,omitempty"`
}

// WindowStatus describes a window stage's event time.
type WindowStatus struct {
	// Watermark is the stage's watermark; nil before it has one.
	Watermark *time.Time `json:"watermark"`
	// WatermarkLagSeconds is processing time minus the watermark.
	WatermarkLagSeconds float64           `json:"watermark_lag_seconds"`
	OpenWindows         int               `json:"open_windows"`
	StateBytes          int64             `json:"state_bytes"`
	Partitions          []WindowPartition `json:"partitions"`
	// Holding is the partition holding the watermark back: the active one
	// whose largest event time is the lowest. Nil when no partition is
	// active or the input ended.
	Holding     *HoldingPartition `json:"holding,omitempty"`
	EmitLatency HistogramSnapshot `json:"emit_latency"`
}

// WindowPartition is one source partition as the window sees it.
type WindowPartition struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// MaxEventTime is nil until the partition delivered a record.
	MaxEventTime *time.Time `json:"max_event_time"`
	LastDelivery time.Time  `json:"last_delivery"`
	Idle         bool       `json:"idle"`
}

// HoldingPartition names the partition that holds the watermark back.
type HoldingPartition struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// MaxEventTime is nil when the partition has delivered nothing yet.
	MaxEventTime *time.Time `json:"max_event_time"`
	// BehindSeconds is how far its largest event time is behind the
	// highest among the active partitions.
	BehindSeconds float64 `json:"behind_seconds"`
	// Since is when it started holding the watermark back.
	Since time.Time `json:"since"`
	// LastDeliverySecondsAgo is how long ago it last delivered a record.
	LastDeliverySecondsAgo float64 `json:"last_delivery_seconds_ago"`
	// IdleInSeconds is how long until it turns idle if it stays silent
	// (nil when the window has no idle timeout).
	IdleInSeconds *float64 `json:"idle_in_seconds,omitempty"`
}

// SinkStatus describes one sink.
type SinkStatus struct {
	Title         string            `json:"title"`
	Rows          int64             `json:"rows"`
	Errors        int64             `json:"errors"`
	Retries       int64             `json:"retries"`
	Rejected      int64             `json:"rejected"`
	WriteDuration HistogramSnapshot `json:"write_duration"`
	// LastRows are the last rows written, oldest first, as JSON objects.
	LastRows []json.RawMessage `json:"last_rows"`
}

// DeadLetterStatus counts what reached the dead letter.
type DeadLetterStatus struct {
	Title   string `json:"title,omitempty"`
	Records int64  `json:"records"`
	Errors  int64  `json:"errors"`
}

// CheckpointStatus describes the pipeline's checkpoints.
type CheckpointStatus struct {
	Enabled      bool              `json:"enabled"`
	EverySeconds float64           `json:"every_seconds"`
	Count        int64             `json:"count"`
	Failed       int64             `json:"failed"`
	Epoch        int64             `json:"epoch"`
	LastSuccess  *time.Time        `json:"last_success"`
	LastSize     int64             `json:"last_size_bytes"`
	Duration     HistogramSnapshot `json:"duration"`
	History      []CheckpointEvent `json:"history"`
}

// CheckpointEvent is one checkpoint (or commit, without a store).
type CheckpointEvent struct {
	Epoch           int64     `json:"epoch"`
	At              time.Time `json:"at"`
	DurationSeconds float64   `json:"duration_seconds"`
	SizeBytes       int64     `json:"size_bytes"`
	Result          string    `json:"result"` // ok or failed
	Error           string    `json:"error,omitempty"`
}

// QueueStatus is the bounded pool of batches between the source and the
// scheduler: when every batch is in use, the source waits (backpressure).
type QueueStatus struct {
	Batches  int `json:"batches"`
	InFlight int `json:"in_flight"`
}

// ErrorEvent is a recent error of the pipeline.
type ErrorEvent struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// Snapshot returns the status of every pipeline, in the order they
// started, at processing time now.
func (m *Monitor) Snapshot(now time.Time) []PipelineStatus {
	m.mu.Lock()
	ps := append([]*live(nil), m.pipelines...)
	m.mu.Unlock()
	out := make([]PipelineStatus, len(ps))
	for i, p := range ps {
		out[i] = p.status(now)
	}
	return out
}

// add registers a pipeline run, replacing an earlier run of the same name.
func (m *Monitor) add(l *live) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.pipelines {
		if p.name == l.name {
			m.pipelines[i] = l
			return
		}
	}
	m.pipelines = append(m.pipelines, l)
}

// remove drops the live view named name: a task this process no longer
// runs.
func (m *Monitor) remove(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.pipelines {
		if p.name == name {
			m.pipelines = append(m.pipelines[:i], m.pipelines[i+1:]...)
			return
		}
	}
}
