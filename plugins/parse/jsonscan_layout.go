package parse

import (
	"slices"

	"github.com/sluice-io/sluice/record"
)

// Layouts. The messages of a stream are usually written by one program, so
// most have the same keys in the same order, without white space:
// {"user_id":81,"action":"view","ts":1714564795905}. After a message that
// the scanner read, declared keys only, each once, each read into one
// string, int or numeric timestamp field, the scanner keeps its keys as a
// layout and tries the next message against it first: each key compared as
// one word, each value read by its field's type and appended to its column
// at once. Anything else (white space, another key, an escape, a byte
// beyond ASCII in a string, null, a fraction, a long number) and the message
// is read by the general scanner, which gives the same row or the reason it
// is bad. A message that matches the layout is one the general scanner reads
// to the same row: every byte of it is checked the same way.
//
// When the general scanner then finds the same layout (the stream has white
// space or escapes, say), the layout is not tried for the next layoutRest
// messages, so such a stream pays for a failed attempt once in a while only.

// layoutRest is how many messages a layout that failed is not tried for
// (jsonPlan.layoutRest, which tests change).
const layoutRest = 256

// layout is the scanner's state for layouts.
type layout struct {
	keys  []int32 // the root keys of the layout, in order; empty: none
	seen  []int32 // the root keys the general scanner read in the message at hand (-1: undeclared)
	rest  int     // messages to read without trying the layout
	tried bool    // the layout was tried on the message at hand and failed
}

// layoutLine reads message b, row i of in, by the layout and appends its
// row to out, or reports false having appended nothing.
func (s *jsonScanner) layoutLine(b []byte, in, out *record.Batch, i int) bool {
	s.tried = false
	if len(s.keys) == 0 {
		return false
	}
	if s.rest > 0 {
		s.rest--
		return false
	}
	s.tried = true
	fields, root := s.plan.fields, &s.plan.root
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	n := out.Rows
	j := 1
	for x, k := range s.keys {
		key := &root.keys[k]
		if !key.quotedAt(b, j) {
			return s.rollBack(out, n, x)
		}
		j += len(key.name) + 2
		if j >= len(b) || b[j] != ':' {
			return s.rollBack(out, n, x)
		}
		var ok bool
		if j, ok = appendLayoutValue(b, j+1, key, &out.Columns[key.leaf[0]]); !ok {
			return s.rollBack(out, n, x)
		}
		next := byte(',')
		if x == len(s.keys)-1 {
			next = '}'
		}
		if j >= len(b) || b[j] != next {
			return s.rollBack(out, n, x+1)
		}
		j++
	}
	if j != len(b) {
		return s.rollBack(out, n, len(s.keys))
	}
	if len(s.keys) < len(fields) { // each key of a layout reads one field
		for f := range fields {
			if v := &out.Columns[f]; v.Len() == n {
				v.AppendNull() // an optional field the layout does not have
			}
		}
	}
	finishRow(len(fields), in, out, i)
	return true
}

// appendLayoutValue reads the value at b[j] of key, a plain string or a number
// that plainNumber reads, appends it to v and returns the offset after it.
func appendLayoutValue(b []byte, j int, key *jsonKey, v *record.Vector) (int, bool) {
	if j >= len(b) {
		return j, false
	}
	if key.str >= 0 {
		e := plainStringEnd(b, j)
		if e < 0 {
			return j, false
		}
		v.AppendString(b[j+1 : e])
		return e + 1, true
	}
	// plainNumber, written out here: a call costs the layout a few percent.
	neg := b[j] == '-'
	d := j
	if neg {
		d++
	}
	x, n := leadingDigits(b, d)
	e := d + n
	if n == 0 || n > 15 || n > 1 && b[d] == '0' || e < len(b) && (b[e] == '.' || b[e]|0x20 == 'e') {
		return j, false
	}
	if key.intScale == 3 {
		x *= 1000
	}
	if neg {
		x = -x
	}
	v.AppendInt(x)
	return e, true
}

// rollBack removes what layoutLine appended for the first done keys of the
// layout (out had n rows) and reports false.
func (s *jsonScanner) rollBack(out *record.Batch, n, done int) bool {
	for _, k := range s.keys[:done] {
		v := &out.Columns[s.plan.root.keys[k].leaf[0]]
		if v.Len() == n {
			continue
		}
		switch v.Type {
		case record.ColumnString:
			v.Offsets = v.Offsets[:n+1]
			v.Bytes = v.Bytes[:v.Offsets[n]]
		default:
			v.Ints = v.Ints[:n]
		}
		if v.Nulls != nil {
			v.Nulls = v.Nulls[:n]
		}
	}
	return false
}

// learnLayout keeps the keys of the message the general scanner just read
// as the layout, when they can be one.
func (s *jsonScanner) learnLayout() {
	if s.tried && slices.Equal(s.keys, s.seen) {
		s.rest = s.plan.layoutRest // the layout is right, the messages do not fit it
		return
	}
	s.keys = s.keys[:0]
	root := &s.plan.root
	var used uint64
	for _, k := range s.seen {
		if k < 0 || k >= 64 || used&(1<<k) != 0 {
			s.keys = s.keys[:0]
			return
		}
		used |= 1 << k
		key := &root.keys[k]
		if !key.plain || key.child != nil || key.str < 0 && key.intScale < 0 {
			s.keys = s.keys[:0]
			return
		}
		s.keys = append(s.keys, k)
	}
}
