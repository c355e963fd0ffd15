package file

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
)

var _ plugins.DeadLetterOpener = (*DeadLetter)(nil)

// Open opens the file for appending, creating it and its missing parent
// folders: a dead letter is an audit log that outlives runs.
func (d *DeadLetter) Open(ctx context.Context, rt *plugins.Runtime) (plugins.DeadWriter, error) {
	f, err := createFile(d.Path, os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("dead_letter \"file\": %w", err)
	}
	w := &deadWriter{file: newBufferedFile(d.Path, f), base64: d.Payload == PayloadBase64, line: make([]byte, 0, 1024)}
	if rt != nil {
		w.pipeline, w.task = rt.Pipeline, rt.Task
	}
	return w, nil
}

// deadWriter writes each dead record as one NDJSON line:
//
//	{"time":"2024-05-01T12:00:00.000Z","pipeline":"p","stage":"parse \"json\"","reason":"...","partition":0,"offset":12,"payload":"..."}
//
// with "payload_base64" in place of "payload" in base64 mode or when the
// payload is not valid UTF-8, and "task":"3" after "pipeline" for a task of
// a pipeline run as tasks (whose partitions are numbered from 0 in each
// task). The tasks of a pipeline, in one process or several, append to
// the same file: each line reaches it in one write, never split.
type deadWriter struct {
	file     bufferedFile
	pipeline string
	task     string
	base64   bool
	line     []byte // reused for every record
}

// WriteDead appends one line per record and flushes them to the file, so
// that the log is complete even if the process dies.
func (w *deadWriter) WriteDead(ctx context.Context, recs []plugins.DeadRecord) error {
	for i := range recs {
		w.line = w.appendRecord(w.line[:0], &recs[i])
		if w.file.w.Buffered() > 0 && w.file.w.Available() < len(w.line) {
			// Flush whole lines: bufio would split this one between two
			// writes, and another writer's line could come between them.
			if err := w.file.w.Flush(); err != nil {
				return fmt.Errorf("dead_letter \"file\": %w", w.file.named(err))
			}
		}
		if _, err := w.file.w.Write(w.line); err != nil {
			return fmt.Errorf("dead_letter \"file\": %w", w.file.named(err))
		}
	}
	if err := w.file.w.Flush(); err != nil {
		return fmt.Errorf("dead_letter \"file\": %w", w.file.named(err))
	}
	return nil
}

// appendRecord appends rec as one JSON object and a newline.
func (w *deadWriter) appendRecord(dst []byte, rec *plugins.DeadRecord) []byte {
	dst = append(dst, `{"time":"`...)
	dst = ndjson.AppendTimestamp(dst, rec.Time.UnixMilli())
	dst = append(dst, `","pipeline":`...)
	dst = ndjson.AppendString(dst, w.pipeline)
	if w.task != "" {
		dst = append(dst, `,"task":`...)
		dst = ndjson.AppendString(dst, w.task)
	}
	dst = append(dst, `,"stage":`...)
	dst = ndjson.AppendString(dst, rec.Stage)
	dst = append(dst, `,"reason":`...)
	dst = ndjson.AppendString(dst, rec.Reason)
	dst = append(dst, `,"partition":`...)
	dst = strconv.AppendInt(dst, int64(rec.Origin.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, rec.Origin.Offset, 10)
	if l := rec.Late; l != nil {
		dst = append(dst, `,"late":{"event_time":"`...)
		dst = ndjson.AppendTimestamp(dst, l.EventTime)
		dst = append(dst, `","window_start":"`...)
		dst = ndjson.AppendTimestamp(dst, l.WindowStart)
		dst = append(dst, `","window_end":"`...)
		dst = ndjson.AppendTimestamp(dst, l.WindowEnd)
		dst = append(dst, `","watermark":"`...)
		dst = ndjson.AppendTimestamp(dst, l.Watermark)
		dst = append(dst, `","late_by_ms":`...)
		dst = strconv.AppendInt(dst, l.LateBy, 10)
		dst = append(dst, `,"allowed_lateness_ms":`...)
		dst = strconv.AppendInt(dst, l.AllowedLateness, 10)
		dst = append(dst, '}')
	}
	if !w.base64 && utf8.Valid(rec.Payload) {
		dst = append(dst, `,"payload":`...)
		dst = ndjson.AppendBytes(dst, rec.Payload)
	} else {
		dst = append(dst, `,"payload_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, rec.Payload)
		dst = append(dst, '"')
	}
	return append(dst, '}', '\n')
}

// Close flushes the buffer, syncs the file to disk and closes it.
func (w *deadWriter) Close() error {
	if err := w.file.close(); err != nil {
		return fmt.Errorf("dead_letter \"file\": %w", err)
	}
	return nil
}
