package pulsar

import (
	"context"
	"slices"
	"strconv"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
)

var _ plugins.DeadLetterOpener = (*DeadLetter)(nil)

// Open connects and creates the producer.
func (d *DeadLetter) Open(ctx context.Context, rt *plugins.Runtime) (plugins.DeadWriter, error) {
	p, err := openProducer(ctx, &d.Conn, rt, pulsarapi.ProducerOptions{Topic: d.Topic, CompressionType: pulsarapi.LZ4})
	if err != nil {
		return nil, err
	}
	w := &deadWriter{producer: p, pipeline: d.Pipeline}
	if rt != nil && rt.Pipeline != "" {
		w.pipeline = rt.Pipeline
	}
	return w, nil
}

// deadWriter publishes each dead record as one message.
type deadWriter struct {
	producer *producer
	pipeline string
}

// WriteDead publishes every record and returns once the broker has stored
// them all.
func (w *deadWriter) WriteDead(ctx context.Context, recs []plugins.DeadRecord) error {
	if len(recs) == 0 {
		return nil
	}
	msgs := make([]pulsarapi.ProducerMessage, len(recs))
	var ts []byte
	for i := range recs {
		rec := &recs[i]
		ts = ndjson.AppendTimestamp(ts[:0], rec.Time.UnixMilli())
		msgs[i] = pulsarapi.ProducerMessage{
			Payload: slices.Clone(rec.Payload),
			Properties: map[string]string{
				"pipeline":  w.pipeline,
				"stage":     rec.Stage,
				"reason":    rec.Reason,
				"partition": strconv.Itoa(int(rec.Origin.Partition)),
				"offset":    strconv.FormatInt(rec.Origin.Offset, 10),
				"time":      string(ts),
			},
		}
		if l := rec.Late; l != nil {
			p := msgs[i].Properties
			p["late_event_time"] = strconv.FormatInt(l.EventTime, 10)
			p["late_window_start"] = strconv.FormatInt(l.WindowStart, 10)
			p["late_window_end"] = strconv.FormatInt(l.WindowEnd, 10)
			p["late_watermark"] = strconv.FormatInt(l.Watermark, 10)
			p["late_by_ms"] = strconv.FormatInt(l.LateBy, 10)
			p["late_allowed_lateness_ms"] = strconv.FormatInt(l.AllowedLateness, 10)
		}
		if msgs[i].Payload == nil {
			msgs[i].Payload = []byte{}
		}
	}
	return w.producer.sendAll(ctx, msgs)
}

// Close flushes and closes the producer.
func (w *deadWriter) Close() error {
	return w.producer.close()
}
