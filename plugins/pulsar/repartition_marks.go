package pulsar

import (
	"context"
	"fmt"
	"strconv"
	"time"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/eventtime"
)

// This file is the publisher's side of the watermark markers: a message
// without payload whose properties say which task sent it, how many tasks
// publish, its watermark and whether it is idle or ended. A publisher
// sends one to every partition when it opens (so that a restarted one
// announces itself), every watermark_interval, and at the end of a bounded
// input. Before the markers go out it waits for the receipts of every
// record sent, so that in each partition a marker comes after every record
// it covers.

// tick sends the markers every watermark_interval until Close.
func (p *publisher) tick() {
	defer p.wg.Done()
	t := time.NewTicker(p.r.WatermarkInterval)
	defer t.Stop()
	for {
		select {
		case <-p.tickCtx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		var err error
		if !p.closed {
			err = p.sendMarkers(p.tickCtx)
		}
		p.mu.Unlock()
		if err != nil && p.tickCtx.Err() == nil {
			p.sent.fail(err)
			return
		}
	}
}

// sendMarkers waits for the receipts of the records sent, then sends
// every partition a marker of the current watermark. The caller holds mu.
func (p *publisher) sendMarkers(ctx context.Context) error {
	if err := p.sent.wait(ctx); err != nil {
		return err
	}
	w, idle := p.watermark()
	for part := range p.r.Partitions {
		p.sent.add()
		p.marks.SendAsync(p.life, p.marker(part, w, idle), p.markerSent(part))
	}
	return nil
}

// watermark returns the watermark the markers send and whether the task
// is idle: the one handed over by SetWatermark, or the valve's advanced
// to now, idle when every source partition it has read is idle or, before
// the first record, nothing came for the idle timeout.
func (p *publisher) watermark() (int64, bool) {
	if p.given {
		if p.ended {
			return eventtime.EndOfTime, false
		}
		return p.givenW, p.givenIdle
	}
	now := p.now().UnixMilli()
	w, _ := p.valve.Advance(now)
	if p.ended || p.idleAfter <= 0 {
		return w, false
	}
	n := p.valve.Partitions()
	if n == 0 {
		return w, now-p.openedAt >= p.idleAfter
	}
	for i := range n {
		if !p.valve.Idle(i, now) {
			return w, false
		}
	}
	return w, true
}

// marker returns the marker of watermark w for partition part.
func (p *publisher) marker(part int, w int64, idle bool) *pulsarapi.ProducerMessage {
	props := map[string]string{
		propMarker:    "1",
		propPartition: strconv.Itoa(part),
		propTask:      p.task,
		propTasks:     strconv.Itoa(p.tasks),
	}
	if w != eventtime.NoWatermark {
		props[propWatermark] = strconv.FormatInt(w, 10)
	}
	if idle {
		props[propIdle] = "1"
	}
	if p.ended {
		props[propEnd] = "1"
	}
	return &pulsarapi.ProducerMessage{Payload: []byte{}, Properties: props}
}

// markerSent is the callback of a marker sent to part.
func (p *publisher) markerSent(part int) func(pulsarapi.MessageID, *pulsarapi.ProducerMessage, error) {
	return func(_ pulsarapi.MessageID, _ *pulsarapi.ProducerMessage, err error) {
		if err != nil {
			err = fmt.Errorf("sending the watermark to partition %d of %s at %s: %w", part, p.r.Topic, p.r.Conn.ServiceURL, p.r.Conn.explain(err))
		}
		p.sent.done(err)
	}
}

// mark is a marker as a reader of the topic sees it.
type mark struct {
	task      string
	tasks     int
	watermark int64 // eventtime.NoWatermark when it carries none
	idle, end bool
}

// parseMark reads the marker properties props; false when they are not a
// marker's.
func parseMark(props map[string]string) (mark, bool) {
	if props[propMarker] != "1" {
		return mark{}, false
	}
	m := mark{task: props[propTask], watermark: eventtime.NoWatermark, idle: props[propIdle] == "1", end: props[propEnd] == "1"}
	n, err := strconv.Atoi(props[propTasks])
	if err != nil || n < 1 {
		return mark{}, false
	}
	m.tasks = n
	if s, ok := props[propWatermark]; ok {
		w, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return mark{}, false
		}
		m.watermark = w
	}
	return m, true
}
