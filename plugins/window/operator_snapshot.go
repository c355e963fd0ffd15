package window

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"slices"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins/window/agg"
)

// ErrBadSnapshot is wrapped by the errors Restore returns for input that is
// not an operator snapshot this build can read, or that belongs to another
// window declaration (kind, aggregates, emit mode).
var ErrBadSnapshot = errors.New("bad window operator snapshot")

const (
	snapshotMagic   = "SLWO"
	snapshotVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot writes the operator's whole state to w: its header (magic
// "SLWO", version 1, kind, emit mode), the watermark valve and, with
// emit = "every D", the trigger schedule (eventtime frames), then one frame
// of counters and open windows — each (window, group) with its encoded key,
// its changed flag and its aggregate states (agg snapshots) — as a length,
// a CRC-32C and varints. Timers are not written: they follow from the open
// windows. Windows and sessions are written in sorted order, the groups of
// a window in map order, so the bytes of equal states may differ. It does
// not change the operator.
func (o *Operator) Snapshot(w io.Writer) error {
	hdr := []byte(snapshotMagic + "\x01\x00\x00")
	hdr[5] = kindByte(o.w.Kind)
	if o.every != nil {
		hdr[6] = 1
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if err := o.valve.Snapshot(w); err != nil {
		return err
	}
	if o.every != nil {
		if err := o.every.Snapshot(w); err != nil {
			return err
		}
	}
	p := binary.AppendUvarint(nil, uint64(len(o.templates)))
	for _, x := range []int64{o.stats.Records, o.stats.Late, o.stats.Bad, o.stats.Emitted, o.stats.Closed} {
		p = binary.AppendVarint(p, x)
	}
	p = binary.AppendUvarint(p, o.nextID)
	var err error
	var scratch []byte // one aggregate state at a time
	if o.w.Kind == Session {
		p = binary.AppendUvarint(p, uint64(len(o.byID)))
		for _, id := range slices.Sorted(maps.Keys(o.byID)) {
			s := o.byID[id]
			p = binary.AppendUvarint(p, s.id)
			p = binary.AppendVarint(p, s.start)
			p = binary.AppendVarint(p, s.last)
			if p, err = appendGroup(p, &s.group, &scratch); err != nil {
				return err
			}
		}
	} else {
		p = binary.AppendUvarint(p, uint64(len(o.panes)))
		for _, start := range slices.Sorted(maps.Keys(o.panes)) {
			pn := o.panes[start]
			p = binary.AppendVarint(p, pn.start)
			p = binary.AppendVarint(p, pn.end)
			p = binary.AppendUvarint(p, uint64(len(pn.groups)))
			// Groups in map order: sorting 100,000 keys would double the
			// time a checkpoint takes, and Restore does not need an order.
			for _, g := range pn.groups {
				if p, err = appendGroup(p, g, &scratch); err != nil {
					return err
				}
			}
		}
	}
	frame := binary.LittleEndian.AppendUint64(nil, uint64(len(p)))
	frame = binary.LittleEndian.AppendUint32(frame, crc32.Checksum(p, castagnoli))
	if _, err := w.Write(append(frame, p...)); err != nil {
		return err
	}
	return nil
}

func kindByte(k Kind) byte {
	switch k {
	case Tumbling:
		return 1
	case Sliding:
		return 2
	case Session:
		return 3
	}
	return 0
}

func appendGroup(p []byte, g *group, scratch *[]byte) ([]byte, error) {
	p = binary.AppendUvarint(p, uint64(len(g.key)))
	p = append(p, g.key...)
	if g.dirty {
		p = append(p, 1)
	} else {
		p = append(p, 0)
	}
	for i := range g.states {
		b, err := g.states[i].AppendBinary((*scratch)[:0])
		if err != nil {
			return nil, err
		}
		*scratch = b
		p = binary.AppendUvarint(p, uint64(len(b)))
		p = append(p, b...)
	}
	return p, nil
}

// Restore replaces the operator's state with one written by Snapshot from an
// operator of the same Window declaration (kind, aggregates and emit mode
// must match). It reads exactly what Snapshot wrote. On error the operator
// is unchanged; bad input yields an error wrapping ErrBadSnapshot and never
// a panic. Restore does not reset idleness clocks: after a restart in
// another process call ResetIdle.
func (o *Operator) Restore(r io.Reader) error {
	hdr := make([]byte, 7)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return fmt.Errorf("%w: header: %v", ErrBadSnapshot, err)
	}
	switch {
	case string(hdr[:4]) != snapshotMagic:
		return fmt.Errorf("%w: not an operator snapshot", ErrBadSnapshot)
	case hdr[4] != snapshotVersion:
		return fmt.Errorf("%w: unsupported version %d", ErrBadSnapshot, hdr[4])
	case hdr[5] != kindByte(o.w.Kind):
		return fmt.Errorf("%w: snapshot of another window kind", ErrBadSnapshot)
	case (hdr[6] == 1) != (o.every != nil):
		return fmt.Errorf("%w: snapshot of another emit mode", ErrBadSnapshot)
	}
	valve := *o.valve
	if err := valve.Restore(r); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	var every eventtime.Every
	if o.every != nil {
		every = *o.every
		if err := every.Restore(r); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
		}
	}
	frame := make([]byte, 12)
	if _, err := io.ReadFull(r, frame); err != nil {
		return fmt.Errorf("%w: state frame: %v", ErrBadSnapshot, err)
	}
	n := binary.LittleEndian.Uint64(frame)
	if n > 1<<40 {
		return fmt.Errorf("%w: state frame of %d bytes", ErrBadSnapshot, n)
	}
	var buf bytes.Buffer
	if m, err := io.CopyN(&buf, r, int64(n)); err != nil {
		return fmt.Errorf("%w: state frame truncated at %d of %d bytes", ErrBadSnapshot, m, n)
	}
	p := buf.Bytes()
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(frame[8:]) {
		return fmt.Errorf("%w: state frame checksum mismatch", ErrBadSnapshot)
	}
	st, err := o.decodeState(p)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	*o.valve = valve
	if o.every != nil {
		*o.every = every
	}
	o.stats, o.nextID, o.open = st.stats, st.nextID, st.open
	o.timers = st.timers
	o.panes, o.sessions, o.byID = st.panes, st.sessions, st.byID
	o.lastPane = nil
	return nil
}

