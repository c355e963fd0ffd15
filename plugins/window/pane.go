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
	rows   int64 // rows emitted for (window, key): the next row's revision; an Insert when 0
	dirty  bool  // changed since its last row (emit = "every D")
	closed bool  // a session's: emitted, kept for late records (a pane's groups have pane.closed)
}

// pane is one tumbling or sliding window [start, end) with the state of
// each of its groups. While open its event-time timer is (end,
// uint64(start)); once closed, with allowed lateness, it is kept for late
// records until its timer (end + lateness, uint64(start)) frees it.
type pane struct {
	start, end int64
	closed     bool // emitted; kept for late records
	groups     map[string]*group
	recent     [recentGroups]*group // groups found lately, by recentSlot of their key
}

// recentGroups is the number of slots of a pane's cache of groups: a window
// usually sees the same few groups over and over. A key may sit in its
// slot or the next one (two ways), so that two keys of one slot do not
// evict each other.
const (
	recentGroups = 64
	recentBits   = 6 // log2(recentGroups)
)

// recentSlot returns the slot of a group key in a pane's recent groups: a
// hash of its length and first and last eight bytes.
func recentSlot(key []byte) int {
	var a, b uint64
	if n := len(key); n >= 8 {
		a, b = binary.LittleEndian.Uint64(key), binary.LittleEndian.Uint64(key[n-8:])
	} else if cap(key) >= 8 { // a raw probe inside a batch: load a word, keep its first n bytes
		a = binary.LittleEndian.Uint64(key[:8]) & (1<<(8*n) - 1)
	} else {
		for i, c := range key {
			a |= uint64(c) << (8 * i)
		}
	}
	h := (a ^ bits.RotateLeft64(b, 29) ^ uint64(len(key))) * 0x9e3779b97f4a7c15
	return int(h >> (64 - recentBits))
}

