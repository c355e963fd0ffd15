package window

import "github.com/sluice-io/sluice/record"

// Probing the recent groups. A pane's recent groups (pane.recent) are found
// by a probe of the row's group key. When the window groups by one string
// field, the probe is the field's raw bytes, so that a row whose group is
// among the recent ones is added without encoding its key; the key is
// encoded (groupKey) only when the cache misses, to look the group up in
// the pane's map. Otherwise the probe is the encoded key itself. A null
// group value is never probed: it goes to the map.

// keyProbe is the group key of the row at hand.
type keyProbe struct {
	in     *record.Batch
	row    int
	probe  []byte // the bytes the recent groups are probed with
	keyed  bool   // o.keyBuf holds the row's encoded key
	bypass bool   // the row is not probed (a null raw value)
}

// rawProbeColumn returns the input column whose raw value is the probe, or
// -1 when the encoded key is: the window groups by one string column and
// does not merge partial rows.
func (o *Operator) rawProbeColumn(rec record.Schema, groupBy []int) int {
	if len(groupBy) != 1 || o.merging || rec.Columns[groupBy[0]].Type != record.ColumnString {
		return -1
	}
	return groupBy[0]
}

// rowKey makes row of in the row at hand: its probe, and its encoded key
// when the probe is that key.
func (o *Operator) rowKey(in *record.Batch, row int) {
	k := &o.kp
	k.in, k.row, k.keyed, k.bypass = in, row, false, false
	if c := o.bound.probeCol; c >= 0 {
		v := &in.Columns[c]
		if !v.IsNull(row) {
			k.probe = v.StringBytes(row)
			return
		}
		k.bypass = true
	}
	o.groupKey(in, row)
	k.keyed, k.probe = true, o.keyBuf
}

// encodeKey makes sure o.keyBuf holds the encoded key of the row at hand.
func (o *Operator) encodeKey() {
	if k := &o.kp; !k.keyed {
		o.groupKey(k.in, k.row)
		k.keyed = true
	}
}

// group returns the group of the row at hand in p, made empty if p has
// none; slot is recentSlot of the row's probe.
func (o *Operator) group(p *pane, slot int) *group {
	k := &o.kp
	other := (slot + 1) & (recentGroups - 1) // the slot's second way
	if !k.bypass {
		if g := p.recent[slot]; g != nil && o.probes(g) {
			return g
		}
		if g := p.recent[other]; g != nil && o.probes(g) {
			return g
		}
	}
	o.encodeKey()
	g := p.groups[string(o.keyBuf)]
	if g == nil {
		g = o.newGroup()
		o.initGroup(g)
		p.groups[g.key] = g
	}
	if !k.bypass {
		if p.recent[slot] != nil && p.recent[other] == nil {
			slot = other
		}
		p.recent[slot] = g
	}
	return g
}

// probes reports whether g is the group of the row at hand's probe: its
// key is the probe, or, for a raw string s, the key 1, s, 0, 0 of a string
// without zero bytes (a string with some is escaped into a longer key, and
// is found in the map instead).
func (o *Operator) probes(g *group) bool {
	pr := o.kp.probe
	if o.bound.probeCol < 0 {
		return g.key == string(pr)
	}
	n := len(pr)
	return len(g.key) == n+3 && g.key[1:1+n] == string(pr)
}