// restored is the state decoded by Restore before it replaces the live one.
type restored struct {
	stats    OperatorStats
	nextID   uint64
	open     int
	timers   *eventtime.TimerService
	panes    map[int64]*pane
	sessions map[string]*sessionList
	byID     map[uint64]*session
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

func (o *Operator) decodeState(p []byte) (*restored, error) {
	d := &reader{b: p}
	if n := d.uvarint(); d.err == nil && n != uint64(len(o.templates)) {
		return nil, fmt.Errorf("snapshot has %d aggregates, the window %d", n, len(o.templates))
	}
	st := &restored{timers: eventtime.NewTimerService()}
	for _, x := range []*int64{&st.stats.Records, &st.stats.Late, &st.stats.Bad, &st.stats.Emitted, &st.stats.Closed} {
		*x = d.varint()
	}
	st.nextID = d.uvarint()
	if o.w.Kind == Session {
		st.sessions = make(map[string]*sessionList)
		st.byID = make(map[uint64]*session)
		for range d.count(4) {
			s := &session{id: d.uvarint(), start: d.varint(), last: d.varint()}
			if g := o.decodeGroup(d); d.err == nil {
				s.group = *g
			}
			if d.err != nil {
				break
			}
			if s.id >= st.nextID || st.byID[s.id] != nil || s.last < s.start {
				return nil, fmt.Errorf("inconsistent session %d", s.id)
			}
			st.byID[s.id] = s
			l := st.sessions[s.key]
			if l == nil {
				l = &sessionList{}
				st.sessions[s.key] = l
			}
			l.s = append(l.s, s)
			st.timers.Register(s.last+o.gap, s.id)
			st.open++
		}
		for _, l := range st.sessions {
			slices.SortFunc(l.s, func(a, b *session) int { return cmp.Compare(a.start, b.start) })
			for i := 1; i < len(l.s); i++ {
				if l.s[i].start < l.s[i-1].last+o.gap {
					return nil, errors.New("overlapping sessions")
				}
			}
		}
	} else {
		st.panes = make(map[int64]*pane)
		for range d.count(4) {
			pn := &pane{start: d.varint(), end: d.varint(), groups: make(map[string]*group)}
			for range d.count(2) {
				g := o.decodeGroup(d)
				if d.err != nil {
					break
				}
				pn.groups[g.key] = g
				st.open++
			}
			if d.err != nil {
				break
			}
			if pn.end != pn.start+o.size || st.panes[pn.start] != nil {
				return nil, fmt.Errorf("inconsistent window [%d, %d)", pn.start, pn.end)
			}
			st.panes[pn.start] = pn
			st.timers.Register(pn.end, uint64(pn.start))
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the state", len(d.b))
	}
	return st, d.err
}

// decodeGroup reads one group written by appendGroup and checks its states
// against the declaration.
func (o *Operator) decodeGroup(d *reader) *group {
	g := &group{key: string(d.bytes())}
	if d.err == nil && !o.validKey(g.key) {
		d.fail("bad group key %q", g.key)
	}
	g.dirty = d.byte() == 1
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

// validKey reports whether key is a group key encoding (see groupKey) of
// the window's group_by columns.
func (o *Operator) validKey(k string) bool {
	types := make([]record.ColumnType, len(o.w.GroupBy))
	for i, g := range o.w.GroupBy {
		col, _ := o.w.Out.Lookup(g)
		types[i] = col.Type
	}
	return validEncoding(k, types)
}

// validRecords reports whether every value a window keeping records holds
// in s is an encoded record of its output fields (see appendRow).
func (o *Operator) validRecords(s *agg.State) bool {
	var types []record.ColumnType
	for _, c := range o.w.Out.Columns[2:] {
		types = append(types, c.Type)
	}
	for _, r := range s.Ties() {
		if !validEncoding(r, types) {
			return false
		}
	}
	return true
}

// validEncoding reports whether k encodes one value of each of types, in
// order, as groupKey does.
func validEncoding(k string, types []record.ColumnType) bool {
	for _, typ := range types {
		if len(k) == 0 || k[0] > 1 {
			return false
		}
		null := k[0] == 0
		k = k[1:]
		if null {
			continue
		}
		switch typ {
		case record.ColumnInt, record.ColumnTimestamp, record.ColumnFloat:
			if len(k) < 8 {
				return false
			}
			k = k[8:]
		case record.ColumnBool:
			if len(k) < 1 || k[0] > 1 {
				return false
			}
			k = k[1:]
		case record.ColumnString:
			i := 0
			for ; ; i++ {
				if i+1 >= len(k) {
					return false
				}
				if k[i] == 0 {
					if k[i+1] == 0 {
						break
					}
					if k[i+1] != 0xFF {
						return false
					}
					i++
				}
			}
			k = k[i+2:]
		default:
			return false
		}
	}
	return len(k) == 0
}

// stateName names state i in messages: its aggregate, or keep.
func (o *Operator) stateName(i int) string {
	if o.args[i].row {
		return "of keep"
	}
	return fmt.Sprintf("%q", o.w.Aggregates[i].Name)
}

// ResetIdle restarts every partition's idleness clock at processing time
// now (see eventtime.Valve.ResetIdle). Call it after restoring a snapshot
// written by an earlier process, so that the downtime does not make every
// partition idle at once.
func (o *Operator) ResetIdle(now int64) { o.valve.ResetIdle(now) }
