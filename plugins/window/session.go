package window

import (
	"slices"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/window/agg"
)

// session is one session window of a group key: [start, last+gap), where
// last is the largest event time added. While open its event-time timer is
// (last+gap, id); once closed, with allowed lateness, it is kept for late
// records until its timer (last+gap+lateness, id) frees it. Its group's
// closed marks it emitted and kept, rows counts the rows emitted for
// (start, key); Operator.sent holds the last of them.
type session struct {
	id          uint64
	start, last int64
	group
}

// sentRow is the row a session last emitted: what a Delete withdrawing it
// carries.
type sentRow struct {
	end  int64
	vals []agg.Value
}

// sessionList holds the sessions of one group key that are held (open, or
// closed and kept), sorted by start. They never overlap: a record merges
// every session its [t, t+gap) overlaps, and the merged interval reaches no
// session the record's did not.
type sessionList struct {
	s []*session
}

// addSession adds row (event time t, group key in o.keyBuf) to the sessions
// of its key, merging those it bridges, and reports whether it was late: no
// held session absorbs it and t+gap+lateness <= W. A session whose start
// changes (a merge, or a record before its start) withdraws the row it
// emitted with a Delete. A session that is closed after the row (allowed
// lateness) emits its row at once: an Update when a row with its start was
// emitted, else an Insert.
func (o *Operator) addSession(in *record.Batch, row int, t int64, out *record.Batch) (late bool) {
	gap, w := o.gap, o.valve.Watermark()
	l := o.sessions[string(o.keyBuf)]
	lo, hi := 0, 0
	if l != nil {
		for lo < len(l.s) && l.s[lo].last+gap <= t {
			lo++
		}
		for hi = lo; hi < len(l.s) && l.s[hi].start < t+gap; hi++ {
		}
	}
	if lo == hi {
		if t+gap+o.lateness <= w {
			return true
		}
		s := &session{id: o.nextID, start: t, last: t}
		o.initGroup(&s.group)
		o.nextID++
		if l == nil {
			l = &sessionList{}
			o.sessions[s.key] = l
		}
		l.s = slices.Insert(l.s, lo, s)
		o.byID[s.id] = s
		o.add(s.states, in, row, t)
		o.placeSession(s, w, out)
		return false
	}
	start := min(l.s[lo].start, t)
	for _, m := range l.s[lo:hi] {
		if m.rows > 0 && m.start != start {
			o.withdraw(out, m)
		}
	}
	s := l.s[lo]
	oldTimer := o.sessionTimer(s)
	for _, m := range l.s[lo+1 : hi] {
		delete(o.sent, m.id)
		for i := range s.states {
			if err := s.states[i].Merge(&m.states[i]); err != nil {
				panic("window: merging sessions of one aggregate: " + err.Error()) // same templates: a bug
			}
		}
		s.last = max(s.last, m.last)
		o.timers.Delete(o.sessionTimer(m), m.id)
		delete(o.byID, m.id)
		o.open--
	}
	l.s = slices.Delete(l.s, lo+1, hi) // clears the freed tail
	s.start = start
	s.last = max(s.last, t)
	o.add(s.states, in, row, t)
	s.closed = s.last+gap <= w // a closed session the record extended past w opens again
	if ts := o.sessionTimer(s); ts != oldTimer {
		o.timers.Delete(oldTimer, s.id)
		o.timers.Register(ts, s.id)
	}
	o.changedSession(s, out)
	return false
}

// placeSession registers the timer of s, just made, at watermark w: it is
// open until w reaches its end; a session already ended (allowed lateness)
// is closed, kept, and emits its row at once.
func (o *Operator) placeSession(s *session, w int64, out *record.Batch) {
	s.closed = s.last+o.gap <= w
	o.timers.Register(o.sessionTimer(s), s.id)
	o.changedSession(s, out)
}

// changedSession marks an open session changed, or emits the row of a
// closed one at once.
func (o *Operator) changedSession(s *session, out *record.Batch) {
	if !s.closed {
		s.dirty = true
		return
	}
	o.closing = append(o.closing[:0], closing{start: s.start, end: s.last + o.gap, g: &s.group, s: s})
	o.emitClosing(out, true)
}

// sessionTimer returns the time of the timer of s: its end while open, its
// end plus the allowed lateness once closed.
func (o *Operator) sessionTimer(s *session) int64 {
	if s.closed {
		return s.last + o.gap + o.lateness
	}
	return s.last + o.gap
}

// withdraw emits a Delete of the row s last emitted, whose key (its start
// and group) is about to go: s starts over as a key without rows. A Delete
// is its key's last row: final = true.
func (o *Operator) withdraw(out *record.Batch, s *session) {
	sent := o.sent[s.id]
	o.appendHead(out, s.start, sent.end, s.key)
	c := 2 + len(o.w.GroupBy)
	for i := range sent.vals {
		appendValue(&out.Columns[c+i], sent.vals[i])
	}
	o.appendTail(out, c+len(sent.vals), record.Delete, s.rows, true)
	s.rows = 0
	delete(o.sent, s.id)
}

// closeSessions handles the sessions of the fired timers at watermark w:
// open ones emit their rows, by end, start, then group key, and are freed
// or, with allowed lateness, closed and kept until w passes end +
// lateness; a kept session's timer frees it.
func (o *Operator) closeSessions(w int64, out *record.Batch) {
	o.closing = o.closing[:0]
	for _, t := range o.fired {
		s := o.byID[t.Key]
		if s == nil {
			continue
		}
		if s.closed {
			o.freeSession(s)
			continue
		}
		o.closing = append(o.closing, closing{start: s.start, end: s.last + o.gap, g: &s.group, s: s})
	}
	n := len(o.closing)
	o.ended = o.ended[:0]
	for _, c := range o.closing {
		o.ended = append(o.ended, c.s)
	}
	o.emitClosing(out, true)
	o.stats.Closed += int64(n)
	for i, s := range o.ended {
		o.ended[i] = nil
		if o.lateness == 0 || s.last+o.gap+o.lateness <= w {
			o.freeSession(s)
			continue
		}
		s.closed = true
		o.timers.Register(o.sessionTimer(s), s.id)
	}
}

// freeSession drops a session.
func (o *Operator) freeSession(s *session) {
	delete(o.byID, s.id)
	delete(o.sent, s.id)
	l := o.sessions[s.key]
	for i, x := range l.s {
		if x == s {
			l.s = slices.Delete(l.s, i, i+1)
			break
		}
	}
	if len(l.s) == 0 {
		delete(o.sessions, s.key)
	}
	o.open--
}
