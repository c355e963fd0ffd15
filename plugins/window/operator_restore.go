package window

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins/window/agg"
	"github.com/sluice-io/sluice/record"
)

// This file decodes the state frame of an operator snapshot (see
// Operator.Snapshot and Restore), in version 2 or 1.

// restored is the state decoded by Restore before it replaces the live one.
type restored struct {
	stats    OperatorStats
	nextID   uint64
	open     int
	timers   *eventtime.TimerService
	panes    map[int64]*pane
	sessions map[string]*sessionList
	byID     map[uint64]*session
	sent     map[uint64]*sentRow
}

// reader decodes varints, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (d *reader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *reader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated or bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that must leave at least min bytes per element.
func (d *reader) count(minEach int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/minEach) {
		d.fail("count %d exceeds the %d bytes left", n, len(d.b))
		return 0
	}
	return int(n)
}

func (d *reader) bytes() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *reader) byte() byte {
	if d.err == nil && len(d.b) == 0 {
		d.fail("truncated")
	}
	if d.err != nil {
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// decodeState reads the state frame of a snapshot of the given version.
func (o *Operator) decodeState(p []byte, version byte) (*restored, error) {
	d := &reader{b: p}
	if n := d.uvarint(); d.err == nil && n != uint64(len(o.templates)) {
		return nil, fmt.Errorf("snapshot has %d aggregates, the window %d", n, len(o.templates))
	}
	st := &restored{timers: eventtime.NewTimerService()}
	for _, x := range []*int64{&st.stats.Records, &st.stats.Late, &st.stats.Bad, &st.stats.Emitted, &st.stats.Closed} {
		*x = d.varint()
	}
	st.nextID = d.uvarint()
	v2 := version >= 2
	if v2 {
		if l := d.varint(); d.err == nil && l != o.lateness {
			return nil, fmt.Errorf("snapshot of a window with an allowed lateness of %d ms, this one %d ms", l, o.lateness)
		}
	}
	if o.w.Kind == Session {
		if err := o.decodeSessions(d, st, v2); err != nil {
			return nil, err
		}
	} else {
		o.decodePanes(d, st, v2)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the state", len(d.b))
	}
	return st, d.err
}

// decodeSessions reads the sessions of a state frame into st.
func (o *Operator) decodeSessions(d *reader, st *restored, v2 bool) error {
	st.sessions = make(map[string]*sessionList)
	st.byID = make(map[uint64]*session)
	st.sent = make(map[uint64]*sentRow)
	for range d.count(4) {
		var sent *sentRow
		s := &session{id: d.uvarint(), start: d.varint(), last: d.varint()}
		closed := v2 && d.byte() == 1
		if g := o.decodeGroup(d, v2); d.err == nil {
			s.group = *g
			s.closed = closed
		}
		if v2 && d.byte() == 1 {
			sent = o.decodeSent(d)
		}
		if d.err != nil {
			break
		}
		if !v2 {
			sent = o.inferSent(s)
		}
		if s.id >= st.nextID || st.byID[s.id] != nil || s.last < s.start || s.closed && o.lateness == 0 ||
			(s.rows > 0) != (sent != nil) || sent != nil && !o.keepsSent {
			return fmt.Errorf("inconsistent session %d", s.id)
		}
		if sent != nil {
			st.sent[s.id] = sent
		}
		st.byID[s.id] = s
		l := st.sessions[s.key]
		if l == nil {
			l = &sessionList{}
			st.sessions[s.key] = l
		}
		l.s = append(l.s, s)
		st.timers.Register(o.sessionTimer(s), s.id)
		st.open++
	}
	for _, l := range st.sessions {
		slices.SortFunc(l.s, func(a, b *session) int { return cmp.Compare(a.start, b.start) })
		for i := 1; i < len(l.s); i++ {
			if l.s[i].start < l.s[i-1].last+o.gap {
				return errors.New("overlapping sessions")
			}
		}
	}
	return nil
}

// inferSent returns the row a session of a version 1 snapshot last
// emitted: with emit = "every D", one unchanged since its last row emitted
// that row, which its state still holds; nil for the others.
func (o *Operator) inferSent(s *session) *sentRow {
	if s.rows == 0 || !o.keepsSent {
		s.rows = 0
		return nil
	}
	sent := &sentRow{end: s.last + o.gap}
	for i := range s.states {
		sent.vals = append(sent.vals, s.states[i].Result())
	}
	return sent
}

// decodeSent reads what appendSent wrote.
func (o *Operator) decodeSent(d *reader) *sentRow {
	sent := &sentRow{end: d.varint(), vals: make([]agg.Value, len(o.templates))}
	for i := range sent.vals {
		v := &sent.vals[i]
		v.Type = o.templates[i].ResultType()
		if v.Null = d.byte() == 1; v.Null {
			continue
		}
		switch v.Type {
		case record.ColumnFloat:
			if d.err == nil && len(d.b) < 8 {
				d.fail("truncated")
			}
			if d.err != nil {
				return nil
			}
			v.F = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
			d.b = d.b[8:]
		case record.ColumnString:
			v.S = string(d.bytes())
		case record.ColumnBool:
			v.B = d.byte() == 1
		default:
			v.I = d.varint()
		}
	}
	return sent
}

// decodePanes reads the tumbling or sliding windows of a state frame into
// st.
func (o *Operator) decodePanes(d *reader, st *restored, v2 bool) {
	st.panes = make(map[int64]*pane)
	for range d.count(4) {
		pn := &pane{start: d.varint(), end: d.varint(), groups: make(map[string]*group)}
		if v2 {
			pn.closed = d.byte() == 1
		}
		for range d.count(2) {
			g := o.decodeGroup(d, v2)
			if d.err != nil {
				break
			}
			pn.groups[g.key] = g
			st.open++
		}
		if d.err != nil {
			break
		}
		if pn.end != pn.start+o.size || st.panes[pn.start] != nil || pn.closed && o.lateness == 0 {
			d.fail("inconsistent window [%d, %d)", pn.start, pn.end)
			return
		}
		st.panes[pn.start] = pn
		if pn.closed {
			st.timers.Register(pn.end+o.lateness, uint64(pn.start))
		} else {
			st.timers.Register(pn.end, uint64(pn.start))
		}
	}
}

// decodeGroup reads one group written by appendGroup (v2: with its row
// count) and checks its states against the declaration. A group of a
// version 1 snapshot unchanged since its last row (emit = "every D") gets
// one row.
func (o *Operator) decodeGroup(d *reader, v2 bool) *group {
	g := &group{key: string(d.bytes())}
	if d.err == nil && !o.validKey(g.key) {
		d.fail("bad group key %q", g.key)
	}
	g.dirty = d.byte() == 1
	if v2 {
		if g.rows = d.varint(); g.rows < 0 {
			d.fail("negative row count %d", g.rows)
		}
	} else if !g.dirty && o.every != nil {
		g.rows = 1
	}
	g.states = make([]agg.State, len(o.templates))
	for i := range g.states {
		b := d.bytes()
		if d.err != nil {
			return nil
		}
		if err := g.states[i].UnmarshalBinary(b); err != nil {
			d.fail("aggregate %s: %v", o.stateName(i), err)
			return nil
		}
		t := &o.templates[i]
		if s := &g.states[i]; s.Func() != t.Func() || s.ArgType() != t.ArgType() || s.ByType() != t.ByType() || s.Quantile() != t.Quantile() {
			d.fail("aggregate %s: snapshot of another aggregate", o.stateName(i))
			return nil
		}
		if o.args[i].row && !o.validRecords(&g.states[i]) {
			d.fail("keep: bad kept record")
			return nil
		}
	}
	return g
}
