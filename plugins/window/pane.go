package window

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins/window/agg"
)

// group is the state of one (window, group key): one agg.State per
// aggregate, in declared order.
type group struct {
	key    string // encoded group key (see groupKey)
	states []agg.State
	dirty  bool // changed since its last row (emit = "every D")
}

// pane is one open tumbling or sliding window [start, end) with the state of
// each of its groups. Its event-time timer is (end, uint64(start)).
type pane struct {
	start, end int64
	groups     map[string]*group
	recent     [recentGroups]*group // groups found lately, by recentSlot of their key
}

// recentGroups is the number of slots of a pane's cache of groups: a window
// usually sees the same few groups over and over.
const recentGroups = 16

// recentSlot returns the slot of a group key in a pane's recent groups: a
// hash of its length and first and last eight bytes.
func recentSlot(key []byte) int {
	var a, b uint64
	if n := len(key); n >= 8 {
		a, b = binary.LittleEndian.Uint64(key), binary.LittleEndian.Uint64(key[n-8:])
	} else {
		for i, c := range key {
			a |= uint64(c) << (8 * i)
		}
	}
	h := (a ^ bits.RotateLeft64(b, 29) ^ uint64(len(key))) * 0x9e3779b97f4a7c15
	return int(h >> (64 - 4))
}

// group returns the group of o.keyBuf in p, made empty if p has none; slot
// is recentSlot of the key.
func (o *Operator) group(p *pane, slot int) *group {
	if g := p.recent[slot]; g != nil && g.key == string(o.keyBuf) {
		return g
	}
	g := p.groups[string(o.keyBuf)]
	if g == nil {
		g = &group{}
		o.initGroup(g)
		p.groups[g.key] = g
	}
	p.recent[slot] = g
	return g
}

// closing is a (window, group) about to be emitted, for sorting.
type closing struct {
	start, end int64
	g          *group
}

func compareClosing(a, b closing) int {
	if c := cmp.Compare(a.end, b.end); c != 0 {
		return c
	}
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	return strings.Compare(a.g.key, b.g.key)
}

// initGroup makes g the empty state of the group whose key is o.keyBuf.
func (o *Operator) initGroup(g *group) {
	g.key = string(o.keyBuf)
	g.states = make([]agg.State, len(o.templates))
	copy(g.states, o.templates)
	o.open++
}

// floorDiv is a / b rounded towards −∞ (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// addPanes adds row (event time t, group key in o.keyBuf) to every open
// tumbling or sliding window that contains t, and reports whether it was
// dropped from at least one closed window (end <= W).
func (o *Operator) addPanes(in *record.Batch, row int, t int64) (dropped bool) {
	w := o.valve.Watermark()
	last := floorDiv(t-o.offset, o.slide)*o.slide + o.offset // latest start <= t

	slot := recentSlot(o.keyBuf) // the key's slot in every pane's recent groups
	for s := last; s > t-o.size; s -= o.slide {
		end := s + o.size
		if end <= w {
			dropped = true
			continue
		}
		p := o.lastPane
		if p == nil || p.start != s {
			if p = o.panes[s]; p == nil {
				p = &pane{start: s, end: end, groups: make(map[string]*group)}
				o.panes[s] = p
				o.timers.Register(end, uint64(s))
			}
			o.lastPane = p
		}
		g := o.group(p, slot)
		o.add(g.states, in, row, t)
		g.dirty = true
	}
	return dropped
}

// closePanes emits and frees the windows of the fired timers. Timers fire by
// end; tumbling and sliding windows of one end share their start, so rows
// come out by end, start, then group key.
func (o *Operator) closePanes(out *record.Batch) {
	for _, t := range o.fired {
		p := o.panes[int64(t.Key)]
		if p == nil {
			continue
		}
		delete(o.panes, p.start)
		if o.lastPane == p {
			o.lastPane = nil
		}
		o.closing = o.closing[:0]
		for _, g := range p.groups {
			o.closing = append(o.closing, closing{start: p.start, end: p.end, g: g})
		}
		if k := o.w.Keep; k != nil && k.Aggregate >= 0 {
			o.keepRows()
		}
		o.emitClosing(out, true)
		o.open -= len(p.groups)
		o.stats.Closed += int64(len(p.groups))
	}
}

// emitClosing sorts o.closing and emits each entry.
func (o *Operator) emitClosing(out *record.Batch, final bool) {
	slices.SortFunc(o.closing, compareClosing)
	for i := range o.closing {
		c := &o.closing[i]
		o.emit(out, c.start, c.end, c.g.key, c.g.states, final)
		c.g.dirty = false
		c.g = nil
	}
}

// emitUpdates emits every open (window, group) changed since its last row,
// with final = false (emit = "every D").
func (o *Operator) emitUpdates(out *record.Batch) {
	o.closing = o.closing[:0]
	for _, p := range o.panes {
		for _, g := range p.groups {
			if g.dirty {
				o.closing = append(o.closing, closing{start: p.start, end: p.end, g: g})
			}
		}
	}
	for _, s := range o.byID {
		if s.dirty {
			o.closing = append(o.closing, closing{start: s.start, end: s.last + o.gap, g: &s.group})
		}
	}
	o.emitClosing(out, false)
}
