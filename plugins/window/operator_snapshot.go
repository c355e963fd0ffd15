package window

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"slices"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/eventtime"
	"github.com/sluice-io/sluice/plugins/window/agg"
)

// ErrBadSnapshot is wrapped by the errors Restore returns for input that is
// not an operator snapshot this build can read, or that belongs to another
// window declaration (kind, aggregates, emit mode).
var ErrBadSnapshot = errors.New("bad window operator snapshot")

// Snapshot format versions: 1 before allowed lateness and row kinds; 2
// adds the allowed lateness, each window's closed flag, each group's row
// count (its next revision) and the row a session last emitted.
const (
	snapshotMagic   = "SLWO"
	snapshotVersion = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot writes the operator's whole state to w: its header (magic
// "SLWO", version 2, kind, emit mode), the watermark valve and, with
// emit = "every D", the trigger schedule (eventtime frames), then one frame
// of counters, the allowed lateness and held windows — each with its
// closed flag, each (window, group) with its encoded key, its changed flag,
// its row count and its aggregate states (agg snapshots), and a session
// with the row it last emitted — as a length, a CRC-32C and varints.
// Timers are not written: they follow from the windows. Windows and
// sessions are written in sorted order, the groups of a window in map
// order, so the bytes of equal states may differ. It does not change the
// operator.
func (o *Operator) Snapshot(w io.Writer) error {
	hdr := []byte(snapshotMagic + "\x00\x00\x00")
	hdr[4] = snapshotVersion
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
	p = binary.AppendVarint(p, o.lateness)
	var err error
	var scratch []byte // one aggregate state at a time
	if o.w.Kind == Session {
		p = binary.AppendUvarint(p, uint64(len(o.byID)))
		for _, id := range slices.Sorted(maps.Keys(o.byID)) {
			s := o.byID[id]
			p = binary.AppendUvarint(p, s.id)
			p = binary.AppendVarint(p, s.start)
			p = binary.AppendVarint(p, s.last)
			p = appendBool(p, s.closed)
			if p, err = appendGroup(p, &s.group, &scratch); err != nil {
				return err
			}
			sent := o.sent[s.id]
			p = appendBool(p, sent != nil)
			if sent != nil {
				p = appendSent(p, sent)
			}
		}
	} else {
		p = binary.AppendUvarint(p, uint64(len(o.panes)))
		for _, start := range slices.Sorted(maps.Keys(o.panes)) {
			pn := o.panes[start]
			p = binary.AppendVarint(p, pn.start)
			p = binary.AppendVarint(p, pn.end)
			p = appendBool(p, pn.closed)
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

func appendBool(p []byte, b bool) []byte {
	if b {
		return append(p, 1)
	}
	return append(p, 0)
}

func appendGroup(p []byte, g *group, scratch *[]byte) ([]byte, error) {
	p = binary.AppendUvarint(p, uint64(len(g.key)))
	p = append(p, g.key...)
	p = appendBool(p, g.dirty)
	p = binary.AppendVarint(p, g.rows)
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

// appendSent appends the row a session last emitted: its end, then each
// aggregate's value (a null byte, then the value by its type).
func appendSent(p []byte, sent *sentRow) []byte {
	p = binary.AppendVarint(p, sent.end)
	for _, v := range sent.vals {
		p = appendBool(p, v.Null)
		if v.Null {
			continue
		}
		switch v.Type {
		case record.ColumnFloat:
			p = binary.LittleEndian.AppendUint64(p, math.Float64bits(v.F))
		case record.ColumnString:
			p = binary.AppendUvarint(p, uint64(len(v.S)))
			p = append(p, v.S...)
		case record.ColumnBool:
			p = appendBool(p, v.B)
		default:
			p = binary.AppendVarint(p, v.I)
		}
	}
	return p
}

// Restore replaces the operator's state with one written by Snapshot from an
// operator of the same Window declaration (kind, aggregates, emit mode and
// allowed lateness must match). It reads exactly what Snapshot wrote, in
// this version or version 1: a version 1 snapshot has no closed windows,
// and with emit = "every D" a group unchanged since its last row is taken
// as having emitted one (its next row is an Update), a changed one as not
// (an Insert). On error the operator is unchanged; bad input yields an
// error wrapping ErrBadSnapshot and never a panic. Restore does not reset
// idleness clocks: after a restart in another process call ResetIdle.
func (o *Operator) Restore(r io.Reader) error {
	hdr := make([]byte, 7)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return fmt.Errorf("%w: header: %v", ErrBadSnapshot, err)
	}
	switch {
	case string(hdr[:4]) != snapshotMagic:
		return fmt.Errorf("%w: not an operator snapshot", ErrBadSnapshot)
	case hdr[4] != 1 && hdr[4] != snapshotVersion:
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
	st, err := o.decodeState(p, hdr[4])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	*o.valve = valve
	if o.every != nil {
		*o.every = every
	}
	o.stats, o.nextID, o.open = st.stats, st.nextID, st.open
	o.timers = st.timers
	o.panes, o.sessions, o.byID, o.sent = st.panes, st.sessions, st.byID, st.sent
	o.lastPane = nil
	return nil
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
