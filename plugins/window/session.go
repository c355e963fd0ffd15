package window

import (
	"slices"

	"github.com/sluice-io/sluice/record"
)

// session is one open session window of a group key: [start, last+gap),
// where last is the largest event time added. Its event-time timer is
// (last+gap, id).
type session struct {
	id          uint64
	start, last int64
	group
}

// sessionList holds the open sessions of one group key, sorted by start.
// They never overlap: a record merges every session its [t, t+gap) overlaps,
// and the merged interval reaches no session the record's did not.
type sessionList struct {
	s []*session
}

// addSession adds row (event time t, group key in o.keyBuf) to the sessions
// of its key, merging those it bridges, and reports whether it was late: no
// open session absorbs it and t+gap <= W.
func (o *Operator) addSession(in *record.Batch, row int, t int64) (late bool) {
	gap := o.gap
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
		if t+gap <= o.valve.Watermark() {
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
		o.timers.Register(t+gap, s.id)
		o.add(s.states, in, row, t)
		s.dirty = true
		return false
	}
	s := l.s[lo]
	oldEnd := s.last + gap
	for _, m := range l.s[lo+1 : hi] {
		for i := range s.states {
			if err := s.states[i].Merge(&m.states[i]); err != nil {
				panic("window: merging sessions of one aggregate: " + err.Error()) // same templates: a bug
			}
		}
		s.last = max(s.last, m.last)
		o.timers.Delete(m.last+gap, m.id)
		delete(o.byID, m.id)
		o.open--
	}
	l.s = slices.Delete(l.s, lo+1, hi) // clears the freed tail
	s.start = min(s.start, t)
	s.last = max(s.last, t)
	if end := s.last + gap; end != oldEnd {
		o.timers.Delete(oldEnd, s.id)
		o.timers.Register(end, s.id)
	}
	o.add(s.states, in, row, t)
	s.dirty = true
	return false
}

// closeSessions emits and frees the sessions of the fired timers, by end,
// start, then group key.
func (o *Operator) closeSessions(out *record.Batch) {
	o.closing = o.closing[:0]
	for _, t := range o.fired {
		s := o.byID[t.Key]
		if s == nil {
			continue
		}
		delete(o.byID, s.id)
		o.closing = append(o.closing, closing{start: s.start, end: s.last + o.gap, g: &s.group})
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
	}
	n := len(o.closing)
	o.emitClosing(out, true)
	o.open -= n
	o.stats.Closed += int64(n)
}