// closing is a (window, group) about to be emitted, for sorting; s is its
// session, nil for a pane's group.
type closing struct {
	start, end int64
	g          *group
	s          *session
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

// initGroup makes g the empty state of the group whose key is o.keyBuf,
// reusing g's states when it has them (a group of a freed window).
func (o *Operator) initGroup(g *group) {
	g.key = string(o.keyBuf)
	if len(g.states) != len(o.templates) {
		g.states = make([]agg.State, len(o.templates))
	}
	copy(g.states, o.templates)
	o.open++
}

// maxFreeGroups bounds the groups of freed windows kept for new ones.
const maxFreeGroups = 4096

// newGroup returns a group to initGroup: one of a freed window, or a new
// one. A sliding window makes as many groups as it frees.
func (o *Operator) newGroup() *group {
	n := len(o.freeGroups)
	if n == 0 {
		return &group{}
	}
	g := o.freeGroups[n-1]
	o.freeGroups[n-1] = nil
	o.freeGroups = o.freeGroups[:n-1]
	return g
}

// floorDiv is a / b rounded towards −∞ (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// addPanes adds row (event time t, the row at hand of o.kp) to every
// tumbling or sliding window that contains t and is held, and reports
// whether it was dropped from at least one window freed already (end +
// allowed lateness <= W), then missed is the latest-ending such window's
// start. A row added to a closed window (allowed lateness) emits its
// window's row again at once, an Update; to a window that was closed before
// it had any row for the key, an Insert.
func (o *Operator) addPanes(in *record.Batch, row int, t int64, out *record.Batch) (dropped bool, missed int64) {
	w := o.valve.Watermark()
	var last int64 // latest start <= t
	if p := o.lastPane; p != nil && o.slide == o.size && t >= p.start && t < p.end {
		last = p.start // tumbling, in the window of the last row: no division
	} else {
		last = floorDiv(t-o.offset, o.slide)*o.slide + o.offset
	}

	slot := recentSlot(o.kp.probe) // the key's slot in every pane's recent groups
	changed := false               // a closed window took the row
	for s := last; s > t-o.size; s -= o.slide {
		end := s + o.size
		if end+o.lateness <= w {
			if !dropped {
				dropped, missed = true, s
			}
			continue
		}
		p := o.lastPane
		if p == nil || p.start != s {
			if p = o.panes[s]; p == nil {
				p = o.newPane(s, end, w)
			}
			o.lastPane = p
		}
		g := o.group(p, slot)
		o.add(g.states, in, row, t)
		if !p.closed {
			g.dirty = true
			continue
		}
		if !changed {
			changed = true
			o.closing = o.closing[:0]
		}
		o.closing = append(o.closing, closing{start: p.start, end: p.end, g: g})
	}
	if changed {
		o.emitClosing(out, true)
	}
	return dropped, missed
}

// newPane makes the window [start, end) at watermark w: open, or already
// closed (a late record within the allowed lateness of a window that had
// no row), and registers its timer.
func (o *Operator) newPane(start, end, w int64) *pane {
	// Sized for as many groups as the last window freed had: the next
	// window usually has about as many, and the map need not grow.
	p := &pane{start: start, end: end, groups: make(map[string]*group, o.paneGroups)}
	o.panes[start] = p
	if end <= w {
		p.closed = true
		o.timers.Register(end+o.lateness, uint64(start))
	} else {
		o.timers.Register(end, uint64(start))
	}
	return p
}

// closePanes handles the windows of the fired timers at watermark w. Timers
// fire by end; tumbling and sliding windows of one end share their start,
// so rows come out by end, start, then group key. An open window emits its
// rows and is freed, or, with allowed lateness, closed and kept until w
// passes end + lateness; a kept window's timer frees it.
func (o *Operator) closePanes(w int64, out *record.Batch) {
	for _, t := range o.fired {
		p := o.panes[int64(t.Key)]
		if p == nil {
			continue
		}
		if p.closed {
			o.freePane(p)
			continue
		}
		o.closing = o.closing[:0]
		for _, g := range p.groups {
			o.closing = append(o.closing, closing{start: p.start, end: p.end, g: g})
		}
		if k := o.w.Keep; k != nil && k.Aggregate >= 0 {
			o.keepRows()
		}
		o.emitClosing(out, true)
		o.stats.Closed += int64(len(p.groups))
		if o.lateness == 0 || p.end+o.lateness <= w {
			o.freePane(p)
			continue
		}
		p.closed = true
		o.timers.Register(p.end+o.lateness, uint64(p.start))
	}
}

// freePane drops a window and its groups.
func (o *Operator) freePane(p *pane) {
	delete(o.panes, p.start)
	if o.lastPane == p {
		o.lastPane = nil
	}
	o.open -= len(p.groups)
	o.paneGroups = len(p.groups)
	for _, g := range p.groups { // nothing refers to them any more
		if len(o.freeGroups) == maxFreeGroups {
			break
		}
		*g = group{states: g.states}
		o.freeGroups = append(o.freeGroups, g)
	}
}

// emitClosing sorts o.closing and emits each entry.
func (o *Operator) emitClosing(out *record.Batch, final bool) {
	slices.SortFunc(o.closing, compareClosing)
	for i := range o.closing {
		c := &o.closing[i]
		o.emitGroup(out, c, final)
		c.g.dirty = false
		c.g, c.s = nil, nil
	}
}

// emitUpdates emits every open (window, group) changed since its last row,
// with final = false (emit = "every D"). Closed windows kept for late
// records are emitted as those arrive, never here.
func (o *Operator) emitUpdates(out *record.Batch) {
	o.closing = o.closing[:0]
	for _, p := range o.panes {
		if p.closed {
			continue
		}
		for _, g := range p.groups {
			if g.dirty {
				o.closing = append(o.closing, closing{start: p.start, end: p.end, g: g})
			}
		}
	}
	for _, s := range o.byID {
		if s.dirty && !s.closed {
			o.closing = append(o.closing, closing{start: s.start, end: s.last + o.gap, g: &s.group, s: s})
		}
	}
	o.emitClosing(out, false)
}
