package runner

import (
	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
)

// maxLoggedDead is how many rejected records are logged one by one when
// the pipeline has no dead letter; the rest are only counted.
const maxLoggedDead = 10

// deadQueue collects the dead records of the work at hand and writes them
// to the dead letter in stream order, or logs them when there is none.
type deadQueue struct {
	r      *run
	recs   []plugins.DeadRecord
	logged int64
}

// addPre queues a row rejected by a stateless stage.
func (q *deadQueue) addPre(env *envelope, rj rejected) {
	st := &q.r.plan.pre[rj.stage]
	in := env.raw
	if rj.stage > 0 {
		in = env.bufs[rj.stage-1]
	}
	q.add(st.title, rj.reason, rj.origin, q.payload(env, in, rj.row))
}

// addPost queues a row of the scheduler's current input that post stage
// s.cur rejected or found late.
func (q *deadQueue) addPost(s *scheduler, row int, reason string) {
	var origin record.Origin
	if row < len(s.curIn.Origins) {
		origin = s.curIn.Origins[row]
	}
	q.add(q.r.plan.post[s.cur].title, reason, origin, q.payload(s.curEnv, s.curIn, row))
}

// addLate queues row of the post stage at hand, which the stage found
// late, with where it missed its window when the operator says
// (plugins.LateDetailer).
func (q *deadQueue) addLate(s *scheduler, row int, reason string) {
	q.addPost(s, row, reason)
	if ld, ok := s.ops[s.cur].(plugins.LateDetailer); ok {
		l := ld.LastLate()
		q.recs[len(q.recs)-1].Late = &l
	}
}

// payload returns the original bytes of row of in: the source's bytes when
// the envelope still holds them, else the row as a JSON object. The bytes
// stay valid until the envelope is reused, after flush.
func (q *deadQueue) payload(env *envelope, in *record.Batch, row int) []byte {
	if env != nil {
		if i := sourceRow(env.raw, in, row); i >= 0 {
			if env.raw.Schema.Raw {
				return env.raw.Columns[0].StringBytes(i)
			}
			in, row = env.raw, i
		}
	}
	if in.Schema.Raw {
		return in.Columns[0].StringBytes(row)
	}
	return ndjson.AppendRow(nil, in, row)
}

// sourceRow finds the row of raw that row of in (a batch derived from it,
// whose rows keep their order) came from, by origin; -1 when unknown.
func sourceRow(raw, in *record.Batch, row int) int {
	if in == raw {
		return row
	}
	if row >= len(in.Origins) || len(raw.Origins) != raw.Rows {
		return -1
	}
	o := in.Origins[row]
	for i := row; i < raw.Rows; i++ {
		if raw.Origins[i] == o {
			return i
		}
	}
	for i := min(row, raw.Rows) - 1; i >= 0; i-- {
		if raw.Origins[i] == o {
			return i
		}
	}
	return -1
}

func (q *deadQueue) add(stage, reason string, origin record.Origin, payload []byte) {
	q.recs = append(q.recs, plugins.DeadRecord{
		Time: q.r.opts.Clock.Now(), Stage: stage, Reason: reason, Payload: payload, Origin: origin,
	})
}

// sinkRejects moves the rows the sinks refused since the last call
// (plugins.SinkRejecter) to the dead letter queue q, and flushes it.
func (r *run) sinkRejects(q *deadQueue) error {
	for i, w := range r.sinks {
		sr, ok := w.(plugins.SinkRejecter)
		if !ok {
			continue
		}
		recs := sr.Rejected()
		for _, d := range recs {
			if d.Time.IsZero() {
				d.Time = r.opts.Clock.Now()
			}
			d.Stage = r.plan.sinks[i].title
			q.recs = append(q.recs, d)
		}
		r.c.sinkRejected.Add(int64(len(recs)))
		r.live.sinks[i].rejected.Add(int64(len(recs)))
	}
	return q.flush()
}

// flush writes the queued records to the dead letter, or logs them.
func (q *deadQueue) flush() error {
	if len(q.recs) == 0 {
		return nil
	}
	defer func() { q.recs = q.recs[:0] }()
	if q.r.dead != nil {
		if err := q.r.dead.WriteDead(q.r.abortCtx, q.recs); err != nil {
			q.r.live.dead.errors.Add(1)
			return q.r.stageError("dead_letter", err)
		}
		q.r.live.dead.records.Add(int64(len(q.recs)))
		return nil
	}
	for _, d := range q.recs {
		q.logged++
		if q.logged > maxLoggedDead {
			continue
		}
		q.r.log.Warn("record rejected (no dead_letter block: logged and counted)",
			"stage", d.Stage, "reason", d.Reason, "partition", d.Origin.Partition, "offset", d.Origin.Offset)
		if q.logged == maxLoggedDead {
			q.r.log.Warn("further rejected records are only counted; add a dead_letter block to keep them")
		}
	}
	return nil
}
