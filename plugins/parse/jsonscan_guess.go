package parse

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/sluice-io/sluice/record"
)

// Key guesses. The messages of a stream usually list their keys in one
// order, so the scanner remembers, per object node, which key followed each
// key last time, and first compares the message's bytes with that key's
// name: one comparison instead of scanning the key for its closing quote and
// escapes, then looking it up. A wrong guess costs that comparison and is
// replaced.
//
// A node's guesses are indexed by what came before the key: 0 at the start
// of the object, 1+k after key k, len(keys)+1 after an undeclared key. Each
// holds the index of the key expected next, or -1 for no guess.

// newJSONScanner returns a scanner for p with no guesses yet.
func newJSONScanner(p *jsonPlan) *jsonScanner {
	s := &jsonScanner{plan: p, guess: make([][]int32, p.nodes)}
	var walk func(n *jsonNode)
	walk = func(n *jsonNode) {
		g := make([]int32, len(n.keys)+2)
		for i := range g {
			g[i] = -1
		}
		s.guess[n.id] = g
		for i := range n.keys {
			if c := n.keys[i].child; c != nil {
				walk(c)
			}
		}
	}
	walk(&p.root)
	return s
}

// plainName reports whether a key named name is written in JSON as its
// bytes between quotes, with nothing escaped.
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.ValidString(name)
}

// quotedAt reports whether b[i:] starts with the key's plain name written
// as is, between quotes.
func (k *jsonKey) quotedAt(b []byte, i int) bool {
	if i >= len(b) || b[i] != '"' {
		return false
	}
	if k.mask != 0 && len(b)-i > 8 {
		return binary.LittleEndian.Uint64(b[i+1:])&k.mask == k.quoted
	}
	e := i + 1 + len(k.name)
	return k.plain && e < len(b) && b[e] == '"' && string(b[i+1:e]) == k.name
}

// setFastPaths sets intScale, str, quoted and mask on every key of n and
// below it.
func (n *jsonNode) setFastPaths(fields []Field) {
	for i := range n.keys {
		k := &n.keys[i]
		k.intScale, k.str = -1, -1
		if q := k.name + `"`; k.plain && len(q) <= 8 {
			for i := range len(q) {
				k.quoted |= uint64(q[i]) << (8 * i)
				k.mask |= 0xFF << (8 * i)
			}
		}
		if len(k.leaf) == 1 {
			switch f := &fields[k.leaf[0]]; {
			case f.Type == record.ColumnString:
				k.str = k.leaf[0]
			case f.Type == record.ColumnInt:
				k.intScale = 0
			case f.Type == record.ColumnTimestamp && (f.Unit == "s" || f.Unit == "ms"):
				k.intScale = unitScale(f.Unit)
			}
		}
		if k.child != nil {
			k.child.setFastPaths(fields)
		}
	}
}

// key reads the key at b[i] == '"' of an object of node, after what after
// says (see above), and returns the index of the declared key it names
// (-1 for an undeclared one) and the offset after its closing quote.
func (s *jsonScanner) key(b []byte, i int, node *jsonNode, guess []int32, after int) (k, end int, ok bool) {
	if g := guess[after]; g >= 0 && node.keys[g].quotedAt(b, i) {
		return int(g), i + len(node.keys[g].name) + 2, true
	}
	end, esc, ok := s.stringEnd(b, i)
	if !ok {
		return -1, end, false
	}
	key := b[i+1 : end-1]
	if esc {
		s.keyBuf = unescape(s.keyBuf[:0], key)
		key = s.keyBuf
	}
	k = node.index(key)
	guess[after] = int32(k)
	return k, end, true
}
